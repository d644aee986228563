"""PooledCrossEncoder: the score is scale * cos(mean query states, mean document states) of one joint pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.cross.pooled import PooledCrossEncoder


@pytest.fixture(scope="module")
def ce():
    return PooledCrossEncoder(device="cpu", max_length=64, max_query_length=16, overflow="truncate")


Q = "vitamin D supplements lower the risk of fractures"
DOCS = ["Vitamin D supplementation reduced hip fractures in older adults.", "The cat sat on the mat and purred loudly."]


def test_score_is_scaled_cosine_of_segment_means(ce):
    feats = ce.encode_pairs([Q, Q], DOCS)
    with torch.no_grad():
        h = ce.model.base_model(**feats).last_hidden_state.numpy()
    expected = []
    for b in range(2):
        real = feats["attention_mask"][b].bool().numpy()
        types = feats["token_type_ids"][b].numpy()
        q_pos = np.flatnonzero(real & (types == 0))[1:]  # without [CLS]
        d_pos = np.flatnonzero(real & (types == 1))
        mq, md = h[b, q_pos].mean(0), h[b, d_pos].mean(0)
        expected.append(20.0 * mq @ md / np.linalg.norm(mq) / np.linalg.norm(md))
    np.testing.assert_allclose(ce.score(Q, DOCS), expected, rtol=1e-4, atol=1e-4)


def test_ranks_a_relevant_text_first_without_training(ce):
    s = ce.score(Q, DOCS)
    assert s[0] > s[1] + 2.0


def test_four_d_mask_gives_the_same_scores(ce):
    feats = ce.encode_pairs([Q, Q], DOCS)
    am = feats["attention_mask"]
    four_d = torch.zeros(2, 1, am.shape[1], am.shape[1])
    four_d.masked_fill_(~am.bool()[:, None, None, :], torch.finfo(torch.float32).min)
    with torch.no_grad():
        a = ce(**feats)
        b = ce(**{**feats, "attention_mask": four_d})
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-4)


def test_gradients_flow_and_save_load_keeps_scores(ce, tmp_path):
    feats = ce.encode_pairs([Q], DOCS[:1])
    ce(**feats).sum().backward()
    assert ce.model.base_model.encoder.layer[0].attention.self.query.weight.grad is not None
    ce.model.zero_grad()
    ce.save(tmp_path / "m")
    again = PooledCrossEncoder.load(tmp_path / "m", device="cpu", max_length=64, max_query_length=16, overflow="truncate")
    np.testing.assert_allclose(again.score(Q, DOCS), ce.score(Q, DOCS), atol=1e-5)


def test_a_saved_pooled_model_loads_as_pooled_and_refuses_the_cls_class(ce, tmp_path):
    from lessonlib.cross import CrossEncoder

    ce.scale = 12.5
    try:
        ce.save(tmp_path / "m")
    finally:
        ce.scale = 20.0
    again = CrossEncoder.load(tmp_path / "m", device="cpu", max_length=64, max_query_length=16, overflow="truncate")
    assert type(again) is PooledCrossEncoder and again.scale == 12.5
    np.testing.assert_allclose(again.score(Q, DOCS), ce.score(Q, DOCS) * 12.5 / 20.0, atol=1e-4)
    with pytest.raises(ValueError, match="scoring 'pooled'"):
        CrossEncoder(tmp_path / "m", device="cpu")
    plain = CrossEncoder(device="cpu", max_length=64, max_query_length=16)
    plain.save(tmp_path / "cls")
    assert type(CrossEncoder.load(tmp_path / "cls", device="cpu")) is CrossEncoder


def test_saliency_explains_the_pooled_score_not_the_unused_classifier_head(ce):
    """token_saliency's f(x) is the model's own score (the pooled cosine), and IG sums to f(x) - f(baseline)."""
    from lessonlib.cross import interpret

    sal = interpret.token_saliency(ce, query=Q, doc=DOCS[0], method="ig", steps=64, max_length=64)
    assert sal.f_x == pytest.approx(float(ce.score(Q, [DOCS[0]])[0]), abs=1e-3)
    assert sal.completeness_gap <= 0.05 * abs(sal.f_x - sal.f_baseline) + 1e-3
