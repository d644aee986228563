"""lessonlib.data.synthetic: the streamed file equals the in-memory generator, reuse is keyed by the
generator's parameters, and the data's intrinsic dimension is that of real embeddings."""

import json

import numpy as np

from lessonlib.data import synthetic
from lessonlib.dual.geometry import local_intrinsic_dimension


def test_written_file_equals_in_memory_rows(tmp_path):
    path = tmp_path / "x.npy"
    arr = synthetic.write_clustered(path, 3000, 32, seed=4, chunk=1000, progress=False)
    assert np.array_equal(np.asarray(arr), synthetic.clustered_vectors(3000, 32, seed=4, chunk=1000))
    assert json.loads(path.with_suffix(".json").read_text())["latent"] == synthetic.LATENT
    assert np.allclose(np.linalg.norm(arr, axis=1), 1.0, atol=1e-5)


def test_file_reused_only_for_the_same_generator(tmp_path, monkeypatch):
    path = tmp_path / "x.npy"
    a = np.asarray(synthetic.write_clustered(path, 500, 16, seed=0, progress=False))
    stamp = path.stat().st_mtime_ns
    synthetic.write_clustered(path, 500, 16, seed=0, progress=False)
    assert path.stat().st_mtime_ns == stamp, "same parameters: the file is reused"
    monkeypatch.setattr(synthetic, "LATENT", synthetic.LATENT + 4)  # a new default generator, same arguments
    b = np.asarray(synthetic.write_clustered(path, 500, 16, seed=0, progress=False))
    assert not np.allclose(a, b), "another LATENT: regenerated, never a stale file"


def test_queries_are_not_copies_of_rows():
    x = synthetic.clustered_vectors(2000, 64, seed=0)
    q = synthetic.clustered_queries(50, 64, seed=0)
    assert (q @ x.T).max() < 0.9999


def test_intrinsic_dimension_near_real_minilm_embeddings():
    # SciFact's all-MiniLM-L6-v2 embeddings measure 14.0 (k=10) / 15.1 (k=20) (bench_ann.py lid section)
    x = synthetic.clustered_vectors(5000, 384, seed=0)
    assert 10 < local_intrinsic_dimension(x, k=20, n_points=500) < 20


def test_lid_recovers_a_known_dimension():
    rng = np.random.default_rng(0)
    for m in (2, 6):
        z = rng.normal(size=(5000, m)) @ rng.normal(size=(m, 100))
        assert abs(local_intrinsic_dimension(z, k=20, n_points=500) - m) < 0.25 * m + 0.5
