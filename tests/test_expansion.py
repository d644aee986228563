"""RM3 query expansion (lessonlib.retrieval.expansion) and extractive summaries (lessonlib.data.summarize)."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.data.summarize import (
    central_summary,
    lead_summary,
    sentence_centrality,
    summarize,
)
from lessonlib.retrieval import expansion as X
from lessonlib.retrieval.bm25 import BM25

DOCS = {
    "d1": "vitamin deficiency causes fractures in elderly patients",
    "d2": "vitamin supplements reduce fractures and falls",
    "d3": "cats purr when they are happy",
    "d4": "bone density and vitamin intake in elderly women",
}


@pytest.fixture(scope="module")
def index():
    return BM25().fit(list(DOCS.values()), list(DOCS))


def test_original_weight_one_ranks_as_bm25(index):
    queries = {"q1": "vitamin fractures", "q2": "elderly vitamin vitamin", "q3": "happy cats"}
    run = {q: dict(zip(*reversed(_search(index, t)))) for q, t in queries.items()}
    models = X.rm3(index, queries, run, DOCS, fb_docs=2, fb_terms=5, orig_weight=1.0)
    out = X.rm3_run(index, models, k=4)
    for q, text in queries.items():
        scores, idx = index.search([text], k=4)
        n_terms = len(index.tokenizer(text))
        expected = {index.doc_ids_[j]: float(s) / n_terms for s, j in zip(scores[0], idx[0]) if j >= 0}
        assert set(out[q]) == set(expected)
        for d, value in expected.items():
            assert out[q][d] == pytest.approx(value, rel=1e-5)


def _search(index, text):
    scores, idx = index.search([text], k=4)
    return [float(s) for s, j in zip(scores[0], idx[0]) if j >= 0], [index.doc_ids_[j] for j in idx[0] if j >= 0]


def test_relevance_model_by_hand(index):
    # two feedback documents with scores 3 and 1 -> P(d|q) = 0.75, 0.25
    run = {"q": {"d1": 3.0, "d3": 1.0}}
    tok = index.tokenizer
    m = X.rm3(index, {"q": "bone"}, run, DOCS, fb_docs=2, fb_terms=100, orig_weight=0.5)["q"]
    w1, w3 = [tok(DOCS[d]) for d in ("d1", "d3")]
    fb = {}
    for p, words in ((0.75, w1), (0.25, w3)):
        for t in set(words):
            fb[t] = fb.get(t, 0.0) + p * words.count(t) / len(words)
    z = sum(fb.values())
    for t, v in fb.items():
        assert m.weights[t] == pytest.approx(0.5 * v / z, rel=1e-9)
    assert m.weights[tok.stem("bone")] == pytest.approx(0.5)
    assert sum(m.weights.values()) == pytest.approx(1.0)


def test_new_terms_exclude_the_query_and_show_surface_words(index):
    run = {"q": {"d1": 2.0, "d2": 1.0}}
    m = X.rm3(index, {"q": "vitamin fractures"}, run, DOCS, fb_docs=2, fb_terms=10)["q"]
    terms = m.new_terms(3)
    assert len(terms) == 3 and "vitamin" not in terms and "fractures" not in terms
    assert all(t in (DOCS["d1"] + " " + DOCS["d2"]).split() for t in terms)  # surface words, not stems
    assert X.expand_text("vitamin fractures", m, 2) == "vitamin fractures " + " ".join(terms[:2])
    assert X.expand_text("vitamin fractures", m, 0) == "vitamin fractures"
    unexpanded = X.rm3(index, {"q": "vitamin fractures"}, run, DOCS, fb_docs=2, fb_terms=10, orig_weight=1.0)["q"]
    assert unexpanded.new_terms(3) == [] and X.expand_text("vitamin fractures", unexpanded, 3) == "vitamin fractures"


def test_feedback_brings_in_unseen_documents(index):
    q = {"q": "deficiency"}
    run = {"q": dict(zip(*reversed(_search(index, "deficiency"))))}
    assert set(run["q"]) == {"d1"}
    out = X.rm3_run(index, X.rm3(index, q, run, DOCS, fb_docs=1, fb_terms=5, orig_weight=0.5), k=4)
    assert {"d2", "d4"} <= set(out["q"])  # vitamin / elderly / fractures from d1 reach them


def test_query_without_feedback_keeps_its_own_model(index):
    m = X.rm3(index, {"q": "vitamin"}, {"q": {}}, DOCS)["q"]
    assert m.weights == {index.tokenizer.stem("vitamin"): 1.0}


@pytest.mark.parametrize("kw", [{"fb_docs": 0}, {"fb_terms": 0}, {"orig_weight": 1.5}])
def test_bad_arguments(index, kw):
    with pytest.raises(ValueError):
        X.rm3(index, {"q": "vitamin"}, {"q": {"d1": 1.0}}, DOCS, **kw)


def test_rm3_needs_texts_and_a_fitted_index(index):
    with pytest.raises(ValueError):
        X.rm3(index, {"q": "x"}, {}, None)
    with pytest.raises(ValueError):
        X.rm3_run(BM25(), {}, k=3)


TEXT = ("Vitamin D is made in the skin. Vitamin D deficiency weakens bone. "
        "Cats purr loudly at night. Bone fractures follow vitamin D deficiency in the elderly.")


def test_lead_summary():
    assert lead_summary(TEXT, 2) == "Vitamin D is made in the skin. Vitamin D deficiency weakens bone."
    assert lead_summary("One sentence only.", 3) == "One sentence only."


def test_central_summary_drops_the_outlier_sentence_and_keeps_order():
    c = sentence_centrality(["Vitamin D is made in the skin.", "Vitamin D deficiency weakens bone.",
                             "Cats purr loudly at night.", "Bone fractures follow vitamin D deficiency in the elderly."])
    assert int(np.argmin(c)) == 2 and c[2] == 0.0
    s = central_summary(TEXT, 2)
    assert s == "Vitamin D deficiency weakens bone. Bone fractures follow vitamin D deficiency in the elderly."
    assert summarize(TEXT, "lead", 1) == "Vitamin D is made in the skin."


@pytest.mark.parametrize("call", [lambda: lead_summary(TEXT, 0), lambda: central_summary(TEXT, 0), lambda: summarize(TEXT, "abstractive")])
def test_summary_bad_arguments(call):
    with pytest.raises(ValueError):
        call()
