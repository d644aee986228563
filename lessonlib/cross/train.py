"""The monoBERT training recipe on top of ``lessonlib.core.trainer.Trainer``.

One step: B groups (1 positive + n negatives each) -> B*(n+1) pairs ``[CLS] q [SEP] d [SEP]`` ->
scores reshaped to (B, n+1) -> a ranking objective (``lessonlib.losses.ranking``), optionally
plus ``distill_weight * margin_mse(scores, teacher)`` when the groups carry teacher scores.
The Trainer does AdamW, warm-up + linear decay, clipping, accumulation, layer-wise LR decay,
bf16 autocast where the device has native bf16, checkpoints, and early stopping on a validation metric
(``eval_fn`` + ``select_metric``).

>>> ce = CrossEncoder()
>>> history = train_cross_encoder(ce, groups, loss="softmax_ce", epochs=1, batch_size=8)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from lessonlib.cross.data import Group
from lessonlib.losses.ranking import get_loss, margin_mse, mix
from lessonlib.core.trainer import fit


def make_loss_fn(loss: str | Mapping[str, float] = "softmax_ce", label_smoothing: float = 0.0,
                 distill_weight: float = 0.0) -> Callable:
    """``loss_fn(model, groups) -> (scalar, logs)`` for the Trainer."""
    objective = mix(loss, label_smoothing) if isinstance(loss, Mapping) else None
    if objective is None:
        fn = get_loss(loss)

        def objective(s, y):
            return fn(s, y, label_smoothing=label_smoothing)

    def loss_fn(model, groups: Sequence[Group]):
        n = len(groups[0].docs)
        if any(len(g.docs) != n for g in groups):
            raise ValueError("train_cross_encoder: all groups of a batch need the same number of documents")
        queries = [g.query for g in groups for _ in g.docs]
        docs = [d for g in groups for d in g.docs]
        feats = model.encode_pairs(queries, docs)
        scores = model(**feats).float().view(len(groups), n)
        labels = torch.tensor([g.labels for g in groups], dtype=torch.float32, device=scores.device)
        value = objective(scores, labels)
        logs = {"rank_loss": float(value.detach())}
        if distill_weight and groups[0].teacher is not None:
            teacher = torch.tensor([g.teacher for g in groups], dtype=torch.float32, device=scores.device)
            d = margin_mse(scores, teacher)
            logs["distill"] = float(d.detach())
            value = value + distill_weight * d
        return value, logs

    return loss_fn


def train_cross_encoder(
    model,
    groups: Sequence[Group],
    loss: str | Mapping[str, float] = "softmax_ce",
    epochs: int = 1,
    batch_size: int = 16,
    lr: float = 3e-5,
    warmup: float = 0.1,
    weight_decay: float = 0.01,
    max_grad_norm: float | None = 1.0,
    grad_accum: int = 1,
    layer_decay: float | None = None,
    label_smoothing: float = 0.0,
    distill_weight: float = 0.0,
    max_steps: int | None = None,
    eval_fn: Callable | None = None,
    eval_every: int | None = None,
    select_metric: str | None = None,
    seed: int = 0,
    progress: bool = True,
    bf16: bool = True,
) -> list[dict]:
    """Fine-tune ``model`` (a ``CrossEncoder``) on ``groups`` through :func:`lessonlib.core.trainer.fit`;
    returns the history. Introduced in notebook 15.

    ``eval_fn(model) -> {"ndcg@10": ...}`` on a validation split, every ``eval_every`` steps, with
    ``select_metric`` restores the best weights at the end (early stopping).
    """
    if not groups:
        raise ValueError("train_cross_encoder(groups=[]): nothing to train on")
    fitted = fit(model, list(groups), make_loss_fn(loss, label_smoothing, distill_weight),
                 eval_fn=(lambda m: eval_fn(model)) if eval_fn is not None else None, collate=lambda items: items,
                 lr=lr, weight_decay=weight_decay, warmup=warmup, epochs=epochs, max_steps=max_steps,
                 batch_size=batch_size, grad_accum=grad_accum, max_grad_norm=max_grad_norm, layer_decay=layer_decay,
                 seed=seed, progress=progress, bf16=bf16, eval_every=eval_every, select_metric=select_metric,
                 device=str(model.device), deterministic=False)  # fmt: skip
    return fitted.history
