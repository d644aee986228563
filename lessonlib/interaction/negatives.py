"""Where an interaction model's negatives and candidates come from: swap the runs of a ``Setup``.

``lessonlib.interaction.train`` draws training negatives from ``setup.train_run`` (the top ``neg_depth``
non-relevant documents of each training query) and re-ranks ``setup.test_run``. Training the same model
on negatives from another first stage (random, BM25, dense), and re-ranking another first stage's
candidates, is the experiment of Gao, Dai & Callan 2021 ("Rethink training of BERT rerankers in
multi-stage retrieval pipelines"): a re-ranker learns to separate the positive from the negatives it was
shown, so negatives that look like the test candidates should help most. Taught in notebook 24 (I4).

>>> model = build_model("knrm", setup.embedding())
>>> fit_ranker(model, with_runs(setup, train_run=dense_train))      # negatives from the dense top 30
>>> on_dense = with_runs(setup, test_run=dense_test)                # re-rank the dense candidates
>>> run = rerank_candidates(model, on_dense, on_dense.test_run, k=30)
"""

from __future__ import annotations

import dataclasses

from lessonlib.core.runs import Run
from lessonlib.interaction.train import Setup


def with_runs(setup: Setup, train_run: Run | None = None, test_run: Run | None = None) -> Setup:
    """A copy of ``setup`` whose training run (negatives, validation candidates) and / or test run
    (candidates re-ranked) are replaced; documents of the new runs are tokenised into the shared store.

    The copy shares the tokenizer, token stores and embedding weights with ``setup`` (nothing is
    re-tokenised twice); queries of the new runs must be queries of ``setup.train`` / ``setup.test``.

    >>> s = with_runs(setup, test_run=dense_test); sorted(s.test_run) == sorted(dense_test)
    True
    """
    for name, run, ds in (("train_run", train_run, setup.train), ("test_run", test_run, setup.test)):
        if run is not None:
            unknown = [q for q in run if q not in ds.queries]
            if unknown:
                raise ValueError(f"with_runs({name}=...): {len(unknown)} queries are not in the {ds.split} set, e.g. {unknown[0]!r}")
    corpus = {**setup.train.corpus, **setup.test.corpus}
    new = sorted({d for run in (train_run, test_run) if run for docs in run.values() for d in docs if d in corpus and d not in setup.docs})
    setup.docs.add(new, [f"{corpus[d].get('title', '')} {corpus[d].get('text', '')}".strip() for d in new])
    changes = {k: v for k, v in (("train_run", train_run), ("test_run", test_run)) if v is not None}
    return dataclasses.replace(setup, **changes, meta=dict(setup.meta))
