"""lessonlib.retrieval.bm25: BM25 by hand on a toy corpus, and against bm25s on SciFact."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from lessonlib.retrieval.bm25 import BM25, ENGLISH_STOPWORDS, Tokenizer

os.environ.setdefault("DISABLE_TQDM", "1")

DOCS = ["the cat sat on the mat", "dogs and cats", "a dog barked at the dog", "stock markets fell"]


def test_tokenizer_lowercases_removes_stopwords_and_stems():
    assert Tokenizer()("The Cats are RUNNING to a mat") == ["cat", "run", "mat"]
    assert Tokenizer(stopwords=None, stemmer=None)("The cats") == ["the", "cats"]
    assert Tokenizer(lower=False, stemmer=None)("The Cats") == ["The", "Cats"]


def test_bm25_score_equals_the_formula_by_hand():
    k1, b = 1.2, 0.75
    bm25 = BM25(k1=k1, b=b).fit(DOCS, ["d0", "d1", "d2", "d3"])
    scores = bm25.score_matrix(["dog"]).toarray()[0]
    lengths = [len(Tokenizer()(d)) for d in DOCS]  # stop words do not count
    avgdl = sum(lengths) / len(lengths)
    n, df = 4, 2  # "dog" (stem of dogs) occurs in d1 and d2
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    expected_d2 = idf * 2 / (2 + k1 * (1 - b + b * lengths[2] / avgdl))
    expected_d1 = idf * 1 / (1 + k1 * (1 - b + b * lengths[1] / avgdl))
    np.testing.assert_allclose(scores, [0, expected_d1, expected_d2, 0], rtol=1e-6)


def test_search_returns_best_first_and_pads_non_matching_with_minus_one():
    bm25 = BM25().fit(DOCS)
    scores, idx = bm25.search(["dog", "cat dog"], k=4)
    assert scores.shape == idx.shape == (2, 4)
    assert idx[0, 0] == 2 and list(idx[0, 2:]) == [-1, -1]  # only 2 documents contain "dog"
    assert np.all(np.diff(scores[1][idx[1] >= 0]) <= 0)


def test_query_of_only_stop_words_has_no_hits_and_repeated_terms_count_twice():
    bm25 = BM25().fit(DOCS)
    _, idx = bm25.search(["the and of"], k=2)
    assert np.all(idx == -1)
    once = bm25.score_matrix(["dog"]).toarray()
    twice = bm25.score_matrix(["dog dog"]).toarray()
    np.testing.assert_allclose(twice, 2 * once, rtol=1e-6)


@pytest.mark.parametrize("bad", [0, -1])
def test_search_rejects_bad_k(bad):
    with pytest.raises(ValueError, match="k must be"):
        BM25().fit(DOCS).search(["dog"], k=bad)


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="non-empty string"):
        BM25().fit(DOCS).search(["   "], k=1)
    with pytest.raises(ValueError, match="at least one query"):
        BM25().fit(DOCS).search([], k=1)
    with pytest.raises(ValueError, match="fit"):
        BM25().search(["dog"], k=1)
    with pytest.raises(ValueError, match="b must be"):
        BM25(b=2)
    with pytest.raises(ValueError, match="at least one document"):
        BM25().fit([])


def test_tokenizer_and_stopwords_match_bm25s():
    bm25s = pytest.importorskip("bm25s")
    import Stemmer
    from bm25s.stopwords import STOPWORDS_EN

    assert set(ENGLISH_STOPWORDS) == set(STOPWORDS_EN)
    texts = ["The p53 protein's role in DNA-repair, 10% of cells", "Vitamin D deficiency and COVID-19 outcomes"]
    ref = bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=False, show_progress=False)
    assert [Tokenizer()(t) for t in texts] == [list(r) for r in ref]


@pytest.fixture(scope="module")
def scifact_pair(scifact):
    bm25s = pytest.importorskip("bm25s")
    import Stemmer

    texts, qids = scifact.doc_texts(), list(scifact.queries)
    queries = [scifact.queries[q] for q in qids]
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    ref_idx, ref_scores = retriever.retrieve(
        bm25s.tokenize(queries, stopwords="en", stemmer=stemmer, show_progress=False), k=100, show_progress=False
    )
    ours = BM25(k1=1.5, b=0.75).fit(texts, scifact.doc_ids)
    scores, idx = ours.search(queries, k=100)
    return scifact, qids, (np.asarray(ref_scores), np.asarray(ref_idx)), (scores, idx)


@pytest.mark.scifact
def test_scifact_scores_and_top10_agree_with_bm25s(scifact_pair):
    _, _, (ref_scores, ref_idx), (scores, idx) = scifact_pair
    np.testing.assert_allclose(scores[:, :10], ref_scores[:, :10], rtol=1e-4, atol=1e-5)
    overlap = np.mean([len(set(a[:10]) & set(b[:10])) / 10 for a, b in zip(ref_idx, idx)])
    assert overlap > 0.99


@pytest.mark.scifact
def test_scifact_ndcg_within_0005_of_bm25s(scifact_pair):
    from lessonlib.evaluation.metrics import evaluate
    from lessonlib.core.runs import hits_to_run

    ds, qids, (ref_scores, ref_idx), (scores, idx) = scifact_pair
    ref = evaluate(ds.qrels, hits_to_run(qids, ds.doc_ids, ref_scores, ref_idx), ["ndcg@10", "recall@100"])
    ours = evaluate(ds.qrels, hits_to_run(qids, ds.doc_ids, scores, idx), ["ndcg@10", "recall@100"])
    assert abs(ours["ndcg@10"] - ref["ndcg@10"]) < 0.005
    assert abs(ours["recall@100"] - ref["recall@100"]) < 0.005
    assert ours["ndcg@10"] > 0.65  # the published range for BM25 on SciFact (BEIR: 0.665)


@pytest.mark.scifact
def test_retrieve_gives_a_run_over_the_dataset(scifact):
    run = BM25().retrieve(scifact, k=5)
    assert set(run) == set(scifact.queries)
    assert all(len(docs) == 5 for docs in run.values())
