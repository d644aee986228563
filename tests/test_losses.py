"""lessonlib.losses: hand computations on tiny inputs, sentence-transformers as the oracle, gradchecks."""

from __future__ import annotations

import math

import pytest
import torch

from lessonlib import losses as L

ST = pytest.importorskip("sentence_transformers.sentence_transformer.losses")


def t(x, dtype=torch.float64):
    return torch.tensor(x, dtype=dtype)


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    b, n, d = 6, 3, 16
    return (
        torch.randn(b, d, generator=g),
        torch.randn(b, d, generator=g),
        torch.randn(b, n, d, generator=g),
    )


# ---------------------------------------------------------------- hand computations


def test_infonce_matches_hand_computation_on_orthogonal_vectors():
    q = t([[1.0, 0.0], [0.0, 1.0]])
    # logits = identity: each row is -log(e / (e + 1)) = log(1 + e^-1)
    loss = L.InfoNCELoss(temperature=1.0, similarity="ip")(q, q.clone())
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-12)


def test_infonce_hard_negatives_enter_every_denominator_when_shared():
    q = t([[1.0, 0.0], [0.0, 1.0]])
    neg = t([[[-1.0, 0.0]], [[0.0, -1.0]]])
    # query 0: candidates pos0=1, pos1=0, neg0=-1, neg1=0
    expected = -math.log(math.e / (math.e + 1 + math.exp(-1) + 1))
    assert L.InfoNCELoss(1.0, similarity="ip")(q, q.clone(), neg).item() == pytest.approx(expected, abs=1e-12)
    # not shared: query 0 sees pos0, pos1 and only its own negative
    expected_own = -math.log(math.e / (math.e + 1 + math.exp(-1)))
    loss = L.InfoNCELoss(1.0, similarity="ip", share_negatives=False)(q, q.clone(), neg)
    assert loss.item() == pytest.approx(expected_own, abs=1e-12)


def test_infonce_temperature_divides_logits():
    q = t([[1.0, 0.0], [0.0, 1.0]])
    loss = L.InfoNCELoss(temperature=0.5, similarity="ip")(q, q.clone())
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-2)), abs=1e-12)


def test_infonce_symmetric_averages_both_directions():
    q = t([[1.0, 0.0], [1.0, 1.0]])
    p = t([[1.0, 0.0], [0.0, 1.0]])
    # q->d logits [[1,0],[1,1]]; d->q logits = transpose [[1,1],[0,1]]
    fwd = (-math.log(math.e / (math.e + 1)) - math.log(math.e / (2 * math.e))) / 2
    bwd = (-math.log(math.e / (2 * math.e)) - math.log(math.e / (math.e + 1))) / 2
    loss = L.InfoNCELoss(1.0, symmetric=True, similarity="ip")(q, p)
    assert loss.item() == pytest.approx((fwd + bwd) / 2, abs=1e-12)


