"""Training objectives for a cross-encoder: pointwise, pairwise, listwise, and mixes.

Every loss takes ``scores`` of shape (B, n) — B queries, n candidate documents each — and
``labels`` (B, n) of relevance grades (0 = not relevant), and returns a scalar tensor (mean over
queries). Pointwise losses see each pair alone; pairwise ones compare two documents of one
query; listwise ones the whole list.

| name | formula (per query) | paper |
| --- | --- | --- |
| ``bce`` | -[y log s(z) + (1-y) log(1-s(z))], y = min(grade, 1), smoothed | Nogueira & Cho 2019 (monoBERT) |
| ``mse`` | (z - grade)^2 | regression head |
| ``graded_ce`` | -log softmax(logits)_grade (needs (B, n, C) logits) | multi-class relevance |
| ``ranknet`` | sum_{y_i > y_j} log(1 + exp(-(z_i - z_j))) / #pairs | Burges et al. 2005 |
| ``hinge`` | sum_{y_i > y_j} max(0, m - (z_i - z_j)) / #pairs | Herbrich et al. 2000 (RankSVM) |
| ``softmax_ce`` | -sum_i p_i log softmax(z / T)_i, p = labels / sum(labels) | "listwise CE", Gao et al. 2021 (LCE) |
| ``listnet`` | -sum_i softmax(y)_i log softmax(z)_i | Cao et al. 2007 |
| ``listmle`` | -log prod_i exp(z_pi(i)) / sum_{k>=i} exp(z_pi(k)), pi = order by y | Xia et al. 2008 |
| ``lambda`` | ranknet pairs weighted by |Delta NDCG_ij| | Burges 2010 (LambdaRank); Wang et al. 2018 (LambdaLoss) |

``label_smoothing`` (eps) mixes targets with the uniform: y' = (1-eps) y + eps/2 for BCE and
p' = (1-eps) p + eps/n for the listwise targets. ``mix({"softmax_ce": 1, "bce": 0.5})`` sums
weighted losses (multi-objective training).

>>> z = torch.tensor([[2.0, 0.5, -1.0]]); y = torch.tensor([[1.0, 0.0, 0.0]])
>>> float(softmax_ce(z, y))  # -log softmax(z)_0
0.2413...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F


def _check(scores: torch.Tensor, labels: torch.Tensor, name: str) -> None:
    if scores.shape != labels.shape or scores.dim() != 2:
        raise ValueError(f"{name}: scores {tuple(scores.shape)} and labels {tuple(labels.shape)} must both be (B, n)")


def bce(scores: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Pointwise binary cross-entropy on logits; grade > 0 counts as relevant."""
    _check(scores, labels, "bce")
    y = (labels > 0).to(scores.dtype)
    y = y * (1 - label_smoothing) + label_smoothing / 2
    return F.binary_cross_entropy_with_logits(scores, y)


def mse(scores: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Pointwise regression onto the grade."""
    _check(scores, labels, "mse")
    return F.mse_loss(scores, labels.to(scores.dtype))


def graded_ce(logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Pointwise multi-class CE: ``logits`` (B, n, C), ``labels`` (B, n) integer grades in [0, C)."""
    if logits.dim() != 3 or logits.shape[:2] != labels.shape:
        raise ValueError(f"graded_ce: logits {tuple(logits.shape)} must be (B, n, C) with labels (B, n)")
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten().long(), label_smoothing=label_smoothing)


def _pairs(labels: torch.Tensor) -> torch.Tensor:
    """(B, n, n) mask of pairs (i, j) with label_i > label_j."""
    return (labels[:, :, None] > labels[:, None, :]).to(labels.dtype if labels.is_floating_point() else torch.float32)


def ranknet(scores: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0,
            weights: torch.Tensor | None = None) -> torch.Tensor:
    """Pairwise logistic loss over all pairs with different grades (RankNet)."""
    _check(scores, labels, "ranknet")
    mask = _pairs(labels).to(scores.dtype)
    n_pairs = mask.sum().clamp_min(1.0)
    if weights is not None:  # LambdaLoss: weighted sum, still divided by the number of pairs
        mask = mask * weights
    diff = scores[:, :, None] - scores[:, None, :]
    target = 1.0 - label_smoothing / 2
    # -[t log s(d) + (1-t) log s(-d)]
    loss = target * F.softplus(-diff) + (1 - target) * F.softplus(diff)
    return (loss * mask).sum() / n_pairs


