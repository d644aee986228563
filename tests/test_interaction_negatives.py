"""interaction.negatives.with_runs: the same recipe on another first stage's negatives and candidates."""

from __future__ import annotations

import dataclasses

import pytest

from lessonlib.data import load_dataset
from lessonlib.interaction import train as T
from lessonlib.interaction.negatives import with_runs


@pytest.fixture(scope="module")
def setup():
    train, test = load_dataset("sample", "train"), load_dataset("sample", "test")
    return T.prepare(train, test, max_doc_len=32, k=2)


def test_with_runs_replaces_runs_tokenises_new_documents_and_leaves_the_original(setup):
    setup = dataclasses.replace(setup, docs=T.TokenStore(setup.tokenizer, 32))  # an empty document store
    q = next(iter(setup.test_run))
    unseen = list(setup.test.corpus)[:3]
    other = {q: {d: float(-i) for i, d in enumerate(unseen)}}
    s = with_runs(setup, test_run=other)
    assert s.test_run == other and setup.test_run[q] != other[q]
    assert s.train_run is setup.train_run and s.train_qids == setup.train_qids
    assert len(s.docs.ids(unseen[0])) <= 32
    assert all(d in s.docs for d in unseen)
    run = T.rerank_candidates(T.build_model("knrm", s.embedding()), s, s.test_run, k=10)
    assert sorted(run[q]) == sorted(unseen)


def test_training_negatives_come_from_the_new_train_run(setup):
    q = setup.train_qids[0]
    rel = {d for d, g in setup.train.qrels[q].items() if g > 0}
    negs = [d for d in setup.train.corpus if d not in rel][-2:]
    s = with_runs(setup, train_run={**setup.train_run, q: {d: 1.0 for d in negs}})
    lists = T.training_lists(s, [q], n_negatives=2, neg_depth=30)
    assert lists and all(set(docs[1:]) <= set(negs) for _, docs, _ in lists)


def test_with_runs_rejects_unknown_queries(setup):
    with pytest.raises(ValueError, match="test_run"):
        with_runs(setup, test_run={"no-such-query": {}})