def test_contrastive_hand_values():
    a = t([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    b = t([[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    label = torch.tensor([0, 1, 0])
    d = 1 - 1 / math.sqrt(2)  # cosine distance of (1,0) and (1,1)
    # pair 0: negative at distance 1 > margin: 0; pair 1: positive: d²/2; pair 2: negative: (m-d)²/2
    expected = (0 + 0.5 * d**2 + 0.5 * (0.5 - d) ** 2) / 3
    assert L.ContrastiveLoss(margin=0.5)(a, b, label).item() == pytest.approx(expected, abs=1e-12)


def test_triplet_hand_value_one_dimension():
    a, p, n = t([[0.0], [0.0]]), t([[1.0], [1.0]]), t([[1.5], [3.0]])
    # max(0, 1 - 1.5 + 1) = 0.5 and max(0, 1 - 3 + 1) = 0
    assert L.TripletLoss(margin=1.0)(a, p, n).item() == pytest.approx(0.25, abs=1e-12)


# points 0, .5, 1, 3 on a line, labels 0 0 1 1, margin 1 (worked out in the comments)
X1D = [[0.0], [0.5], [1.0], [3.0]]
Y1D = [0, 0, 1, 1]


@pytest.mark.parametrize(
    "mining, expected, n_triplets, n_active",
    [
        # triplet losses .5, 0 | 1, 0 | 2, 2.5 | 0, .5 -> 6.5 over 5 active
        ("batch_all", 6.5 / 5, 8, 5),
        # per anchor: hardest pos vs hardest neg: .5, 1, 2.5, .5
        ("batch_hard", 4.5 / 4, 4, 4),
        # per (a, p): semi-hard neg at 1 -> .5; 2.5 -> 0; none, farthest (1) -> 2; 2.5 -> .5
        ("semi_hard", 3.0 / 4, 4, 3),
    ],
)
def test_triplet_mining_hand_values(mining, expected, n_triplets, n_active):
    loss = L.TripletLoss(margin=1.0, mining=mining)
    x, y = t(X1D), torch.tensor(Y1D)
    assert loss(x, labels=y).item() == pytest.approx(expected, abs=1e-12)
    triplets, per = loss.triplet_losses(x, y)
    assert len(triplets.anchor) == n_triplets
    assert int((per > 0).sum()) == n_active


def test_batch_hard_picks_farthest_positive_and_closest_negative():
    x, y = t(X1D), torch.tensor(Y1D)
    from lessonlib.losses._similarity import distance_matrix

    tr = L.mine_triplets(distance_matrix(x), y, "batch_hard")
    assert tr.positive.tolist() == [1, 0, 3, 2]
    assert tr.negative.tolist() == [2, 2, 1, 1]


def test_margin_ranking_hand_value_and_torch_equivalence():
    q, pos, neg = t([[1.0, 0.0]]), t([[0.5, 0.0]]), t([[0.3, 0.0]])
    assert L.MarginRankingLoss(0.5, similarity="ip")(q, pos, neg).item() == pytest.approx(0.3, abs=1e-12)
    g = torch.Generator().manual_seed(1)
    q, pos, neg = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    s_pos, s_neg = (q * pos).sum(-1), (q * neg).sum(-1)
    ref = torch.nn.MarginRankingLoss(margin=0.3)(s_pos, s_neg, torch.ones(5))
    assert L.MarginRankingLoss(0.3, "ip")(q, pos, neg).item() == pytest.approx(ref.item(), abs=1e-6)


def test_margin_mse_hand_value():
    q, pos, neg = t([[1.0, 2.0]]), t([[1.0, 1.0]]), t([[0.0, 1.0]])
    # student margin 3 - 2 = 1, teacher margin 3: (1 - 3)² = 4; teacher scores [5, 2] give the same
    assert L.MarginMSELoss()(q, pos, neg, t([3.0])).item() == pytest.approx(4.0)
    assert L.MarginMSELoss()(q, pos, neg, t([[5.0, 2.0]])).item() == pytest.approx(4.0)


def test_kl_distillation_hand_value():
    student, teacher = t([[0.0, 0.0]]), t([[math.log(3.0), 0.0]])
    # p_T = (.75, .25), p_S = (.5, .5)
    expected = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert L.KLDistillationLoss(1.0)(student, teacher).item() == pytest.approx(expected, abs=1e-12)
    assert L.KLDistillationLoss(1.0)(teacher, teacher).item() == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------- sentence-transformers as the oracle


@pytest.mark.parametrize("scale", [20.0, 1.0])
def test_mnrl_equals_sentence_transformers(batch, scale):
    q, pos, neg = batch
    ours = L.MultipleNegativesRankingLoss(scale=scale)
    ref = ST.MultipleNegativesRankingLoss(None, scale=scale)
    cols = [neg[:, j] for j in range(neg.shape[1])]
    assert ours(q, pos).item() == pytest.approx(ref.compute_loss_from_embeddings([q, pos], None).item(), abs=1e-6)
    assert ours(q, pos, neg).item() == pytest.approx(
        ref.compute_loss_from_embeddings([q, pos, *cols], None).item(), abs=1e-6
    )
    # InfoNCE is the same loss written with a temperature
    assert L.InfoNCELoss(temperature=1 / scale)(q, pos, neg).item() == pytest.approx(ours(q, pos, neg).item(), abs=1e-6)


@pytest.mark.parametrize("similarity, st_fn", [("ip", "dot_score"), ("cosine", "cos_sim")])
def test_infonce_similarities_equal_sentence_transformers(batch, similarity, st_fn):
    from sentence_transformers import util

    q, pos, neg = batch
    cols = [neg[:, j] for j in range(neg.shape[1])]
    ref = ST.MultipleNegativesRankingLoss(None, scale=2.0, similarity_fct=getattr(util, st_fn))
    expected = ref.compute_loss_from_embeddings([q, pos, *cols], None).item()
    assert L.InfoNCELoss(0.5, similarity=similarity)(q, pos, neg).item() == pytest.approx(expected, abs=1e-6)


def test_l2_similarity_is_minus_squared_distance_and_ranks_as_st_euclidean(batch):
    """lessonlib's "l2" is -||a-b||² (FAISS); ST's "euclidean" is -||a-b||: other values, same ranking."""
    from sentence_transformers import util

    from lessonlib.losses._similarity import pairwise_similarity, score_matrix

    q, pos, neg = batch
    docs = torch.cat([pos, neg.reshape(-1, neg.shape[-1])])  # (B + B*n, d)
    ours = score_matrix(q, docs, "l2")
    st = util.euclidean_sim(q, docs)
    assert torch.allclose(ours, -(st ** 2), atol=1e-4)
    assert not torch.allclose(ours, st, atol=1e-2)  # not ST's euclidean itself
    assert torch.equal(ours.argsort(dim=1, descending=True), st.argsort(dim=1, descending=True))
    assert torch.allclose(pairwise_similarity(q, pos, "l2"), -((q - pos) ** 2).sum(-1), atol=1e-5)
    # the loss with "l2" is ST's MNRL with -||a-b||² as its similarity function
    cols = [neg[:, j] for j in range(neg.shape[1])]
    ref = ST.MultipleNegativesRankingLoss(None, scale=0.1, similarity_fct=lambda a, b: -torch.cdist(a, b) ** 2)
    expected = ref.compute_loss_from_embeddings([q, pos, *cols], None).item()
    assert L.InfoNCELoss(10.0, similarity="l2")(q, pos, neg).item() == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_symmetric_infonce_equals_sentence_transformers(batch):
    q, pos, _ = batch
    ref = ST.MultipleNegativesRankingLoss(None, directions=("query_to_doc", "doc_to_query"), partition_mode="per_direction")
    expected = ref.compute_loss_from_embeddings([q, pos], None).item()
    assert L.InfoNCELoss(0.05, symmetric=True)(q, pos).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("distance, st_metric", [("cosine", "COSINE_DISTANCE"), ("l2", "EUCLIDEAN")])
def test_contrastive_equals_sentence_transformers(batch, distance, st_metric):
    a, b, _ = batch
    labels = torch.tensor([1, 0, 1, 0, 0, 1])
    margin = 0.5 if distance == "cosine" else 6.0
    ref = ST.ContrastiveLoss(None, distance_metric=getattr(ST.SiameseDistanceMetric, st_metric), margin=margin)
    expected = ref.compute_loss_from_embeddings([a, b], labels).item()
    # ST's Euclidean is F.pairwise_distance, which adds eps=1e-6 to each difference: compare relatively
    assert L.ContrastiveLoss(margin, distance)(a, b, labels).item() == pytest.approx(expected, rel=1e-6, abs=1e-6)
    ref_online = ST.OnlineContrastiveLoss(None, distance_metric=getattr(ST.SiameseDistanceMetric, st_metric), margin=margin)
    expected = ref_online.compute_loss_from_embeddings([a, b], labels).item()
    assert L.OnlineContrastiveLoss(margin, distance)(a, b, labels).item() == pytest.approx(expected, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("distance, st_metric", [("l2", "EUCLIDEAN"), ("cosine", "COSINE")])
def test_triplet_equals_sentence_transformers(batch, distance, st_metric):
    a, p, negs = batch
    n = negs[:, 0]
    margin = 5.0 if distance == "l2" else 0.3
    ref = ST.TripletLoss(None, distance_metric=getattr(ST.TripletDistanceMetric, st_metric), triplet_margin=margin)
    expected = ref.compute_loss_from_embeddings([a, p, n], None).item()
    assert L.TripletLoss(margin, distance=distance)(a, p, n).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "ours_cls, st_name",
    [
        (L.BatchAllTripletLoss, "BatchAllTripletLoss"),
        (L.BatchHardTripletLoss, "BatchHardTripletLoss"),
        (L.BatchSemiHardTripletLoss, "BatchSemiHardTripletLoss"),
    ],
)
@pytest.mark.parametrize("margin", [0.5, 5.0])
@pytest.mark.parametrize("distance", ["l2", "cosine"])
def test_batch_triplet_mining_equals_sentence_transformers(ours_cls, st_name, margin, distance):
    g = torch.Generator().manual_seed(3)
    emb = torch.randn(16, 8, generator=g)
    labels = torch.arange(4).repeat_interleave(4)[torch.randperm(16, generator=g)]  # 4 classes x 4 rows
    fn = ST.BatchHardTripletLossDistanceFunction
    metric = fn.euclidean_distance if distance == "l2" else fn.cosine_distance
    ref = getattr(ST, st_name)(None, distance_metric=metric, margin=margin)
    expected = ref.compute_loss_from_embeddings([emb], labels).item()
    assert ours_cls(margin, distance=distance)(emb, labels=labels).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("n_neg", [1, 3])
def test_margin_mse_equals_sentence_transformers(batch, n_neg):
    q, pos, negs = batch
    negs = negs[:, :n_neg]
    teacher = torch.randn(q.shape[0], n_neg, generator=torch.Generator().manual_seed(5))
    ref = ST.MarginMSELoss(None)
    expected = ref.compute_loss_from_embeddings([q, pos, *negs.unbind(1)], teacher.clone()).item()
    assert L.MarginMSELoss()(q, pos, negs, teacher).item() == pytest.approx(expected, rel=1e-6, abs=1e-5)


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_kl_distillation_equals_sentence_transformers(batch, temperature):
    q, pos, negs = batch
    docs = torch.cat([pos.unsqueeze(1), negs], dim=1)  # (B, 4, d)
    teacher = torch.randn(q.shape[0], docs.shape[1], generator=torch.Generator().manual_seed(6)) * 3
    ref = ST.DistillKLDivLoss(None, temperature=temperature)
    expected = ref.compute_loss_from_embeddings([q, *docs.unbind(1)], teacher.clone()).item()
    student = L.candidate_scores(q, docs, "ip")
    assert L.KLDistillationLoss(temperature)(student, teacher).item() == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_embedding_mse_equals_sentence_transformers(batch):
    q, pos, _ = batch
    try:
        ref = ST.MSELoss(None)
    except Exception as exc:  # pragma: no cover - depends on the ST constructor accepting model=None
        pytest.skip(f"ST MSELoss needs a model: {exc}")
    expected = ref.compute_loss_from_embeddings([q], [pos]).item()
    assert L.EmbeddingMSELoss()(q, pos).item() == pytest.approx(expected, abs=1e-6)


# ---------------------------------------------------------------- gradients (float64 gradcheck)


def _inputs(*shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g, dtype=torch.float64, requires_grad=True) for s in shapes]


@pytest.mark.parametrize("similarity", ["cosine", "ip", "l2"])
@pytest.mark.parametrize("symmetric", [False, True])
def test_infonce_gradcheck(similarity, symmetric):
    q, p, n = _inputs((3, 4), (3, 4), (3, 2, 4))
    loss = L.InfoNCELoss(0.5, symmetric=symmetric, similarity=similarity)
    assert torch.autograd.gradcheck(lambda a, b, c: loss(a, b, c), (q, p, n))


@pytest.mark.parametrize(
    "make, shapes",
    [
        (lambda: (lambda a, b: L.ContrastiveLoss(1.5, "l2")(a, b, torch.tensor([1, 0, 0]))), [(3, 4), (3, 4)]),
        (lambda: (lambda a, b: L.ContrastiveLoss(0.9, "cosine")(a, b, torch.tensor([1, 0, 0]))), [(3, 4), (3, 4)]),
        (lambda: L.TripletLoss(2.0), [(3, 4), (3, 4), (3, 4)]),
        (lambda: L.MarginRankingLoss(3.0, "ip"), [(3, 4), (3, 4), (3, 2, 4)]),
        (lambda: (lambda q, p, n: L.MarginMSELoss()(q, p, n, torch.ones(3, 2, dtype=torch.float64))), [(3, 4), (3, 4), (3, 2, 4)]),
        (lambda: (lambda s: L.KLDistillationLoss(2.0)(s, torch.arange(12.0, dtype=torch.float64).reshape(3, 4))), [(3, 4)]),
    ],
    ids=["contrastive-l2", "contrastive-cos", "triplet", "margin_ranking", "margin_mse", "kl"],
)
def test_pair_losses_gradcheck(make, shapes):
    assert torch.autograd.gradcheck(make(), tuple(_inputs(*shapes, seed=2)))


@pytest.mark.parametrize("mining", ["batch_all", "batch_hard", "semi_hard"])
def test_mined_triplet_gradcheck(mining):
    (x,) = _inputs((8, 3), seed=4)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    loss = L.TripletLoss(1.0, mining=mining)
    assert torch.autograd.gradcheck(lambda e: loss(e, labels=labels), (x,))


# ---------------------------------------------------------------- behaviour and errors


def test_lower_temperature_rewards_a_correct_ranking_more():
    g = torch.Generator().manual_seed(0)
    q = torch.randn(8, 16, generator=g)
    pos = q + 0.3 * torch.randn(8, 16, generator=g)  # positives are the nearest candidates
    values = [L.InfoNCELoss(tau)(q, pos).item() for tau in (1.0, 0.1, 0.02)]
    assert values[0] > values[1] > values[2]


def test_registry_builds_every_loss_and_rejects_unknown_names():
    assert isinstance(L.get("InfoNCE", temperature=0.1), L.InfoNCELoss)
    assert isinstance(L.get("multiple-negatives", scale=10), L.MultipleNegativesRankingLoss)
    assert isinstance(L.get("TripletLoss", mining="batch_hard"), L.TripletLoss)
    for name in L.available():
        assert isinstance(L.get(name), torch.nn.Module)
    with pytest.raises(ValueError, match="unknown loss"):
        L.get("no_such_loss")


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: L.InfoNCELoss(temperature=0), "temperature"),
        (lambda: L.InfoNCELoss(similarity="l1"), "similarity"),
        (lambda: L.TripletLoss(mining="hardest"), "mining"),
        (lambda: L.ContrastiveLoss(distance="l1"), "distance"),
        (lambda: L.KLDistillationLoss(temperature=-1), "temperature"),
    ],
)
def test_bad_knobs_name_the_argument(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_shape_errors_are_explicit(batch):
    q, pos, neg = batch
    with pytest.raises(ValueError, match="neg"):
        L.InfoNCELoss()(q, pos, neg[:4])
    with pytest.raises(ValueError, match="labels"):
        L.TripletLoss(mining="batch_hard")(q, pos)
    with pytest.raises(ValueError, match="teacher_margin"):
        L.MarginMSELoss()(q, pos, neg, torch.zeros(2))


def test_mining_without_valid_triplets_gives_zero_with_gradient():
    x = torch.randn(3, 4, requires_grad=True)
    loss = L.TripletLoss(0.5, mining="batch_hard")(x, labels=torch.tensor([0, 1, 2]))
    loss.backward()
    assert loss.item() == 0.0 and x.grad is not None


def test_infonce_mask_removes_a_false_negative_from_the_softmax():
    q = t([[1.0, 0.0], [0.0, 1.0]])
    keep = torch.tensor([[True, False], [True, True]])  # query 0 must not be pushed from pos 1
    loss = L.InfoNCELoss(1.0, similarity="ip")(q, q.clone(), mask=keep)
    assert loss.item() == pytest.approx((0.0 + math.log(1 + math.exp(-1))) / 2, abs=1e-12)
    with pytest.raises(ValueError, match="mask"):
        L.InfoNCELoss(1.0)(q, q.clone(), mask=~torch.eye(2, dtype=torch.bool))


def test_infonce_accepts_any_number_of_shared_negatives():
    q, p, mem = _inputs((3, 4), (3, 4), (5, 4))
    assert L.InfoNCELoss(0.1).logits(q, p, mem).shape == (3, 8)
