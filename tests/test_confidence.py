"""Per-prediction confidence: MC dropout, AUROC (scikit-learn as the oracle), selective curves."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from lessonlib.evaluation import confidence


class _TinyCE:
    """The interface mc_dropout_scores uses (encode_pairs, __call__, .model), on a 2-layer MLP with dropout."""

    def __init__(self, p: float = 0.3) -> None:
        torch.manual_seed(0)
        self.model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Dropout(p), torch.nn.Linear(16, 1))
        self.model.eval()

    def encode_pairs(self, queries, docs):
        feats = [[len(q), len(d), q.count("a"), d.count("a")] for q, d in zip(queries, docs)]
        return {"x": torch.tensor(feats, dtype=torch.float32)}

    def __call__(self, x):
        return self.model(x)[:, 0]


PAIRS = [("a claim", "an abstract"), ("aaa", "b"), ("q", "aaaa aaa"), ("long claim here", "doc")]


def test_mc_dropout_is_stochastic_seeded_and_restores_the_model():
    ce = _TinyCE()
    s1 = confidence.mc_dropout_scores(ce, PAIRS, passes=6, seed=1, batch_size=3)
    s2 = confidence.mc_dropout_scores(ce, PAIRS, passes=6, seed=1, batch_size=3)
    assert s1.samples.shape == (6, 4)
    np.testing.assert_array_equal(s1.samples, s2.samples)  # same seed, same masks
    assert np.all(s1.std > 0)
    assert not ce.model.training  # eval mode restored
    with torch.no_grad():
        det = ce(**ce.encode_pairs([q for q, _ in PAIRS], [d for _, d in PAIRS])).numpy()
    assert np.abs(s1.mean - det).max() < 5 * s1.std.max() + 1e-6  # MC mean near the deterministic score


def test_mc_dropout_rate_override_is_restored_and_zero_dropout_is_refused():
    ce = _TinyCE(p=0.0)
    with pytest.raises(ValueError, match="no dropout"):
        confidence.mc_dropout_scores(ce, PAIRS, passes=3)
    s = confidence.mc_dropout_scores(ce, PAIRS, passes=3, p=0.5)
    assert np.all(s.std > 0)
    assert ce.model[2].p == 0.0  # rate restored
    with pytest.raises(ValueError, match="passes"):
        confidence.mc_dropout_scores(ce, PAIRS, passes=1)


def test_mc_dropout_on_the_real_cross_encoder():
    from lessonlib.core import config
    from lessonlib.cross.model import CrossEncoder

    try:
        ce = CrossEncoder(config.DEFAULT_MODEL, max_length=96, device="cpu")
    except (OSError, FileNotFoundError) as exc:  # pragma: no cover - model not installed
        pytest.skip(f"MiniLM not available: {exc}")
    pairs = [("aspirin reduces fever", "Aspirin lowered body temperature in patients."), ("x", "unrelated text")]
    before = ce.score(pairs)
    s = confidence.mc_dropout_scores(ce, pairs, passes=4, p=0.1, seed=0)
    assert s.samples.shape == (4, 2) and np.all(s.std > 0)
    np.testing.assert_allclose(ce.score(pairs), before, atol=1e-6)  # eval-mode scoring untouched


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auroc_matches_scikit_learn_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.normal(size=200) + y, 1)  # rounding makes ties
    assert confidence.auroc(s, y) == pytest.approx(roc_auc_score(y, s))
    assert confidence.auroc(-s, y) == pytest.approx(1 - roc_auc_score(y, s))


def test_auroc_refuses_one_class_and_bad_labels():
    with pytest.raises(ValueError, match="both classes"):
        confidence.auroc([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="0 or 1"):
        confidence.auroc([0.1, 0.2], [1, 2])


def test_decision_confidence():
    np.testing.assert_allclose(confidence.decision_confidence([0.1, 0.5, 0.8]), [0.9, 0.5, 0.8])
    with pytest.raises(ValueError):
        confidence.decision_confidence([1.2])


def test_selective_curve_by_hand_and_tie_order():
    metric = {"a": 1.0, "b": 0.0, "c": 0.5, "d": 0.0}
    conf = {"a": 3.0, "b": 1.0, "c": 2.0, "d": 1.0}
    cur = confidence.selective_curve(metric, conf, [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(cur.kept, [1, 2, 3, 4])
    np.testing.assert_allclose(cur.value, [1.0, 0.75, 0.5, 0.375])
    assert cur.area == pytest.approx(np.mean([1.0, 0.75, 0.5, 0.375]))
    tie = confidence.selective_curve({"x": 1.0, "y": 0.0}, {"x": 1.0, "y": 1.0}, [0.5])
    assert tie.value[0] == 0.0  # tied confidence: query id descending keeps "y" first
    with pytest.raises(ValueError, match="coverages"):
        confidence.selective_curve(metric, conf, [0.0])
    with pytest.raises(ValueError, match="share no query"):
        confidence.selective_curve({"a": 1.0}, {"b": 1.0})


def test_selective_curve_of_a_useless_confidence_is_flat_on_average():
    rng = np.random.default_rng(0)
    metric = {f"q{i}": float(v) for i, v in enumerate(rng.random(2000))}
    conf = {q: float(c) for q, c in zip(metric, rng.random(2000))}
    cur = confidence.selective_curve(metric, conf)
    assert np.abs(cur.value - np.mean(list(metric.values()))).max() < 0.05


def test_top_k_mean_follows_the_ranking():
    order = {"q": {"a": 3.0, "b": 2.0, "c": 1.0}}
    values = {"q": {"a": 0.1, "b": 0.3, "c": 10.0}}
    assert confidence.top_k_mean(values, order, k=2) == {"q": pytest.approx(0.2)}
    assert confidence.spread([[1.0, 2.0], [3.0, 2.0]]).std.tolist() == pytest.approx([np.sqrt(2), 0.0])
    with pytest.raises(ValueError):
        confidence.spread([[1.0, 2.0]])
