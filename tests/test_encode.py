"""lessonlib.dual.encode and lessonlib.core.cache: same vectors as sentence-transformers, in the
input order, cached per text (subsets hit), counted truncation/empties, dense and hybrid runs."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from lessonlib.dual import encode as E
from lessonlib.core.cache import EmbeddingCache
from lessonlib.core.hub import resolve_model

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSONLIB_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def st_model():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(resolve_model(MINILM)), device="cpu")


@pytest.fixture(scope="module")
def texts():
    from lessonlib.data import load_dataset

    ds = load_dataset("sample")
    docs = ds.doc_texts()[:24]
    # mixed lengths, one too long, one empty, one duplicate: order must be restored
    return docs + ["", "vitamin D " * 200, docs[3]]


def test_encode_equals_sentence_transformers_in_input_order(texts, st_model):
    ours = E.encode(MINILM, texts, batch_size=8, show_progress=False)
    theirs = st_model.encode(texts, batch_size=8)
    assert ours.dtype == np.float32 and ours.shape == (len(texts), 384)
    assert np.abs(ours - theirs).max() < 1e-5
    assert E.last_stats.n_empty == 1
    assert E.last_stats.n_truncated == sum(len(st_model.tokenizer(t)["input_ids"]) > 256 for t in texts)


def test_cache_serves_repeats_subsets_and_only_encodes_new_texts(texts):
    full = E.encode(MINILM, texts[:20], show_progress=False)
    assert E.last_stats.n_encoded == 20
    again = E.encode(MINILM, texts[:20][::-1], show_progress=False)
    assert E.last_stats.n_cached == 20 and E.last_stats.n_encoded == 0
    assert np.array_equal(again, full[::-1])
    sub = E.encode(MINILM, texts[5:9], kind="query", show_progress=False)  # shared tower: same cache
    assert E.last_stats.n_cached == 4 and np.array_equal(sub, full[5:9])
    more = E.encode(MINILM, texts[15:26], show_progress=False)
    assert E.last_stats.n_cached == 5 and E.last_stats.n_encoded == 6
    assert np.allclose(more[:5], full[15:20])
    E.encode(MINILM, texts[15:26], max_length=64, show_progress=False)  # other settings, other namespace
    assert E.last_stats.n_cached == 0


def test_in_memory_model_is_cached_only_with_a_key(texts):
    model = E.load_model(MINILM)
    E.encode(model, texts[:4], show_progress=False)
    E.encode(model, texts[:4], show_progress=False)
    assert E.last_stats.n_cached == 0 and E.last_stats.cache_namespace is None
    key = E.fingerprint(model)
    E.encode(model, texts[:4], cache=key, show_progress=False)
    E.encode(model, texts[:4], cache=key, show_progress=False)
    assert E.last_stats.n_cached == 4


def test_truncation_and_empty_texts_are_logged(texts, caplog, monkeypatch):
    monkeypatch.setattr(E, "_TRUNCATION_WARNED", set())
    with caplog.at_level(logging.WARNING, logger="lessonlib.dual.encode"):
        E.encode(MINILM, ["", "word " * 300, "ok"], cache=False, show_progress=False)
    assert "1 of 3 texts are empty" in caplog.text
    assert "1 of 3 texts are longer than max_length=256" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lessonlib.dual.encode"):  # said once per max_length
        E.encode(MINILM, ["word " * 300, "ok"], cache=False, show_progress=False)
    assert "longer than max_length" not in caplog.text and E.last_stats.n_truncated == 1


def test_int8_quantisation_is_close_but_not_identical(texts):
    fp32 = E.encode(MINILM, texts[:12], show_progress=False)
    int8 = E.encode(MINILM, texts[:12], quantize=True, show_progress=False)
    cos = (fp32 * int8).sum(1)  # both unit length
    assert cos.min() > 0.95 and not np.allclose(fp32, int8)


def test_batches_cover_every_text_once_under_the_token_budget():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 400, size=500)
    order = np.argsort(-np.minimum(lengths, 256), kind="stable")
    batches = E._batches(lengths, order, batch_size=16, max_length=256)
    assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(500))
    for b in batches:
        width = min(lengths[b].max(), 256)
        assert len(b) <= 4 * 16 and (len(b) * width <= 16 * 256 or len(b) <= 16)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="kind='passage'"):
        E.encode(MINILM, ["x"], kind="passage")
    with pytest.raises(TypeError, match="list of strings"):
        E.encode(MINILM, "just one string")


def test_embedding_cache_round_trip_and_partial_hits(tmp_path):
    cache = EmbeddingCache("ns", root=tmp_path)
    vecs = np.arange(12, dtype=np.float32).reshape(3, 4)
    cache.put(["a", "b", "c"], vecs, np.array([1, 2, 3]))
    got, lens, found = EmbeddingCache("ns", root=tmp_path).get(["c", "zz", "a"])  # a fresh reader
    assert found.tolist() == [True, False, True]
    assert np.array_equal(got[[0, 2]], vecs[[2, 0]]) and lens.tolist() == [3, -1, 1]


def test_dense_and_hybrid_runs_on_the_sample(st_model):
    from lessonlib.data import load_dataset
    from lessonlib.retrieval.fusion import rrf
    from lessonlib.retrieval.bm25 import BM25

    ds = load_dataset("sample")
    run = E.dense_run(ds, MINILM, k=10, show_progress=False)
    qids = list(ds.queries)[:5]
    q = st_model.encode([ds.queries[x] for x in qids])
    d = st_model.encode(ds.doc_texts())
    for qid, row in zip(qids, q @ d.T):
        expected = [ds.doc_ids[j] for j in np.argsort(-row)[:10]]
        assert list(run[qid]) == expected
    hybrid = E.hybrid_run(ds, MINILM, k=10, show_progress=False)
    assert hybrid == rrf([BM25().retrieve(ds, k=10), run], k=60, depth=10)


@pytest.mark.slow
@pytest.mark.scifact
def test_zero_shot_minilm_on_scifact_matches_the_reference(scifact, monkeypatch):
    """nDCG@10 0.645 (sentence-transformers 0.6451, MTEB 64.51). Uses the user's embedding cache."""
    from lessonlib.evaluation.metrics import evaluate

    monkeypatch.delenv("LESSONLIB_CACHE")  # the shared cache: encoded once per machine
    run = E.dense_run(scifact, MINILM, k=100, show_progress=False)
    assert evaluate(scifact.qrels, run, ["ndcg@10"])["ndcg@10"] == pytest.approx(0.645, abs=0.002)


def test_encode_poolings_shares_one_pass_and_matches_encode(texts):
    views = E.encode_poolings(MINILM, texts[:8], poolings=("cls", "mean", "max"), normalize=True, show_progress=False)
    ref = E.encode(MINILM, texts[:8], cache=False, show_progress=False)
    assert set(views) == {"cls", "mean", "max"} and all(v.shape == ref.shape for v in views.values())
    np.testing.assert_allclose(views["mean"], ref, atol=1e-5)  # MiniLM = mean pooling + normalisation
    assert np.abs(views["cls"] - views["mean"]).max() > 1e-2
    again = E.encode_poolings(MINILM, texts[:8], poolings=("mean",), normalize=True, show_progress=False)
    np.testing.assert_array_equal(again["mean"], views["mean"])  # from the cache
