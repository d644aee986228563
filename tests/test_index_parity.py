"""The teaching indexes reach the same recall@10 as FAISS at equal parameters (within 0.02)."""

from __future__ import annotations

import numpy as np
import pytest

faiss = pytest.importorskip("faiss")
faiss.omp_set_num_threads(1)

from lessonlib.index.benchmark import exact_neighbors, recall_at_k
from lessonlib.index import (AnnoyIndex, FaissIndex, HNSWIndex, HnswlibIndex, IVFIndex, LSHIndex, OPQIndex, PQIndex,
                             ScannIndex, SQIndex, scann_available)
from lessonlib.data.synthetic import clustered_queries, clustered_vectors

D = 32
# latent=24: the data these tolerances were set on (at latent 12 our k-means IVF beats FAISS's by
# ~0.025 recall at nprobe=1, 5 seeds; the bench's parity section on SciFact vectors stays within 0.02)
X = clustered_vectors(3000, D, n_clusters=50, spread=0.8, seed=1, latent=24)
Q = clustered_queries(300, D, n_clusters=50, spread=0.8, seed=1, latent=24)
TRUTH = exact_neighbors(X, Q, 10)
TOL = 0.02


def recall(index, x=X, truth=TRUTH):
    index.train(x)
    index.add(x)
    return recall_at_k(index.search(Q, 10)[1], truth, 10)


def _faiss_ivf(nprobe, seed):
    idx = FaissIndex("IVF64,Flat", D, nprobe=nprobe)
    faiss.extract_index_ivf(idx.index).cp.seed = seed
    return idx


@pytest.mark.parametrize("nprobe", [1, 4])
def test_ivf_matches_faiss(nprobe):
    """At nprobe=1 the k-means seed alone moves recall by +-0.03 (for FAISS too): compare means over 3 seeds."""
    ours = np.mean([recall(IVFIndex(D, nlist=64, nprobe=nprobe, seed=s)) for s in range(3)])
    theirs = np.mean([recall(_faiss_ivf(nprobe, s)) for s in range(3)])
    assert abs(ours - theirs) <= TOL, (ours, theirs)
    assert ours < 1.0 or nprobe > 1  # nprobe=1 really is approximate


def test_lsh_matches_faiss():
    ours, theirs = recall(LSHIndex(D, nbits=128)), recall(FaissIndex("LSH128", D))
    assert abs(ours - theirs) <= TOL, (ours, theirs)


def test_pq_matches_faiss():
    ours, theirs = recall(PQIndex(D, M=8, nbits=6, niter=20)), recall(FaissIndex("PQ8x6", D))
    assert abs(ours - theirs) <= TOL, (ours, theirs)


@pytest.mark.parametrize("nbits", [8, 4])
def test_sq_matches_faiss(nbits):
    ours, theirs = recall(SQIndex(D, nbits=nbits)), recall(FaissIndex(f"SQ{nbits}", D))
    assert abs(ours - theirs) <= TOL, (ours, theirs)


def test_hnsw_matches_faiss():
    x, truth = X[:1500], exact_neighbors(X[:1500], Q, 10)
    ours = recall(HNSWIndex(D, M=8, efConstruction=40, efSearch=16, progress=False), x, truth)
    theirs = recall(FaissIndex("HNSW8", D, efSearch=16, efConstruction=40), x, truth)
    assert abs(ours - theirs) <= TOL, (ours, theirs)


def test_opq_reconstructs_better_than_pq():
    """OPQ's learned rotation lowers the reconstruction error at the same code size (Ge et al. 2013)."""
    x = X[:2000] * np.linspace(0.2, 2.0, D, dtype=np.float32)  # unequal variances: where OPQ helps
    pq = PQIndex(D, M=4, nbits=5, niter=10).train(x)
    opq = OPQIndex(D, M=4, nbits=5, niter=10, opq_iter=4).train(x)
    err = lambda idx: float(((idx.reconstruct(x) - x) ** 2).sum(1).mean())
    assert err(opq) < 0.95 * err(pq)


def test_peers_reach_high_recall():
    assert recall(HnswlibIndex(D, M=16, efConstruction=100, efSearch=64)) > 0.9
    assert recall(AnnoyIndex(D, n_trees=20, search_k=4000)) > 0.8
    if scann_available():
        assert recall(ScannIndex(D, num_leaves=32, num_leaves_to_search=16, reorder=200)) > 0.9
