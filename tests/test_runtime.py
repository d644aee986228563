"""lessonlib.core.runtime (ONNX Runtime engine): the same vectors and scores as torch in fp32, close ones
in int8, automatic choice, one export per weights (cached, pruned), and a trace that froze a
shape-dependent branch is caught rather than trusted."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch import nn

from lessonlib.core import config, runtime
from lessonlib.cross import CrossEncoder
from lessonlib.dual import encode as E

MINILM = config.DEFAULT_MODEL


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSONLIB_CACHE", str(tmp_path / "cache"))
    runtime._SESSIONS.clear()


@pytest.fixture(scope="module")
def texts():
    from lessonlib.data import load_dataset

    docs = load_dataset("sample").doc_texts()[:20]
    return docs + ["", "vitamin D " * 200, "p53"]  # empty, longer than max_length, one token


def test_backend_names_and_automatic_choice():
    with pytest.raises(ValueError, match="backend must be one of"):
        runtime.check_backend("encode", "tensorrt")
    with pytest.raises(ValueError, match="backend must be one of"):
        E.encode(MINILM, ["a"], backend="tensorrt")
    assert runtime.available()
    auto = "onnx" if runtime.AUTO_ONNX else "torch"  # off: torch measured faster on the course CPU
    assert runtime.choose_backend("auto", "cpu", runtime.AUTO_MIN_INPUTS) == auto
    assert runtime.choose_backend("auto", "cpu", runtime.AUTO_MIN_INPUTS - 1) == "torch"
    assert runtime.choose_backend("auto", "cuda", 10**6) == "torch"
    assert runtime.choose_backend("torch", "cpu", 10**6) == "torch"
    assert runtime.choose_backend("onnx", "cpu", 1) == "onnx"


def test_onnx_encode_equals_torch_fp32_and_int8_stays_close(texts):
    ref = E.encode(MINILM, texts, cache=False, backend="torch", show_progress=False)
    fp32 = E.encode(MINILM, texts, cache=False, backend="onnx", show_progress=False)
    assert fp32.shape == ref.shape
    assert np.abs(fp32 - ref).max() < 1e-4
    int8 = E.encode(MINILM, texts, cache=False, backend="onnx", quantize=True, show_progress=False)
    cos = (int8 * ref).sum(1) / np.linalg.norm(int8, axis=1) / np.linalg.norm(ref, axis=1)
    assert cos.min() > 0.97 and cos.mean() > 0.99
    assert np.abs(int8 - ref).max() > 1e-4  # it is really quantised


def test_onnx_encode_shares_the_fp32_cache_and_keeps_int8_apart(texts):
    a = E.encode(MINILM, texts[:6], backend="onnx", show_progress=False)
    b = E.encode(MINILM, texts[:6], backend="torch", show_progress=False)  # cache hit: same vectors
    np.testing.assert_array_equal(a, b)
    q = E.encode(MINILM, texts[:6], backend="onnx", quantize=True, show_progress=False)
    assert not np.array_equal(q, a)


def test_onnx_rejects_bf16():
    with pytest.raises(ValueError, match="fp32"):
        E.encode(MINILM, ["a"], backend="onnx", precision="bf16")


def test_cross_encoder_onnx_scores_equal_torch(texts):
    config.seed_everything(0)
    ce = CrossEncoder(MINILM, max_length=128, overflow="truncate", device="cpu")
    pairs = [("vitamin D and bone density", d) for d in texts if d]
    ce.backend = "torch"
    ref = ce.score(pairs)
    ce.backend = "onnx"
    got = ce.score(pairs)
    assert np.abs(got - ref).max() < 1e-4
    ce.int8 = True
    q = ce.score(pairs)
    assert spearmanr(q, ref)[0] > 0.9
    with pytest.raises(ValueError, match="backend must be one of"):
        ce.backend = "gpu"
        ce.score(pairs)


class _Pool(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 4)

    def forward(self, input_ids, attention_mask):
        return (self.emb(input_ids) * attention_mask[..., None]).sum(1)


class _ShapeBranch(_Pool):
    def forward(self, input_ids, attention_mask):
        out = super().forward(input_ids, attention_mask)
        return out * 2 if input_ids.shape[1] > 4 else out  # the tracer freezes this branch


def _feed(batch, tokens):
    g = torch.Generator().manual_seed(batch * 100 + tokens)
    return {"input_ids": torch.randint(0, 50, (batch, tokens), generator=g),
            "attention_mask": torch.ones(batch, tokens, dtype=torch.long)}


def test_export_is_cached_per_weights_and_pruned():
    torch.manual_seed(0)
    m = _Pool()
    g1 = runtime.compile_module(m, _feed(2, 6), name="t-pool", check=_feed(3, 3))
    np.testing.assert_allclose(g1(**_feed(5, 9)), m(**_feed(5, 9)).detach().numpy(), atol=1e-5)
    files = sorted(config.cache_dir("onnx").glob("t-pool-*.onnx"))
    assert runtime.compile_module(m, _feed(2, 6), name="t-pool") is g1 and sorted(config.cache_dir("onnx").glob("t-pool-*.onnx")) == files
    with torch.no_grad():
        m.emb.weight.add_(1.0)
    g2 = runtime.compile_module(m, _feed(2, 6), name="t-pool")
    assert g2 is not g1 and len(list(config.cache_dir("onnx").glob("t-pool-*.onnx"))) == 2
    for _ in range(runtime.KEEP_EXPORTS + 2):
        with torch.no_grad():
            m.emb.weight.add_(1.0)
        runtime.compile_module(m, _feed(2, 6), name="t-pool")
    assert len(list(config.cache_dir("onnx").glob("t-pool-*.onnx"))) == runtime.KEEP_EXPORTS


def test_a_trace_that_froze_a_branch_is_caught_and_removed():
    m = _ShapeBranch()
    with pytest.raises(RuntimeError, match="shape-dependent"):
        runtime.compile_module(m, _feed(2, 6), name="t-branch", check=_feed(2, 3))
    assert not list(config.cache_dir("onnx").glob("t-branch-*.onnx"))


def test_graph_names_a_missing_input():
    g = runtime.compile_module(_Pool(), _feed(2, 6), name="t-in")
    with pytest.raises(ValueError, match="missing inputs"):
        g(input_ids=np.zeros((1, 3), dtype=np.int64))


def test_compile_or_torch_falls_back_with_a_warning_unless_strict(caplog):
    with caplog.at_level("WARNING", logger="lessonlib.core.runtime"):
        assert runtime.compile_or_torch("encode", _ShapeBranch(), _feed(2, 6), name="t-fall", check=_feed(2, 3)) is None
    assert "encode: ONNX export failed (RuntimeError" in caplog.text
    with pytest.raises(RuntimeError, match="shape-dependent"):
        runtime.compile_or_torch("CrossEncoder.score", _ShapeBranch(), _feed(2, 6), name="t-fall", check=_feed(2, 3), strict=True)