def hinge(scores: torch.Tensor, labels: torch.Tensor, margin: float = 1.0, label_smoothing: float = 0.0) -> torch.Tensor:
    """Pairwise margin loss max(0, margin - (z_pos - z_neg))."""
    _check(scores, labels, "hinge")
    mask = _pairs(labels).to(scores.dtype)
    diff = scores[:, :, None] - scores[:, None, :]
    return (F.relu(margin - diff) * mask).sum() / mask.sum().clamp_min(1.0)


def _smooth(p: torch.Tensor, eps: float) -> torch.Tensor:
    return p * (1 - eps) + eps / p.shape[-1]


def softmax_ce(scores: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0,
               temperature: float = 1.0) -> torch.Tensor:
    """Listwise softmax CE: target p = relevant mass spread over the relevant docs (1 pos + n negs)."""
    _check(scores, labels, "softmax_ce")
    rel = (labels > 0).to(scores.dtype)
    if (rel.sum(-1) == 0).any():
        raise ValueError("softmax_ce: every list needs at least one relevant document")
    p = _smooth(rel / rel.sum(-1, keepdim=True), label_smoothing)
    return -(p * F.log_softmax(scores / temperature, -1)).sum(-1).mean()


def listnet(scores: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """ListNet top-1: CE between softmax(labels) and softmax(scores)."""
    _check(scores, labels, "listnet")
    p = _smooth(F.softmax(labels.to(scores.dtype), -1), label_smoothing)
    return -(p * F.log_softmax(scores, -1)).sum(-1).mean()


def listmle(scores: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """ListMLE: negative Plackett-Luce log-likelihood of the order given by the labels.

    Ties among labels are broken at random (a random permutation before a stable sort).
    """
    _check(scores, labels, "listmle")
    perm = torch.randperm(scores.shape[1], generator=generator, device="cpu").to(scores.device)
    s, y = scores[:, perm], labels[:, perm]
    order = torch.argsort(y, dim=-1, descending=True, stable=True)
    s = torch.gather(s, 1, order)
    # log sum_{k >= i} exp(s_k): reverse cumulative logsumexp
    rev_lse = torch.logcumsumexp(s.flip(-1), -1).flip(-1)
    return (rev_lse - s).sum(-1).mean()


def lambda_loss(scores: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """RankNet pairs weighted by |Delta NDCG| of swapping i and j in the current ranking."""
    _check(scores, labels, "lambda_loss")
    with torch.no_grad():
        y = labels.to(scores.dtype)
        gains = 2.0 ** y - 1
        ranks = torch.argsort(torch.argsort(scores, -1, descending=True), -1).to(scores.dtype)  # 0-based
        disc = 1.0 / torch.log2(ranks + 2.0)
        ideal = torch.sort(gains, -1, descending=True).values
        idcg = (ideal / torch.log2(torch.arange(y.shape[1], device=y.device, dtype=y.dtype) + 2.0)).sum(-1)
        delta = (gains[:, :, None] - gains[:, None, :]).abs() * (disc[:, :, None] - disc[:, None, :]).abs()
        delta = delta / idcg.clamp_min(1e-9)[:, None, None]
    return ranknet(scores, labels, label_smoothing, weights=delta)


def margin_mse(scores: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Distillation: match every (z_0 - z_j) to the teacher's margin (Hofstaetter et al. 2020)."""
    return F.mse_loss(scores[:, :1] - scores[:, 1:], teacher[:, :1] - teacher[:, 1:])


def kl_distill(scores: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Distillation: KL(softmax(teacher/T) || softmax(scores/T)) over each list."""
    p = F.softmax(teacher / temperature, -1)
    return F.kl_div(F.log_softmax(scores / temperature, -1), p, reduction="batchmean") * temperature**2


LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "bce": bce, "mse": mse, "ranknet": ranknet, "hinge": hinge, "softmax_ce": softmax_ce,
    "listnet": listnet, "listmle": listmle, "lambda": lambda_loss,
}


def get_loss(name: str) -> Callable[..., torch.Tensor]:
    """The loss called ``name`` (see ``LOSSES``)."""
    if name not in LOSSES:
        raise ValueError(f"get_loss(name={name!r}): expected one of {sorted(LOSSES)}")
    return LOSSES[name]


def mix(weights: Mapping[str, float], label_smoothing: float = 0.0) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A multi-objective loss: sum_k w_k * loss_k(scores, labels)."""
    fns = {name: get_loss(name) for name in weights}

    def loss(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return sum(w * fns[name](scores, labels, label_smoothing=label_smoothing) for name, w in weights.items())

    return loss
