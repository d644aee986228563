"""lessonlib.core.families (model families from published configs) and lessonlib.dual.depth (layer dropping).

Oracles: the closed-form parameter count of a BERT-style encoder, the published sizes of each paper,
the real all-MiniLM-L6-v2 checkpoint (its config and its parameters), and ``encode`` on a truly
truncated model for ``encode_depths``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModel

from lessonlib.core import config, families
from lessonlib.core.hub import resolve_model
from lessonlib.cross.flops import transformer_flops
from lessonlib.dual.depth import (
    drop_top_layers,
    encode_depths,
    layer_stack,
    time_depths,
)
from lessonlib.dual.encode import encode

TEXTS = ["Vitamin D supplements reduce the risk of fractures in elderly women.",
         "a cat", "", "Statins lower LDL cholesterol and cardiovascular events " * 6]


def closed_form(V: int, P: int, S: int, L: int, h: int, i: int, pooler: bool) -> int:
    """(V + P + S) h + 2h  +  L (4 (h^2 + h) + 2 h i + i + h + 4 h)  [+ h^2 + h]."""
    emb = (V + P + S) * h + 2 * h
    layer = 4 * (h * h + h) + (h * i + i) + (i * h + h) + 4 * h
    return emb + L * layer + (h * h + h if pooler else 0)


@pytest.mark.parametrize("name", list(families.FAMILIES))
def test_parameter_count_is_within_5_percent_of_the_published_size(name):
    spec = families.FAMILIES[name]
    assert abs(families.n_parameters(spec) / spec.published_params - 1) < 0.05


@pytest.mark.parametrize("name, pooler", [("BERT-base", True), ("BERT-large", True), ("SciBERT", True), ("mBERT", True),
                                          ("ELECTRA-base (discriminator)", False)])
def test_bert_like_counts_equal_the_closed_form(name, pooler):
    s = families.FAMILIES[name].sizes
    want = closed_form(s["vocab_size"], s["max_position_embeddings"], s["type_vocab_size"], s["num_hidden_layers"],
                       s["hidden_size"], s["intermediate_size"], pooler)
    assert families.n_parameters(name) == want


def test_known_sizes_bert_base_110m_distilbert_66m_bert_large_340m():
    assert round(families.n_parameters("BERT-base") / 1e6, 1) == 109.5
    # DistilBERT: no segment embeddings, no pooler (Sanh et al. 2019)
    assert families.n_parameters("DistilBERT") == closed_form(30522, 512, 0, 6, 768, 3072, pooler=False)
    assert 330e6 < families.n_parameters("BERT-large") < 345e6
    # DeBERTaV3-base: 98M embedding parameters + 86M backbone (He et al. 2023)
    assert round(families.embedding_parameters("DeBERTa-v3-base") / 1e6) == 98
    assert round((families.n_parameters("DeBERTa-v3-base") - families.embedding_parameters("DeBERTa-v3-base")) / 1e6) == 85


def test_minilm_family_matches_the_real_checkpoint():
    folder = resolve_model(config.DEFAULT_MODEL)
    real_cfg = AutoConfig.from_pretrained(folder)
    spec = families.FAMILIES["MiniLM-L6 (all-MiniLM-L6-v2)"]
    assert families.shape(spec.config()) == families.shape(real_cfg)
    real = AutoModel.from_pretrained(folder)
    assert families.n_parameters(spec) == sum(p.numel() for p in real.parameters())
    assert "MiniLM-L6 (all-MiniLM-L6-v2)" in families.local_checkpoints()


def test_describe_reads_shapes_positions_and_distilbert_names():
    d = families.describe("DistilBERT")
    assert (d["layers"], d["hidden"], d["heads"], d["intermediate"], d["vocab"]) == (6, 768, 12, 3072, 30522)
    assert families.describe("DeBERTa-v3-base")["position embeddings"].startswith("relative")
    assert families.describe("RoBERTa-base")["position embeddings"] == "absolute, learned (514)"
    xlmr = families.describe("XLM-R-base")
    assert xlmr["vocab params (M)"] / xlmr["params (M)"] > 0.6  # most of a multilingual model is its vocabulary


def test_build_is_random_but_seeded_and_runs():
    a, b, c = (families.build("MiniLM-L6 (all-MiniLM-L6-v2)", seed=s) for s in (0, 0, 1))
    wa, wb, wc = (m.encoder.layer[0].attention.self.query.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)
    assert abs(float(wa.detach().std()) - 0.02) < 0.002
    inputs = families.random_inputs(a.config, 2, 16)
    with torch.inference_mode():
        out = a(**inputs).last_hidden_state
    assert out.shape == (2, 16, 384) and torch.isfinite(out).all()


def test_measure_cost_reports_the_formula_flops_and_positive_times():
    c = families.measure_cost("MiniLM-L6 (all-MiniLM-L6-v2)", batch_size=2, seq_len=16, repeats=1)
    lin, quad = transformer_flops(16, 384, 1536, 6, 2)
    assert c["GFLOP/batch"] == pytest.approx((lin + quad) / 1e9)
    assert c["ms/batch"] > 0 and c["forward peak (MB)"] >= 0
    assert c["weights fp32 (MB)"] == pytest.approx(4 * c["params (M)"] * 1e6 / 2**20)


def test_bad_inputs_raise_one_line_value_errors():
    with pytest.raises(ValueError, match="family 'GPT-9'"):
        families.describe("GPT-9")
    with pytest.raises(ValueError, match="repeats"):
        families.measure_cost("BERT-base", repeats=0)
    with pytest.raises(ValueError, match="seq_len"):
        families.random_inputs(families.FAMILIES["BERT-base"].config(), 1, 1)


# ----------------------------------------------------------------------------- architecture search
def test_select_architecture_best_cheapest_within_tolerance_and_budget():
    val = {"a": 0.60, "b": 0.595, "c": 0.50}
    ms = {"a": 10.0, "b": 5.0, "c": 1.0}
    assert families.select_architecture(val, ms) == "a"
    assert families.select_architecture(val, ms, tolerance=0.01) == "b"
    assert families.select_architecture(val, ms, tolerance=0.2) == "c"
    assert families.select_architecture(val, ms, budget=6.0) == "b"
    assert families.select_architecture({"x": 0.5, "y": 0.5}, {"x": 2.0, "y": 1.0}) == "y"  # ties go to the cheaper
    with pytest.raises(ValueError, match="same non-empty keys"):
        families.select_architecture(val, {"a": 1.0})
    with pytest.raises(ValueError, match="budget"):
        families.select_architecture(val, ms, budget=0.5)


# ----------------------------------------------------------------------------- layer dropping
def test_drop_top_layers_keeps_the_bottom_layers_and_leaves_the_original(minilm):
    small = drop_top_layers(minilm, 2)
    assert len(layer_stack(small.query_tower.model)) == 2 and len(layer_stack(minilm.query_tower.model)) == 6
    assert small.query_tower.model.config.num_hidden_layers == 2
    assert torch.equal(layer_stack(small.query_tower.model)[1].output.dense.weight,
                       layer_stack(minilm.query_tower.model)[1].output.dense.weight)
    for bad in (0, 7):
        with pytest.raises(ValueError, match="keep"):
            drop_top_layers(minilm, bad)


def test_encode_depths_equals_encoding_with_a_truncated_model(minilm):
    got = encode_depths(config.DEFAULT_MODEL, TEXTS, (2, 6), ("mean", "cls"), cache=False, show_progress=False)
    full = encode(minilm, TEXTS, cache=False, show_progress=False)
    assert np.abs(got[6, "mean"] - full).max() < 1e-5
    two = encode(drop_top_layers(minilm, 2), TEXTS, cache=False, show_progress=False)
    assert np.abs(got[2, "mean"] - two).max() < 1e-5
    assert np.abs(got[2, "mean"] - full).max() > 1e-2  # a different model, not the same vectors
    assert np.allclose(np.linalg.norm(got[2, "cls"], axis=1), 1, atol=1e-5)


def test_encode_depths_cache_returns_the_same_vectors(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSONLIB_CACHE", str(tmp_path))
    a = encode_depths(config.DEFAULT_MODEL, TEXTS[:2], (1,), show_progress=False)
    b = encode_depths(config.DEFAULT_MODEL, TEXTS[:2], (1,), show_progress=False)
    assert np.array_equal(a[1, "mean"], b[1, "mean"])
    with pytest.raises(ValueError, match="depths"):
        encode_depths(config.DEFAULT_MODEL, TEXTS, (7,))
    with pytest.raises(ValueError, match="poolings"):
        encode_depths(config.DEFAULT_MODEL, TEXTS, (1,), ("attention",))


def test_time_depths_grows_with_depth(minilm):
    ms = time_depths(minilm, TEXTS * 4, (1, 6), repeats=2)
    assert ms.shape == (2,) and (ms > 0).all()
    assert ms[1] > ms[0]  # six layers cost more than one (about 6x; a loose check for a shared machine)
