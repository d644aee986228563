"""Optimising a cross-encoder, measured: what each objective pushes, and what each knob does.

* :func:`objective_gradients`: every ranking loss of ``lessonlib.losses.ranking`` on the SAME
  lists of scores, with d loss / d score per document (pointwise losses push each document on its
  own; pairwise ones only where the order is wrong or the margin thin; listwise ones spread a
  softmax's mass).
* :func:`list_statistics`: the symptoms of the pointwise-BCE collapse (FINDINGS.md): scores near the
  class prior logit(1 / (n+1)), little spread within a list, and exact ties once scores are
  rounded to bfloat16, as a bf16 forward pass returns them.
* :func:`smoothed_optimum`: with label smoothing eps the loss has a finite minimiser,
  BCE: z* = log((1 - eps/2) / (eps/2)); listwise CE over n documents: z_pos - z_neg =
  log((1 - eps + eps/n) / (eps/n)) (Szegedy et al. 2016; Mueller, Kornblith & Hinton 2019).
* :func:`accumulated_gradient`: the gradient the Trainer applies for one optimizer step when the
  step's lists are cut into micro-batches (gradient accumulation: sum of loss_b / n_micro).
* :func:`lessonlib.core.trainer.set_dropout` / :func:`dropout_spread`: the dropout rate of every ``nn.Dropout``, and how
  much scores move between two training-mode passes (Srivastava et al. 2014).
* :func:`bf16_agreement`: fp32 vs bf16-autocast scores of the same pairs (Micikevicius et al. 2018).

>>> z = torch.tensor([[2.0, 0.5, -1.0]]); y = torch.tensor([[1.0, 0.0, 0.0]])
>>> objective_gradients(z, y)["softmax_ce"]["grad"][0]   # softmax(z) - onehot
array([-0.2143...,  0.1753...,  0.0391...], dtype=float32)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from lessonlib.losses.ranking import get_loss, listmle
from lessonlib.cross.train import make_loss_fn

RANKING_LOSSES = ("bce", "ranknet", "hinge", "softmax_ce", "listnet", "listmle", "lambda")
FAMILY = {"bce": "pointwise", "mse": "pointwise", "ranknet": "pairwise", "hinge": "pairwise",
          "softmax_ce": "listwise", "listnet": "listwise", "listmle": "listwise", "lambda": "listwise (pairs x |dNDCG|)"}


def objective_gradients(scores: torch.Tensor, labels: torch.Tensor, names: Sequence[str] = RANKING_LOSSES,
                        seed: int = 0) -> dict[str, dict]:
    """Each loss on the same (B, n) scores and labels: ``{name: {"value": float, "grad": (B, n) array}}``.

    ``grad`` is d loss / d scores (a negative value raises that document's score under gradient
    descent). ListMLE breaks label ties at random with a generator seeded by ``seed``.
    """
    if scores.shape != labels.shape or scores.dim() != 2:
        raise ValueError(f"objective_gradients: scores {tuple(scores.shape)} and labels {tuple(labels.shape)} must be (B, n)")
    out = {}
    for name in names:
        z = scores.detach().clone().float().requires_grad_(True)
        if name == "listmle":
            value = listmle(z, labels.float(), generator=torch.Generator().manual_seed(seed))
        else:
            value = get_loss(name)(z, labels.float())
        (grad,) = torch.autograd.grad(value, z)
        out[name] = {"value": float(value.detach()), "grad": grad.numpy(), "family": FAMILY.get(name, "")}
    return out


def list_statistics(model, groups, batch_size: int = 64) -> dict[str, float]:
    """How a model scores training-style lists (``docs[0]`` relevant, the rest negatives).

    Returns ``mean`` (over all pairs), ``spread`` (mean within-list standard deviation), ``gap``
    (mean z_pos - mean z_neg), ``pos_first`` (share of lists whose relevant document scores
    highest), ``bf16_ties`` (share of lists with at least one exact tie after rounding the scores
    to bfloat16).
    """
    if not groups:
        raise ValueError("list_statistics(groups=[]): need at least one list")
    n = len(groups[0].docs)
    if any(len(g.docs) != n for g in groups):
        raise ValueError("list_statistics: every list needs the same number of documents")
    pairs = [(g.query, d) for g in groups for d in g.docs]
    z = np.asarray(model.score(pairs, batch_size=batch_size), dtype=np.float32).reshape(len(groups), n)
    zb = torch.tensor(z).to(torch.bfloat16).float().numpy()
    ties = np.mean([len(np.unique(row)) < n for row in zb])
    return {
        "mean": float(z.mean()), "spread": float(z.std(axis=1).mean()),
        "gap": float((z[:, 0] - z[:, 1:].mean(1)).mean()), "pos_first": float((z.argmax(1) == 0).mean()),
        "bf16_ties": float(ties),
    }


def smoothed_optimum(label_smoothing: float, n_docs: int | None = None) -> float:
    """The loss-minimising logit with label smoothing eps in (0, 1).

    ``n_docs=None``: BCE on a positive, z* = log((1 - eps/2) / (eps/2)). Otherwise listwise softmax
    CE over ``n_docs`` documents with one positive: the optimal gap z_pos - z_neg =
    log((1 - eps + eps/n) / (eps/n)). Without smoothing (eps = 0) both are +infinity.
    """
    eps = float(label_smoothing)
    if not 0.0 <= eps < 1.0:
        raise ValueError(f"smoothed_optimum(label_smoothing={eps}): expected 0 <= eps < 1")
    if eps == 0.0:
        return math.inf
    if n_docs is None:
        return math.log((1 - eps / 2) / (eps / 2))
    if n_docs < 2:
        raise ValueError(f"smoothed_optimum(n_docs={n_docs}): a list needs >= 2 documents")
    return math.log((1 - eps + eps / n_docs) / (eps / n_docs))


def accumulated_gradient(model, groups, micro_batch: int, loss: str = "softmax_ce") -> torch.Tensor:
    """Flattened gradient of one optimizer step over ``groups``, computed in micro-batches of ``micro_batch`` lists.

    Same arithmetic as ``lessonlib.core.trainer.Trainer``: sum over micro-batches of
    d(loss_b / n_micro) / d theta. With equal micro-batches (and dropout off) it equals the gradient of
    the whole batch in one pass, up to float rounding. Returns a 1-d float32 tensor (all parameters).
    """
    if micro_batch < 1:
        raise ValueError(f"accumulated_gradient(micro_batch={micro_batch}): must be >= 1")
    loss_fn = make_loss_fn(loss)
    chunks = [groups[i: i + micro_batch] for i in range(0, len(groups), micro_batch)]
    params = [p for p in model.parameters() if p.requires_grad]
    model.zero_grad(set_to_none=True)
    for chunk in chunks:
        value, _ = loss_fn(model, chunk)
        (value / len(chunks)).backward()
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten().float().cpu() for p in params])
    model.zero_grad(set_to_none=True)
    return flat


@torch.no_grad()
def dropout_spread(ce, pairs: Sequence[tuple[str, str]], passes: int = 4) -> float:
    """Mean over pairs of the standard deviation of a pair's score across ``passes`` training-mode forwards.

    0 in eval mode or with dropout 0; it is the noise dropout injects into every training step.
    """
    if passes < 2:
        raise ValueError(f"dropout_spread(passes={passes}): need >= 2 passes")
    queries, docs = [q for q, _ in pairs], [d for _, d in pairs]
    feats = ce.encode_pairs(queries, docs)
    was_training = ce.model.training
    ce.model.train()
    try:
        runs = torch.stack([ce(**feats).float().cpu() for _ in range(passes)])
    finally:
        ce.model.train(was_training)
    return float(runs.std(0).mean())


@torch.no_grad()
def bf16_agreement(ce, pairs: Sequence[tuple[str, str]]) -> dict[str, float]:
    """fp32 vs bfloat16-autocast scores of the same pairs on the model's device.

    Returns ``max_abs_diff``, ``spearman`` (rank correlation of the two score vectors) and
    ``distinct_fp32`` / ``distinct_bf16`` (number of distinct score values).
    """
    from scipy.stats import spearmanr

    queries, docs = [q for q, _ in pairs], [d for _, d in pairs]
    feats = ce.encode_pairs(queries, docs)
    was_training = ce.model.training
    ce.model.eval()
    try:
        fp32 = ce(**feats).float().cpu().numpy()
        with torch.autocast(ce.device.type, dtype=torch.bfloat16):
            bf16 = ce(**feats).float().cpu().numpy()
    finally:
        ce.model.train(was_training)
    rho = float(spearmanr(fp32, bf16).statistic) if len(pairs) > 2 else float("nan")
    return {"max_abs_diff": float(np.abs(fp32 - bf16).max()), "spearman": rho,
            "distinct_fp32": int(len(np.unique(fp32))), "distinct_bf16": int(len(np.unique(bf16)))}
