"""Heads on the cross-encoder's joint pass: classification, regression on a soft target, multi-task.

:class:`lessonlib.cross.model.CrossEncoder` already has the single-task heads on the [CLS] state
(``head="binary"``: a relevance logit; ``head="regression"``: one value; ``head="graded"``). This
module adds what those heads train on and a second task sharing the backbone (notebook 15, section 6):

* **classification** — ``head="binary"``, pointwise BCE on the label, ``σ(s) = P(relevant)``
  (monoBERT, Nogueira & Cho 2019).
* **regression** — ``head="regression"``, MSE onto a *soft* target (:func:`soft_target_groups`)::

      t(d) = y(d)                                      if d is judged relevant
      t(d) = beta * (b(d) - min_L b) / (max_L b - min_L b)   otherwise

  with b the first stage's (BM25's) score and L the training list: a negative that BM25 ranks
  high is "almost relevant", one it ranks low is 0 — graded relevance without graded labels, the
  score-regression view of monoBERT's pointwise objective.
* **multi-task** — :class:`MultiTaskCrossEncoder`: the binary relevance head plus a 3-way
  claim-label head (SUPPORT / CONTRADICT / NOT_ENOUGH_INFO, SciFact's labels; Wadden et al. 2020)
  on the same pooled [CLS] state; the loss (:func:`multitask_loss_fn`) is::

      L = BCE(s, y) + label_weight * CE(W_label h_[CLS] + b_label, claim label)

  hard parameter sharing (Caruana 1997): the label task has to read *what the abstract says
  about the claim*, which a relevance head can ignore.

>>> mt = MultiTaskCrossEncoder(max_length=128)                             # doctest: +SKIP
>>> groups = claim_label_groups(groups, claims_for(train_ds))              # doctest: +SKIP
>>> train_multitask(mt, groups, label_weight=1.0, max_steps=100)           # doctest: +SKIP
>>> mt.predict_labels([("claim", "abstract")])                             # doctest: +SKIP
['SUPPORT']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import torch

from lessonlib.core.trainer import fit
from lessonlib.cross.data import Group
from lessonlib.cross.model import CrossEncoder
from lessonlib.losses.ranking import bce
from lessonlib.tasks.claim_verification import LABELS, ClaimSet

#: Label ids of the multi-task head, in :data:`lessonlib.tasks.claim_verification.LABELS` order.
LABEL_IDS = {name: i for i, name in enumerate(LABELS)}


def soft_target_groups(groups: Sequence[Group], first_stage: Mapping[str, Mapping[str, float]],
                       beta: float = 0.5) -> list[Group]:
    """Copies of ``groups`` whose labels are the soft regression targets of the module docstring.

    The documents come from ``g.meta["doc_ids"]`` (what :func:`lessonlib.cross.data.groups_from_run`
    stores); a document missing from the first stage counts as the list's minimum. ``beta`` in
    [0, 1) keeps every negative below a relevant document's grade (>= 1).
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"soft_target_groups(beta={beta}): must be in [0, 1)")
    out = []
    for g in groups:
        ids = g.meta.get("doc_ids")
        if ids is None or len(ids) != len(g.docs):
            raise ValueError(f"soft_target_groups: group {g.qid!r} has no meta['doc_ids'] for its {len(g.docs)} documents")
        scores = first_stage.get(g.qid, {})
        b = np.array([scores.get(d, np.nan) for d in ids], dtype=np.float64)
        b = np.where(np.isnan(b), np.nanmin(b) if np.isfinite(b).any() else 0.0, b)
        span = b.max() - b.min()
        unit = (b - b.min()) / span if span > 0 else np.zeros_like(b)
        labels = [float(y) if y > 0 else float(beta * u) for y, u in zip(g.labels, unit)]
        out.append(replace(g, labels=labels, meta={**g.meta, "target": "soft"}))
    return out


def claim_label_groups(groups: Sequence[Group], claims: ClaimSet) -> list[Group]:
    """Copies of ``groups`` with ``meta["claim_labels"]``: the SciFact label id of every (claim, document).

    SUPPORT / CONTRADICT for evidence abstracts, NOT_ENOUGH_INFO for the rest (negatives, and cited
    abstracts without evidence). Groups of claims that ``claims`` does not hold are an error.
    """
    out = []
    for g in groups:
        claim = claims.claims.get(g.qid)
        if claim is None:
            raise ValueError(f"claim_label_groups: query {g.qid!r} is not a claim of the {claims.split} claims")
        ids = g.meta.get("doc_ids", [])
        if len(ids) != len(g.docs):
            raise ValueError(f"claim_label_groups: group {g.qid!r} has no meta['doc_ids'] for its documents")
        out.append(replace(g, meta={**g.meta, "claim_labels": [LABEL_IDS[claim.label_for(d)] for d in ids]}))
    return out


