"""lessonlib.index.benchmark's per-query nDCG@10 and compression measurement, and SQIndex.reconstruct, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lessonlib.data import Dataset
from lessonlib.index import FlatIndex, SQIndex
from lessonlib.index.benchmark import compression_row, exact_neighbors, ndcg_at_10, ndcg_per_query

# three documents, three queries: q1's relevant document is d2, q2's is d0, q3 has no judgment
DS = Dataset("tiny", {f"d{i}": {"text": f"doc {i}"} for i in range(3)}, {"q1": "a", "q2": "b", "q3": "c"},
             {"q1": {"d2": 1}, "q2": {"d0": 1, "d1": 0}})


def test_ndcg_per_query_by_hand():
    ids = np.array([[2, 0], [1, 0], [0, -1]])  # q1: relevant first; q2: relevant second; q3: not judged
    got = ndcg_per_query(DS, ids)
    np.testing.assert_allclose(got, [1.0, 1 / math.log2(3), 0.0])
    # the judged queries' mean is ndcg_at_10's (which averages over the judged queries only)
    assert got[:2].mean() == pytest.approx(ndcg_at_10(DS, ids))


def test_ndcg_per_query_uses_the_given_scores_over_the_row_order():
    ids = np.array([[0, 2], [0, 1], [0, 1]])
    np.testing.assert_allclose(ndcg_per_query(DS, ids)[:2], [1 / math.log2(3), 1.0])
    flipped = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])  # q1's d2 now scores highest
    np.testing.assert_allclose(ndcg_per_query(DS, ids, flipped)[:2], [1.0, 1.0])


def test_sq_reconstruct_is_decode_of_encode_and_8_bits_beat_4():
    x = np.random.default_rng(0).normal(size=(200, 16)).astype(np.float32)
    errs = {}
    for nbits in (8, 4):
        sq = SQIndex(16, nbits=nbits).train(x)
        np.testing.assert_array_equal(sq.reconstruct(x), sq.decode(sq.encode(x)))
        errs[nbits] = float(((sq.reconstruct(x) - x) ** 2).sum(1).mean())
        step = sq.vdiff_ / (1 << nbits)
        assert np.all(np.abs(sq.reconstruct(x) - x) <= step / 2 + 1e-5), "each coordinate lands within half a step"
    assert errs[8] < errs[4] / 100  # 16x finer steps: ~256x smaller squared error


def test_compression_row_measures_an_exact_index_and_a_quantizer():
    rng = np.random.default_rng(0)
    docs = rng.normal(size=(3, 8)).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    queries = docs[[2, 0, 1]] + 0.01  # each query next to one document: q1 -> d2, q2 -> d0
    truth = exact_neighbors(docs, queries, 2)
    flat = compression_row("flat", FlatIndex(8), docs, queries, truth, DS, nbytes=32, k=2)
    assert flat["method"] == "flat" and flat["ratio"] == 1.0 and flat["recall"] == 1.0
    assert math.isnan(flat["recon_err"]) and flat["errs"].shape == (3,)  # FlatIndex stores, it cannot reconstruct
    np.testing.assert_allclose(flat["ndcg_q"], [1.0, 1.0, 0.0])
    assert flat["ndcg"] == pytest.approx(2 / 3)
    sq = compression_row("SQ4", SQIndex(8, nbits=4), docs, queries, truth, DS, nbytes=4, k=2)
    assert sq["ratio"] == 8.0 and sq["recon_err"] > 0
    np.testing.assert_allclose(sq["errs"], ((sq_reconstructed(docs) - docs) ** 2).sum(1), rtol=1e-6)


def sq_reconstructed(docs: np.ndarray) -> np.ndarray:
    return SQIndex(docs.shape[1], nbits=4).train(docs).reconstruct(docs)
