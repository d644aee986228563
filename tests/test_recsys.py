"""lessonlib.tasks.recsys: the simulator's ground truth, the towers, in-batch softmax, metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.tasks import recsys as R


@pytest.fixture(scope="module")
def small():
    log = R.simulate(n_users=300, n_items_per_domain=120, sessions_per_user=4, session_len=6, seed=1)
    train, test = R.next_item_cases(log)
    return log, train, test


def test_simulator_is_seeded_and_follows_preferences(small):
    log, _, _ = small
    again = R.simulate(n_users=300, n_items_per_domain=120, sessions_per_user=4, session_len=6, seed=1)
    assert again.sessions == log.sessions and again.item_text == log.item_text
    # clicks follow the user's topic preferences: the clicked topic is far likelier than uniform
    p = [log.user_pref[u, log.item_topic[i]] for u, _, items in log.sessions for i in items]
    assert np.mean(p) > 2 * (1 / len(R.TOPICS))
    # items only come from the session's domain
    assert all(log.item_domain[i] == d for _, d, items in log.sessions for i in items)


def test_cases_keep_cold_items_out_of_training(small):
    log, train, test = small
    assert not log.cold[train.target].any()
    assert not log.cold[train.history[train.history >= 0]].any()
    assert len(test) == log.n_users and log.cold[test.target].any()


def test_evaluate_matches_hand_computed_ranks_and_breaks_ties_at_random():
    scores = np.array([[0.9, 0.5, 0.1], [0.9, 0.5, 0.1]])
    out = R.evaluate_recommendations(scores, np.array([1, 2]), k=2)
    assert out["recall@2"] == pytest.approx(0.5)
    assert out["ndcg@2"] == pytest.approx((1 / np.log2(3)) / 2)
    const = R.evaluate_recommendations(np.zeros((1, 10)), np.array([3]), k=2)
    assert const["recall@2"] == pytest.approx(0.2)
    assert R.evaluate_recommendations(scores, np.array([1, 2]), k=1, exclude=np.array([[0], [0]]))["recall@1"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"k=0"):
        R.evaluate_recommendations(scores, np.array([0, 0]), k=0)


def test_in_batch_loss_equals_cross_entropy_and_masks_duplicates():
    torch.manual_seed(0)
    u, v = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1), torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    ref = torch.nn.functional.cross_entropy(u @ v.T / 0.1, torch.arange(4))
    assert R.in_batch_softmax_loss(u, v, torch.tensor([0, 1, 2, 3]), 0.1).item() == pytest.approx(ref.item(), rel=1e-6)
    dup = R.in_batch_softmax_loss(u, v, torch.tensor([0, 0, 2, 3]), 0.1)
    logits = u @ v.T / 0.1
    logits[0, 1] = logits[1, 0] = float("-inf")
    assert dup.item() == pytest.approx(torch.nn.functional.cross_entropy(logits, torch.arange(4)).item(), rel=1e-6)


def test_gru_user_tower_ignores_left_padding():
    tower = R.UserTower(dim=8, encoder="gru")
    x = torch.randn(1, 3, 8)
    padded = torch.cat([torch.randn(1, 2, 8), x], 1)
    mask = torch.tensor([[False, False, True, True, True]])
    a = tower(x, torch.ones(1, 3, dtype=torch.bool))
    b = tower(padded, mask)
    assert torch.allclose(a, b, atol=1e-6)


def test_two_tower_beats_popularity_and_text_tower_handles_cold_items(small):
    torch.set_num_threads(1)
    log, train, test = small
    cand = R.domain_mask(log, test.domain)
    ev = lambda s, c=test, m=cand: R.evaluate_recommendations(s, c.target, k=10, candidates=m, exclude=c.history)["recall@10"]
    pop = ev(R.popularity_scores(train, log.n_items, len(test)))
    rnd = ev(R.random_scores(len(test), log.n_items))
    text = R.TwoTower(log, use_ids=False, use_text=True, seed=0)
    losses = R.fit_recommender(text, train, epochs=3, seed=0)
    assert losses[-1] < losses[0]
    s = text.score(test.history)
    assert ev(s) > pop + 0.03 and ev(s) > rnd + 0.05
    ids = R.TwoTower(log, use_ids=True, use_text=False, seed=0)
    R.fit_recommender(ids, train, epochs=3, seed=0)
    cold = log.cold[test.target]
    cold_ids = ev(ids.score(test.history)[cold], test.where(cold), cand[cold])
    cold_text = ev(s[cold], test.where(cold), cand[cold])
    assert cold_text > cold_ids
