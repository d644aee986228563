"""lessonlib.dual.bottleneck (rate, InfoNCE bound, Johnson-Lindenstrauss) and lessonlib.retrieval.llm_rerank (RankGPT mechanics)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.dual import bottleneck as IB
from lessonlib.index.reduce import RandomProjection
from lessonlib.retrieval import llm_rerank as LLM


def test_quantized_rate_counts_bits():
    x = np.array([[0.0, 5.0], [1.0, 5.0], [0.0, 5.0], [1.0, 5.0]])
    assert IB.quantized_rate(x, bits=1) == pytest.approx(1.0)  # one fair binary coordinate, one constant
    rng = np.random.default_rng(0)
    u = rng.random((20000, 3))
    assert IB.quantized_rate(u, bits=4) == pytest.approx(12.0, abs=0.05)  # uniform: 4 bits per coordinate
    with pytest.raises(ValueError):
        IB.quantized_rate(u, bits=0)


def test_infonce_bound_matches_torch_cross_entropy_and_log_n_cap():
    rng = np.random.default_rng(0)
    q, d = rng.normal(size=(16, 8)), rng.normal(size=(16, 8))
    qn, dn = (torch.nn.functional.normalize(torch.tensor(a), dim=1) for a in (q, d))
    ce = torch.nn.functional.cross_entropy(qn @ dn.T / 0.1, torch.arange(16)).item()
    assert IB.infonce_mi_bound(q, d, 0.1) == pytest.approx(np.log(16) - ce, rel=1e-9)
    assert IB.infonce_mi_bound(q, q, 0.01) == pytest.approx(np.log(16), abs=1e-3)  # perfect pairs reach log N
    with pytest.raises(ValueError):
        IB.infonce_mi_bound(q, d[:5])


def test_jl_dimension_formula_inverse_and_measured_distortion():
    assert IB.jl_min_dim(1000, 0.5) == int(np.ceil(4 * np.log(1000) / (0.125 - 0.125 / 3)))
    eps = IB.jl_eps(500, 400)
    assert IB.jl_min_dim(500, eps) <= 400 < IB.jl_min_dim(500, eps * 0.99)
    assert IB.jl_eps(500, 5) == 1.0
    x = np.random.default_rng(1).normal(size=(200, 256))
    y = RandomProjection(600, seed=0).fit(x).transform(x)
    assert IB.max_distortion(x, y) <= IB.jl_eps(200, 600)
    assert IB.max_distortion(x, x) == pytest.approx(0.0, abs=1e-9)


def test_parse_permutation_follows_rankgpt_rules():
    assert LLM.parse_permutation("[3] > [1] > [3] > [9]", 4) == [2, 0, 1, 3]
    assert LLM.parse_permutation("no idea", 3) == [0, 1, 2]


def test_windows_cover_the_list_back_to_front_and_count_calls():
    assert LLM.window_starts(100, 20, 10) == [80, 70, 60, 50, 40, 30, 20, 10, 0]
    assert LLM.llm_calls(100, 20, 10) == 9 and LLM.llm_calls(15, 20, 10) == 1
    assert LLM.window_starts(15, 20, 10) == [0]


def test_sliding_window_with_a_scripted_ranker_bubbles_the_best_to_the_top():
    # a scripted ranker that orders passages by the number written in them (not an LLM: a test of the window mechanics)
    ids = [f"d{i}" for i in range(30)]
    texts = {d: f"value {i}" for i, d in enumerate(ids)}

    def scripted(messages):
        lines = [ln for ln in messages[2]["content"].splitlines() if ln.startswith("[")]
        vals = [int(ln.split()[-1]) for ln in lines]
        return " > ".join(f"[{j + 1}]" for j in np.argsort(vals)[::-1])

    out = LLM.sliding_window_rerank("q", ids, texts, scripted, window=10, step=5)
    assert out[:5] == [f"d{i}" for i in range(29, 24, -1)]  # one back-to-front pass carries the best window - step = 5 to the top, in order
    assert sorted(out) == sorted(ids)


def test_prompt_numbers_passages_and_truncates_them():
    m = LLM.rankgpt_messages("q?", ["a " * 300, "b"], max_words=5)
    assert m[0]["role"] == "system" and "[1] a a a a a\n[2] b" in m[2]["content"] and "2 passages" in m[1]["content"]
    with pytest.raises(ValueError):
        LLM.rankgpt_messages("q", [])


def test_load_chat_llm_fails_with_a_reason_offline():
    with pytest.raises(RuntimeError, match="no such model"):
        LLM.load_chat_llm("no-such-org/no-such-chat-model")
