"""Every index (teaching and production) follows the same protocol and rejects bad input clearly."""

from __future__ import annotations

import numpy as np
import pytest

faiss = pytest.importorskip("faiss")
faiss.omp_set_num_threads(1)

from lessonlib.index import (AnnoyIndex, FaissIndex, FlatIndex, HNSWIndex, HnswlibIndex, Index, IVFIndex, LSHIndex,
                             OPQIndex, PQIndex, ScannIndex, SQIndex, scann_available)
from lessonlib.data.synthetic import clustered_queries, clustered_vectors

D = 16
X = clustered_vectors(600, D, n_clusters=20, seed=3)
Q = clustered_queries(20, D, n_clusters=20, seed=3)

MAKERS = {
    "flat": lambda: FlatIndex(D),
    "ivf": lambda: IVFIndex(D, nlist=8, nprobe=2),
    "lsh": lambda: LSHIndex(D, nbits=64),
    "lsh_tables": lambda: LSHIndex(D, nbits=6, tables=4),
    "sq8": lambda: SQIndex(D, nbits=8),
    "sq4": lambda: SQIndex(D, nbits=4),
    "pq": lambda: PQIndex(D, M=4, nbits=4, niter=5),
    "opq": lambda: OPQIndex(D, M=4, nbits=4, niter=5, opq_iter=2),
    "hnsw": lambda: HNSWIndex(D, M=8, efConstruction=20, efSearch=20, progress=False),
    "faiss_flat": lambda: FaissIndex("Flat", D),
    "faiss_ivfpq": lambda: FaissIndex("IVF8,PQ4x4", D, nprobe=2),
    "faiss_hnsw": lambda: FaissIndex("HNSW8", D),
    "annoy": lambda: AnnoyIndex(D, n_trees=5),
    "hnswlib": lambda: HnswlibIndex(D, M=8),
}
if scann_available():
    MAKERS["scann"] = lambda: ScannIndex(D, num_leaves=8, num_leaves_to_search=4)


def filled(name, n=600):
    idx = MAKERS[name]()
    idx.train(X[:n])
    return idx.add(X[:n])


@pytest.mark.parametrize("name", list(MAKERS))
def test_search_shapes_order_and_ids(name):
    idx = filled(name)
    assert idx.ntotal == 600
    scores, ids = idx.search(Q, 5)
    assert scores.shape == ids.shape == (len(Q), 5)
    assert ids.dtype == np.int64 and ((ids >= 0) & (ids < 600)).all()
    assert (np.diff(scores, axis=1) <= 1e-5).all(), "best first"
    assert idx.memory_bytes() > 0


@pytest.mark.parametrize("name", list(MAKERS))
def test_bad_input_is_a_clear_error(name):
    idx = filled(name)
    with pytest.raises(ValueError, match="dimension mismatch"):
        idx.search(np.zeros((2, D + 1), np.float32), 3)
    with pytest.raises(ValueError, match="dimension mismatch"):
        idx.add(np.zeros((2, D - 1), np.float32))
    bad = Q[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        idx.search(bad, 3)
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        idx.add(bad)
    with pytest.raises(ValueError, match="k must be"):
        idx.search(Q, 0)
    with pytest.raises(ValueError, match="duplicate ids"):
        MAKERS[name]().train(X).add(X[:3], ids=[7, 8, 7])
    with pytest.raises(ValueError, match="already in the index"):
        idx.add(X[:1], ids=[5])


@pytest.mark.parametrize("name", list(MAKERS))
def test_empty_index_search_is_an_error(name):
    idx = MAKERS[name]()
    if getattr(idx, "needs_training", False) or not idx.is_trained:
        with pytest.raises((RuntimeError, ValueError), match="not trained"):
            idx.search(Q, 3)
        idx.train(X)
    with pytest.raises(RuntimeError, match="empty"):
        idx.search(Q, 3)


@pytest.mark.parametrize("name", ["ivf", "pq", "sq8", "faiss_ivfpq", "faiss_flat"])
def test_add_before_train_is_an_error(name):
    idx = MAKERS[name]()
    if name == "faiss_flat":
        assert idx.is_trained  # nothing to learn: add works at once
        return
    with pytest.raises(ValueError, match="not trained"):
        idx.add(X)


@pytest.mark.parametrize("name", ["flat", "ivf", "lsh", "sq8", "pq", "hnsw", "faiss_flat", "faiss_hnsw", "hnswlib", "annoy"])
def test_k_larger_than_ntotal_pads_with_minus_one(name):
    idx = MAKERS[name]().train(X)
    idx.add(X[:4], ids=[10, 11, 12, 13])
    scores, ids = idx.search(Q[:2], 7)
    assert ids.shape == (2, 7)
    assert set(ids[:, :4].ravel()) <= {10, 11, 12, 13, -1}  # IVF only sees the probed lists (as FAISS)
    if name in ("flat", "lsh", "sq8", "pq", "faiss_flat"):  # exhaustive: all four are found
        assert (np.sort(ids[:, :4], axis=1) == [10, 11, 12, 13]).all()
    assert (ids[:, 4:] == -1).all() and np.isneginf(scores[:, 4:]).all()


@pytest.mark.parametrize("name", ["flat", "ivf", "lsh", "sq4", "pq", "opq", "hnsw", "faiss_ivfpq", "faiss_hnsw"])
def test_save_load_round_trip(name, tmp_path):
    idx = filled(name)
    before = idx.search(Q, 5)
    path = tmp_path / "idx"
    idx.save(path)
    loaded = type(idx).load(path) if name.startswith("faiss") else Index.load(path)
    after = loaded.search(Q, 5)
    np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_allclose(before[0], after[0], rtol=1e-5)
    assert not list(tmp_path.glob("*.tmp")), "atomic write leaves no temporary file"


@pytest.mark.parametrize("name", ["flat", "ivf", "lsh", "sq8", "pq", "faiss_flat", "faiss_ivfpq", "hnswlib", "annoy"])
def test_remove(name):
    idx = filled(name)
    _, ids = idx.search(Q[:1], 3)
    gone = ids[0, 0]
    assert idx.remove([gone]) == 1
    assert idx.ntotal == 599
    _, ids2 = idx.search(Q[:1], 3)
    assert gone not in ids2[0]


def test_hnsw_has_no_remove():
    with pytest.raises(NotImplementedError, match="does not support removal"):
        filled("hnsw").remove([1])


def test_flat_matches_faiss_exactly():
    ours = FlatIndex(D, metric="l2").add(X)
    theirs = FaissIndex("Flat", D, metric="l2").add(X)
    s1, i1 = ours.search(Q, 10)
    s2, i2 = theirs.search(Q, 10)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(s1, s2, rtol=1e-4, atol=1e-4)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="metric"):
        FlatIndex(D, metric="cosine")
    with pytest.raises(ValueError, match="divisible"):
        PQIndex(D, M=5)
    with pytest.raises(ValueError, match="nbits"):
        SQIndex(D, nbits=3)
    with pytest.raises(ValueError, match="FAISS cannot build"):
        FaissIndex("NoSuchIndex", D)