class MultiTaskCrossEncoder(CrossEncoder):
    """A binary-head :class:`CrossEncoder` plus a claim-label head on the same [CLS] state.

    ``forward`` (so ``score``, ``rerank``, every tool of ``lessonlib.cross``) returns the relevance
    logit; :meth:`label_logits` returns the (B, n_labels) label logits of the last forward pass;
    :meth:`predict_labels` labels pairs. The label head is saved in the model config and restored by
    ``CrossEncoder.load``. Args: those of :class:`CrossEncoder` (the head is always ``"binary"``),
    plus ``n_labels`` (3: SciFact's labels).
    """

    scoring = "cls-multitask"

    def __init__(self, *args, n_labels: int = len(LABELS), **kwargs) -> None:
        kwargs["head"] = "binary"
        super().__init__(*args, **kwargs)
        hidden = self.model.config.hidden_size
        saved = getattr(self.model.config, "lessonlib_label_head", None)
        self.label_head = torch.nn.Linear(hidden, len(saved["bias"]) if saved else n_labels)
        if saved:
            with torch.no_grad():
                self.label_head.weight.copy_(torch.tensor(saved["weight"]))
                self.label_head.bias.copy_(torch.tensor(saved["bias"]))
        self.label_head.to(self.device)
        self._hidden: torch.Tensor | None = None
        self.model.base_model.register_forward_hook(self._keep_hidden)

    def _keep_hidden(self, module, inputs, output) -> None:
        pooled = getattr(output, "pooler_output", None)
        self._hidden = pooled if pooled is not None else output.last_hidden_state[:, 0]

    def _save_config_extras(self, cfg) -> None:
        cfg.lessonlib_label_head = {"weight": self.label_head.weight.detach().cpu().tolist(),
                                    "bias": self.label_head.bias.detach().cpu().tolist()}

    def label_logits(self) -> torch.Tensor:
        """(B, n_labels) logits of the claim-label head for the batch of the last forward pass."""
        if self._hidden is None:
            raise ValueError("MultiTaskCrossEncoder.label_logits: run a forward pass first")
        return self.label_head(self._hidden)

    @torch.no_grad()
    def predict_labels(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> list[str]:
        """The arg-max claim label of each (claim, abstract) pair."""
        was = self.model.training
        self.model.eval()
        out: list[str] = []
        for s in range(0, len(pairs), batch_size):
            chunk = pairs[s: s + batch_size]
            self(**self.encode_pairs([p[0] for p in chunk], [p[1] for p in chunk]))
            out += [LABELS[i] for i in self.label_logits().argmax(-1).tolist()]
        self.model.train(was)
        return out


def multitask_loss_fn(label_weight: float = 1.0):
    """``loss_fn(model, groups) -> (scalar, logs)``: BCE on relevance + ``label_weight`` * CE on the claim label."""
    if label_weight < 0:
        raise ValueError(f"multitask_loss_fn(label_weight={label_weight}): must be >= 0")

    def loss_fn(model: MultiTaskCrossEncoder, groups: Sequence[Group]):
        n = len(groups[0].docs)
        if any(len(g.docs) != n for g in groups):
            raise ValueError("multitask_loss_fn: all groups of a batch need the same number of documents")
        if any("claim_labels" not in g.meta for g in groups):
            raise ValueError("multitask_loss_fn: groups need meta['claim_labels'] (claim_label_groups)")
        feats = model.encode_pairs([g.query for g in groups for _ in g.docs], [d for g in groups for d in g.docs])
        scores = model(**feats).float().view(len(groups), n)
        y = torch.tensor([g.labels for g in groups], dtype=torch.float32, device=scores.device)
        rel = bce(scores, y)
        target = torch.tensor([c for g in groups for c in g.meta["claim_labels"]], device=scores.device)
        lab = torch.nn.functional.cross_entropy(model.label_logits().float(), target)
        return rel + label_weight * lab, {"rank_loss": float(rel.detach()), "label_loss": float(lab.detach())}

    return loss_fn


def train_multitask(model: MultiTaskCrossEncoder, groups: Sequence[Group], label_weight: float = 1.0,
                    epochs: int = 1, max_steps: int | None = None, batch_size: int = 8, lr: float = 3e-5,
                    seed: int = 0, progress: bool = False) -> list[dict]:
    """Fine-tune both heads and the shared backbone with :func:`multitask_loss_fn` through
    :func:`lessonlib.core.trainer.fit` (AdamW, warm-up + linear decay, clipping at 1); returns the history."""
    if not groups:
        raise ValueError("train_multitask(groups=[]): nothing to train on")
    fitted = fit(model, list(groups), multitask_loss_fn(label_weight), collate=lambda items: items, lr=lr,
                 epochs=epochs, max_steps=max_steps, batch_size=batch_size, seed=seed, progress=progress,
                 bf16=False, device=str(model.device), deterministic=False)
    return fitted.history
