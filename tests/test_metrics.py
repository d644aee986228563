"""lessonlib.evaluation.metrics against pytrec_eval (trec_eval), to 1e-9, query by query."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.evaluation.metrics import evaluate, measure_correlation, parse_measure, per_query_array

pytrec_eval = pytest.importorskip("pytrec_eval")

KS = [1, 3, 5, 10, 100]
# ours -> trec_eval's name
PAIRS = [("map", "map"), ("mrr", "recip_rank"), ("r_precision", "Rprec"), ("ndcg", "ndcg")] + [
    (f"{ours}@{k}", f"{ref}_{k}")
    for ours, ref in [("ndcg", "ndcg_cut"), ("map", "map_cut"), ("p", "P"), ("recall", "recall"), ("success", "success"), ("hit_rate", "success")]
    for k in KS
]
TREC_MEASURES = {"map", "recip_rank", "Rprec", "ndcg"} | {
    f"{m}.{','.join(map(str, KS))}" for m in ("ndcg_cut", "map_cut", "P", "recall", "success")
}


def reference(qrels, run):
    return pytrec_eval.RelevanceEvaluator(qrels, TREC_MEASURES).evaluate(run)


def assert_matches_trec_eval(qrels, run, tol=1e-9):
    ref = reference(qrels, run)
    ours = evaluate(qrels, run, [a for a, _ in PAIRS], per_query=True)
    assert set(ours) == set(ref), "evaluated query sets differ from pytrec_eval's"
    for qid in ref:
        for a, b in PAIRS:
            assert ours[qid][a] == pytest.approx(ref[qid][b], abs=tol), (qid, a, b)
    means = evaluate(qrels, run, [a for a, _ in PAIRS])
    for a, b in PAIRS:
        assert means[a] == pytest.approx(np.mean([ref[q][b] for q in ref]), abs=tol), a


def random_case(seed, graded, ties, n_queries=40, n_ret=60):
    rng = np.random.default_rng(seed)
    qrels, run = {}, {}
    for q in range(n_queries):
        docs = [f"d{j}" for j in rng.choice(300, n_ret, replace=False)]
        pool = docs[:30] + [f"unret{j}" for j in range(8)]  # some relevant documents never retrieved
        judged = rng.choice(pool, 12, replace=False)
        qrels[f"q{q}"] = {d: int(rng.integers(0, 4 if graded else 2)) for d in judged}
        scores = rng.integers(0, 6, n_ret).astype(float) if ties else rng.random(n_ret)
        run[f"q{q}"] = {d: float(s) for d, s in zip(docs, scores)}
    return qrels, run


@pytest.mark.parametrize("graded", [False, True], ids=["binary", "graded"])
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "tied"])
def test_random_runs_match_trec_eval(graded, ties):
    qrels, run = random_case(seed=7 + graded + 2 * ties, graded=graded, ties=ties)
    assert_matches_trec_eval(qrels, run)


def test_ties_are_broken_by_doc_id_descending():
    qrels = {"q": {"a": 1}}
    run = {"q": {"a": 1.0, "b": 1.0, "c": 1.0}}  # trec_eval ranks c, b, a
    assert evaluate(qrels, run, ["mrr"])["mrr"] == pytest.approx(1 / 3)
    assert_matches_trec_eval(qrels, run)


def test_queries_without_relevant_documents_score_zero_and_count():
    qrels = {"q1": {"a": 1}, "q2": {"b": 0}}
    run = {"q1": {"a": 1.0}, "q2": {"b": 1.0, "c": 0.5}}
    per_q = evaluate(qrels, run, ["ndcg@10", "recall@10", "map"], per_query=True)
    assert per_q["q2"] == {"ndcg@10": 0.0, "recall@10": 0.0, "map": 0.0}
    assert evaluate(qrels, run, ["ndcg@10"])["ndcg@10"] == pytest.approx(0.5)
    assert_matches_trec_eval(qrels, run)


def test_run_missing_queries_and_unjudged_run_queries():
    qrels = {"q1": {"a": 1}, "q2": {"b": 2}, "q3": {"c": 1}}
    run = {"q1": {"a": 1.0}, "q3": {}, "extra": {"a": 3.0}}  # q2 missed, q3 empty, extra unjudged
    assert_matches_trec_eval(qrels, run)
    assert set(evaluate(qrels, run, ["map"], per_query=True)) == {"q1", "q3"}
    assert evaluate(qrels, run, ["map"])["map"] == pytest.approx(0.5)
    # trec_eval -c: the missed query counts as 0
    assert evaluate(qrels, run, ["map"], missing="zero")["map"] == pytest.approx(1 / 3)


def test_graded_ndcg_uses_raw_grade_as_gain():
    qrels = {"q": {"a": 2, "b": 1}}
    run = {"q": {"b": 2.0, "a": 1.0}}
    expected = (1 + 2 / np.log2(3)) / (2 + 1 / np.log2(3))
    assert evaluate(qrels, run, ["ndcg@10"])["ndcg@10"] == pytest.approx(expected, abs=1e-12)


def test_mrr_at_k_and_f1_at_k_by_hand():
    qrels = {"q": {"a": 1, "b": 1, "z": 1}}
    run = {"q": {"x": 4.0, "a": 3.0, "y": 2.0, "b": 1.0}}
    m = evaluate(qrels, run, ["mrr@1", "mrr@2", "f1@4", "p@4", "recall@4"])
    assert m["mrr@1"] == 0.0 and m["mrr@2"] == 0.5
    p, r = 2 / 4, 2 / 3
    assert m["f1@4"] == pytest.approx(2 * p * r / (p + r))


@pytest.mark.scifact
def test_scifact_bm25_and_random_runs_match_trec_eval(scifact):
    from lessonlib.retrieval.bm25 import BM25

    bm25_run = BM25().retrieve(scifact, k=100)
    assert_matches_trec_eval(scifact.qrels, bm25_run)
    rng = np.random.default_rng(0)
    doc_ids = scifact.doc_ids
    random_run = {
        q: {doc_ids[j]: float(rng.integers(0, 3)) for j in rng.choice(len(doc_ids), 200, replace=False)}
        | {d: float(rng.integers(0, 3)) for d in scifact.qrels[q]}  # make relevant hits happen, with ties
        for q in scifact.queries
    }
    assert_matches_trec_eval(scifact.qrels, random_run)


def test_per_query_array_orders_by_qids():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    run = {"q1": {"a": 1.0}, "q2": {"c": 1.0}}
    np.testing.assert_array_equal(per_query_array(qrels, run, "mrr", ["q2", "q1"]), [0.0, 1.0])


@pytest.mark.parametrize(
    "name, fragment",
    [("ndcg@0", "k must be >= 1"), ("p@-3", "k must be >= 1"), ("bleu", "unknown measure"), ("p", "needs a cutoff"), ("r_precision@5", "takes no cutoff")],
)
def test_bad_measure_names_raise(name, fragment):
    with pytest.raises(ValueError, match=fragment):
        evaluate({"q": {"a": 1}}, {"q": {"a": 1.0}}, [name])


def test_empty_or_disjoint_inputs_raise():
    with pytest.raises(ValueError, match="run is empty"):
        evaluate({"q": {"a": 1}}, {}, ["map"])
    with pytest.raises(ValueError, match="no query of the run"):
        evaluate({"q": {"a": 1}}, {"other": {"a": 1.0}}, ["map"])
    with pytest.raises(ValueError, match="at least one measure"):
        evaluate({"q": {"a": 1}}, {"q": {"a": 1.0}}, [])


def test_parse_measure_normalises_case():
    assert parse_measure("nDCG@10").name == "ndcg@10"


def test_compare_and_markdown_table():
    from lessonlib.evaluation.metrics import compare, to_markdown

    qrels = {"q": {"a": 1}}
    table = compare(qrels, {"good": {"q": {"a": 2.0, "b": 1.0}}, "bad": {"q": {"b": 2.0, "a": 1.0}}}, ["mrr"])
    assert table == {"good": {"mrr": 1.0}, "bad": {"mrr": 0.5}}
    md = to_markdown(table)
    assert md.splitlines()[2] == "| good | 1.0000 |"


def test_measure_correlation_is_pearson_over_the_per_query_values():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 1}, "q4": {"d": 1, "e": 1}}
    run = {"q1": {"a": 3.0, "b": 2.0}, "q2": {"a": 3.0, "b": 2.0}, "q3": {"a": 3.0, "b": 2.0, "c": 1.0}, "q4": {"d": 1.0, "e": 0.5}}
    corr, n = measure_correlation(qrels, run, ["ndcg@10", "mrr", "recall@100", "P@1"])
    assert n == 4 and corr.shape == (4, 4)
    ndcg = per_query_array(qrels, run, "ndcg@10", ["q1", "q2", "q3", "q4"])
    mrr = per_query_array(qrels, run, "mrr", ["q1", "q2", "q3", "q4"])
    assert corr[0, 1] == pytest.approx(np.corrcoef(ndcg, mrr)[0, 1])
    assert np.diag(corr)[[0, 1, 3]] == pytest.approx([1.0, 1.0, 1.0])
    assert np.isnan(corr[2]).all()  # recall@100 is 1 for every query here: constant, no correlation

