"""Day 10.2 §7 domain case studies: citation analysis (lessonlib.tasks.citations), prior-art search on
constructed patents (lessonlib.tasks.prior_art) and statute look-up (lessonlib.tasks.legal)."""

import numpy as np
import pytest

from lessonlib.core.runs import rank_documents
from lessonlib.dual.encode import encode
from lessonlib.evaluation.metrics import evaluate
from lessonlib.tasks.citations import citation_graph, citation_recommendation
from lessonlib.tasks.legal import statute_collection
from lessonlib.tasks.prior_art import FIELDS, build_patents, landscape, maxp_dense_run

QRELS = {"c1": {"a": 1, "b": 1, "z": 0}, "c2": {"a": 1}, "c3": {"c": 1}, "c4": {"d": 0}}
RUN = {"c1": {"a": 3.0, "x": 2.0, "b": 1.0}, "c2": {"y": 2.0, "a": 1.0}, "c3": {"c": 5.0}}


def test_citation_graph_counts_by_hand():
    g = citation_graph(QRELS)
    assert g["claims"] == 3 and g["cited abstracts"] == 3  # c4 cites nothing; a, b, c
    assert g["mean references per claim"] == pytest.approx(4 / 3)
    assert g["claims citing >= 2"] == pytest.approx(1 / 3)
    assert g["abstracts cited by >= 2 claims"] == pytest.approx(1 / 3)  # a
    assert g["co-cited pairs"] == 1  # (a, b)
    with pytest.raises(ValueError, match="cited"):
        citation_graph({"q": {"d": 0}})


def test_citation_recommendation_agrees_with_trec_eval_recall():
    m = citation_recommendation(QRELS, RUN, ks=(1, 3))
    ref = evaluate({q: v for q, v in QRELS.items() if q != "c4"}, RUN, ["recall@1", "recall@3"])
    assert m["recall@1"] == pytest.approx(ref["recall@1"]) and m["recall@3"] == pytest.approx(ref["recall@3"])
    assert m["all cited@1"] == pytest.approx(1 / 3)  # only c3 has its whole reference list at rank 1
    assert m["all cited@3"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="ks"):
        citation_recommendation(QRELS, RUN, ks=(0,))


def test_patents_are_seeded_and_judged_by_shared_features():
    ds, again = build_patents(24, 10, seed=1), build_patents(24, 10, seed=1)
    assert ds.corpus == again.corpus and ds.queries == again.queries and ds.qrels == again.qrels
    feats = ds.meta["features"]
    for judged in ds.qrels.values():
        assert 2 in judged.values(), "every claim has its novelty-destroying (X) document"
        target = next(d for d, g in judged.items() if g == 2)
        for d, g in judged.items():
            assert g == {3: 2, 2: 1}.get(len(set(feats[d]) & set(feats[target])), 0)
    with pytest.raises(ValueError, match="n_patents"):
        build_patents(2, 5)


def test_patent_features_sit_past_the_first_window_in_description_wording():
    ds = build_patents(8, 4, seed=0)
    for d, doc in ds.corpus.items():
        field = next(f for f in FIELDS if doc["title"].lower().startswith(f))
        words = doc["text"].split()
        first = min(doc["text"].index(FIELDS[field][2][f][0]) for f in ds.meta["features"][d])
        assert len(doc["text"][:first].split()) > 128 and len(words) > 300
    for text in ds.queries.values():  # claims use claim wording, never the description's sentence
        assert not any(desc in text for _, _, feats in FIELDS.values() for desc, _ in feats)


def test_maxp_equals_max_over_separately_encoded_windows(minilm):
    ds = build_patents(4, 2, seed=0)
    run = maxp_dense_run(ds, minilm, size=128, stride=64, k=4, cache=False, show_progress=False)
    q = ds.query_ids[0]
    qv = encode(minilm, [ds.queries[q]], kind="query", cache=False, show_progress=False)[0]
    for d in ds.doc_ids:
        words = ds.corpus[d]["text"].split()
        wins = [f"{ds.corpus[d]['title']} {' '.join(words[s:s + 128])}" for s in range(0, len(words) - 64, 64)]
        wv = encode(minilm, wins, kind="doc", cache=False, show_progress=False)
        cos = wv @ qv / np.linalg.norm(wv, axis=1) / np.linalg.norm(qv)
        assert run[q][d] == pytest.approx(float(cos.max()), abs=1e-4)
    with pytest.raises(ValueError, match="stride"):
        maxp_dense_run(ds, minilm, size=10, stride=20)


def test_landscape_counts_companies_in_the_top_k():
    run = {"d1": 0.9, "d2": 0.8, "d3": 0.7, "d4": 0.1}
    owner = {"d1": "B", "d2": "A", "d3": "B", "d4": "A"}
    assert landscape(run, owner, k=3) == [("B", 2), ("A", 1)]
    assert rank_documents(run, 3) == ["d1", "d2", "d3"]
    with pytest.raises(ValueError, match="k"):
        landscape(run, owner, k=0)


def test_statute_collection_keeps_only_the_legal_topics():
    ds = statute_collection()
    assert len(ds.corpus) == 40 and all(d.split("-")[0] in ("harbour", "labour") for d in ds.corpus)
    assert len(ds.queries) == 36 and all(set(j) <= set(ds.corpus) for j in ds.qrels.values())
    assert all(any(g > 0 for g in j.values()) for j in ds.qrels.values())
    with pytest.raises(ValueError, match="unknown topics"):
        statute_collection(("tax law",))
