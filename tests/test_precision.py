"""bf16 inference (issue 27): precision="auto" picks bf16 only where the hardware multiplies bf16
natively, LESSONLIB_PRECISION overrides it, a bf16 copy never touches the caller's fp32 weights, and
bf16 vectors and scores rank like fp32 (sentence-transformers as the fp32 peer)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch import nn

from lessonlib.core import config, runtime
from lessonlib.cross import CrossEncoder
from lessonlib.cross.pooled import PooledCrossEncoder
from lessonlib.dual import encode as E

MINILM = config.DEFAULT_MODEL


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSONLIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LESSONLIB_PRECISION", raising=False)  # tests/conftest.py pins fp32 for the parity tests


@pytest.fixture(scope="module")
def texts():
    from lessonlib.data import load_dataset

    return load_dataset("sample").doc_texts()[:24] + ["", "p53"]


def test_auto_follows_the_hardware_and_the_environment(monkeypatch):
    caps = torch.cpu.get_capabilities()
    assert runtime.native_bf16("cpu") == bool(caps.get("amx_bf16") or caps.get("avx512_bf16"))
    assert runtime.native_bf16("meta") is False
    for native, want in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(runtime, "native_bf16", lambda device, native=native: native)
        assert runtime.choose_precision("encode", "auto", "cpu") == want
        assert runtime.choose_precision("encode", "fp32", "cpu") == "fp32"  # explicit values pass through
        assert runtime.choose_precision("encode", "bf16", "cpu") == "bf16"
    monkeypatch.setenv("LESSONLIB_PRECISION", "bf16")
    assert runtime.choose_precision("encode", "auto", "cpu") == "bf16"  # native is False here
    monkeypatch.setenv("LESSONLIB_PRECISION", "fp16")
    with pytest.raises(ValueError, match="LESSONLIB_PRECISION='fp16': expected auto, fp32 or bf16"):
        runtime.choose_precision("encode", "auto", "cpu")
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16"):
        runtime.choose_precision("encode", "int4", "cpu")
    with pytest.raises(ValueError, match=r"encode\(precision='int4'\)"):
        E.encode(MINILM, ["a"], precision="int4")


def test_bf16_copy_shares_what_it_is_told_and_keeps_fp32_heads():
    torch.manual_seed(0)
    tok = object()
    model = nn.Sequential(nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 1))
    model.tok = tok
    clone = runtime.bf16_copy(model, share=(tok,), fp32=("2",))
    assert clone.tok is tok
    assert clone[0].weight.dtype == torch.bfloat16 and clone[2].weight.dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the original is untouched
    x = torch.randn(5, 8)
    out = clone(x.bfloat16())  # the fp32 head takes the bf16 activations, cast up by its hook
    assert out.dtype == torch.float32
    assert torch.allclose(out, model(x), atol=0.05)


def test_encode_bf16_ranks_like_sentence_transformers_and_is_cached_apart(texts, monkeypatch):
    from sentence_transformers import SentenceTransformer

    from lessonlib.core.hub import resolve_model

    st = SentenceTransformer(str(resolve_model(MINILM)), device="cpu")
    theirs = st.encode(texts, batch_size=8)
    model = E.load_model(MINILM)
    big = E.encode(model, texts, batch_size=8, precision="bf16", cache=False, show_progress=False)  # a bf16 copy
    small = E.encode(model, texts, batch_size=64, precision="bf16", cache=False, show_progress=False)  # autocast
    assert all(p.dtype == torch.float32 for p in model.parameters())
    for ours in (big, small):
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)  # normalised in fp32
        assert ours.dtype == np.float32 and ours.shape == theirs.shape
        cos = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
        assert cos.min() > 0.998
        # each text's nearest neighbour among the others is the fp32 one
        sim, ref = ours @ ours.T, theirs @ theirs.T
        np.fill_diagonal(sim, -9)
        np.fill_diagonal(ref, -9)
        assert np.mean(sim.argmax(1) == ref.argmax(1)) >= 0.9

    monkeypatch.setattr(runtime, "native_bf16", lambda device: True)
    auto = E.encode(MINILM, texts, batch_size=8, show_progress=False)
    ns_auto = E.last_stats.cache_namespace
    np.testing.assert_allclose(auto, big, atol=1e-6)  # auto on native hardware = bf16
    E.encode(MINILM, texts, batch_size=8, show_progress=False)
    assert E.last_stats.n_cached == len(texts)  # auto's vectors come back from its cache
    E.encode(MINILM, texts, batch_size=8, precision="fp32", show_progress=False)
    assert E.last_stats.cache_namespace != ns_auto and E.last_stats.n_cached == 0  # fp32 is cached apart
    monkeypatch.setattr(runtime, "native_bf16", lambda device: False)
    fp32 = E.encode(MINILM, texts, batch_size=8, show_progress=False)
    assert np.abs(fp32 - theirs).max() < 1e-5  # auto without native bf16 = fp32


@pytest.mark.parametrize("cls", [CrossEncoder, PooledCrossEncoder])
def test_cross_encoder_bf16_scores_rank_like_fp32_without_ties(cls):
    from lessonlib.data import load_dataset

    torch.manual_seed(0)
    ds = load_dataset("sample")
    query = next(iter(ds.queries.values()))
    docs = ds.doc_texts()[:40]
    ce = cls(device="cpu", max_length=128)
    ce.precision = "fp32"
    fp32 = ce.score(query, docs, batch_size=8)
    ce.precision = "bf16"
    copy_path = ce.score(query, docs, batch_size=8)  # 40 pairs >= batch: a bf16 copy, fp32 head
    amp_path = ce.score(query, docs[:4], batch_size=8)  # fewer pairs than a batch: autocast
    assert all(p.dtype == torch.float32 for p in ce.parameters())
    assert spearmanr(fp32, copy_path).statistic > 0.95
    assert np.abs(amp_path - fp32[:4]).max() < 0.1 * (np.ptp(fp32) + 1e-6) + 0.05
    assert len(np.unique(copy_path)) == len(np.unique(fp32))  # fp32 head: bf16 rounding adds no ties
    if cls is CrossEncoder:
        assert ce.fp32_modules() == ("model.classifier",)


def test_to_bf16_halves_the_weights_and_keeps_the_ranking():
    from lessonlib.cross.efficiency import to_bf16
    from lessonlib.evaluation.cost import tensor_bytes

    torch.manual_seed(0)
    ce = CrossEncoder(device="cpu", max_length=96)
    ce.precision = "fp32"
    half = to_bf16(ce)
    assert half.tokenizer is ce.tokenizer and half.precision == "fp32"
    assert half.model.classifier.weight.dtype == torch.float32
    assert half.model.base_model.encoder.layer[0].attention.self.query.weight.dtype == torch.bfloat16
    assert tensor_bytes(half.model) < 0.55 * tensor_bytes(ce.model)
    pairs = [("vitamin d and bone", f"document {i} about vitamin d, bones and {i} other things") for i in range(12)]
    assert spearmanr(ce.score(pairs), half.score(pairs)).statistic > 0.9


def test_a_module_that_cannot_be_copied_runs_under_autocast():
    model = nn.Linear(4, 1)
    model.kept = torch.ones(2, requires_grad=True) * 2  # a non-leaf tensor: deepcopy refuses it
    assert runtime.bf16_runner(model) is model
    plain = nn.Linear(4, 1)
    assert runtime.bf16_runner(plain).weight.dtype == torch.bfloat16


def test_inference_runner_copies_for_a_cpu_batch_and_autocasts_otherwise():
    net = torch.nn.Sequential(torch.nn.Linear(4, 4))
    assert runtime.inference_runner(net, "fp32", "cpu", 100, 8) == (net, False)
    runner, amp = runtime.inference_runner(net, "bf16", "cpu", 100, 8)  # at least one batch: a bf16 copy, no autocast
    assert runner is not net and not amp and runner[0].weight.dtype == torch.bfloat16 and net[0].weight.dtype == torch.float32
    assert runtime.inference_runner(net, "bf16", "cpu", 3, 8) == (net, True)  # shorter than a batch: autocast
    assert runtime.inference_runner(net, "bf16", "cuda", 100, 8) == (net, True)  # a GPU: autocast
    with pytest.raises(ValueError, match="precision must be"):
        runtime.inference_runner(net, "auto", "cpu", 100, 8)


@pytest.mark.parametrize("native,bf16,want", [(True, True, True), (True, False, False), (False, True, False)])
def test_trainer_autocasts_on_a_cpu_only_where_bf16_is_native(monkeypatch, native, bf16, want):
    from lessonlib.core.trainer import Trainer, TrainerConfig

    monkeypatch.setattr(runtime, "native_bf16", lambda device: native)
    seen = []

    def loss_fn(model, batch):
        seen.append(torch.is_autocast_enabled("cpu"))
        x, y = torch.stack([x for x, _ in batch]), torch.stack([y for _, y in batch])
        return ((model(x).float() - y) ** 2).mean()

    batches = [(torch.randn(4), torch.randn(1)) for _ in range(8)]  # examples; the Trainer batches them
    Trainer(nn.Linear(4, 1), loss_fn, TrainerConfig(lr=1e-2, batch_size=4, device="cpu", progress=False, bf16=bf16)).train(batches)
    assert seen and all(s == want for s in seen)
    monkeypatch.setenv("LESSONLIB_PRECISION", "fp32")  # the environment overrides the hardware
    seen.clear()
    Trainer(nn.Linear(4, 1), loss_fn, TrainerConfig(lr=1e-2, batch_size=4, device="cpu", progress=False, bf16=bf16)).train(batches)
    assert seen and not any(seen)
