"""Candidates: flattening a run's top-k into pairs and back."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.retrieval.candidates import Candidates
from lessonlib.data import load_dataset


@pytest.fixture(scope="module")
def ds():
    return load_dataset("sample", "test")


def test_from_run_keeps_top_k_in_order_and_round_trips(ds):
    q1, q2 = sorted(ds.queries)[:2]
    d = ds.doc_ids
    run = {q1: {d[0]: 1.0, d[1]: 3.0, d[2]: 2.0}, q2: {d[3]: 0.5, d[4]: 0.5}}
    cand = Candidates.from_run(ds, run, k=2)
    assert cand.qids == [q1, q1, q2, q2]
    assert cand.dids == [d[1], d[2]] + sorted([d[3], d[4]], reverse=True)  # best first, ties by id descending (trec_eval)
    assert cand.first.tolist() == [3.0, 2.0, 0.5, 0.5]
    assert cand.pairs()[0] == (ds.queries[q1], ds.doc_text(d[1]))
    back = cand.to_run(cand.first)
    assert back == {q1: {d[1]: 3.0, d[2]: 2.0}, q2: {d[3]: 0.5, d[4]: 0.5}}
    assert {q: p.tolist() for q, p in cand.by_query().items()} == {q1: [0, 1], q2: [2, 3]}


def test_bad_input(ds):
    with pytest.raises(ValueError, match="k must be"):
        Candidates.from_run(ds, {}, k=0)
    with pytest.raises(ValueError, match="not in the run"):
        Candidates.from_run(ds, {}, k=1, qids=["nope"])
    cand = Candidates.from_run(ds, {sorted(ds.queries)[0]: {ds.doc_ids[0]: 1.0}}, k=1)
    with pytest.raises(ValueError, match="expected 1 scores"):
        cand.to_run(np.zeros(2))
