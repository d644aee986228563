"""Advanced dual-encoder training: teacher distillation, momentum (EMA) teachers, consistency.

One loss, four optional terms, each weighted (a weight of 0 switches a term off)::

    L = w_nce  · InfoNCE(q, d⁺, negatives)                                 (contrastive, as usual)
      + w_kd   · MarginMSE(student, teacher) or KL(teacher ‖ student)      (cross → dual distillation)
      + w_ema  · KL(softmax(s_ema(q, C)/τ) ‖ softmax(s(q, C)/τ))           (momentum self-distillation)
      + w_cons · ½[KL(p₁ ‖ p₂) + KL(p₂ ‖ p₁)],  p_v = softmax(s(aug_v(q), C)/τ)   (consistency)

with C the batch's candidate documents (in-batch positives + hard negatives).

* Distillation (Hofstätter et al. 2020, Margin-MSE; Hinton et al. 2015, KL on soft labels): the
  teacher scores (query, document) pairs — a cross-encoder (:class:`CrossEncoderTeacher`), or any
  stronger scorer, e.g. the same bi-encoder reading 512 tokens (:class:`BiEncoderTeacher`). Teacher
  scores are computed once per pair and cached.
* Momentum teacher (He et al. 2020, MoCo; Tarvainen & Valpola 2017, mean teacher): a frozen copy of
  the student updated after every step as θ_t ← m·θ_t + (1−m)·θ_s (:class:`EMATeacher`).
* Consistency regularisation (Xie et al. 2020, UDA; Sohn et al. 2020): two augmented views of a
  query (``lessonlib.data.augment``: word deletion, reordering) should rank the batch's documents alike.

>>> folder, history = train_distilled(train, teacher=BiEncoderTeacher(max_length=512),
...                                   kd_loss="margin_mse", out_dir="models/kd")   # doctest: +SKIP
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lessonlib.data import augment
from lessonlib.dual import train as dt
from lessonlib.dual.recipe import DualRecipe
from lessonlib.core.config import DEFAULT_MODEL, seed_everything
from lessonlib.cross import CrossEncoder
from lessonlib.data import Dataset
from lessonlib.dual.encoders import DualEncoder
from lessonlib.dual.encoders.dual import embed_tokens, encode_token_ids, towers
from lessonlib.losses import KLDistillationLoss, MarginMSELoss
from lessonlib.core.trainer import Trainer, TrainerConfig
from lessonlib.core.scoring import ScoreFn

# --------------------------------------------------------------------------- teachers


class PairTeacher:
    """A teacher that scores (query, document) pairs, caching every score by (qid, doc id).

    ``score_fn(query_texts, doc_texts) -> (n,) scores``; higher = more relevant.
    """

    name = "teacher"
    temperature: float | None = None  # None: scores are similarities, divided by the student's τ for KL

    def __init__(self, score_fn: ScoreFn | None = None) -> None:
        self.score_fn = score_fn
        self.cache: dict[tuple[str, str], float] = {}

    def _score(self, dataset: Dataset, pairs: list[tuple[str, str]]) -> np.ndarray:
        return np.asarray(self.score_fn([dataset.queries[q] for q, _ in pairs], [dataset.doc_text(d) for _, d in pairs]), dtype=np.float32)

    def scores(self, dataset: Dataset, qids: Sequence[str], doc_ids: Sequence[Sequence[str]]) -> np.ndarray:
        """Teacher scores (B, k) of ``doc_ids[i][j]`` for query ``qids[i]`` (cached)."""
        needed = sorted({(q, d) for q, ds in zip(qids, doc_ids) for d in ds if (q, d) not in self.cache})
        if needed:
            for pair, s in zip(needed, self._score(dataset, needed)):
                self.cache[pair] = float(s)
        return np.array([[self.cache[(q, d)] for d in ds] for q, ds in zip(qids, doc_ids)], dtype=np.float32)


class BiEncoderTeacher(PairTeacher):
    """A dual encoder used as teacher: cosine of embeddings, documents read up to ``max_length``.

    With the zero-shot model and 512 tokens this is a "stronger reader" of the same model — a
    stand-in when no cross-encoder is at hand; embeddings are computed once per text.
    """

    name = "bi-encoder"

    def __init__(self, model_name: str = DEFAULT_MODEL, max_length: int = 512, device: str | None = None) -> None:
        super().__init__()

        self.model = DualEncoder.from_pretrained(model_name, max_length=max_length).to(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model.eval()
        self.max_length = max_length
        self._q: dict[str, np.ndarray] = {}
        self._d: dict[str, np.ndarray] = {}

    def _embed(self, store: dict, ids: list[str], texts: list[str], which: str) -> None:
        todo = [(i, t) for i, t in zip(ids, texts) if i not in store]
        if not todo:
            return
        tower = towers(self.model)[0 if which == "query" else 1]
        tokens = tower.pretokenize([t for _, t in todo])
        emb = encode_token_ids(self.model, which, tokens, self.max_length if which == "doc" else 64, batch_size=64)
        for (i, _), e in zip(todo, emb):
            store[i] = e

    def _score(self, dataset: Dataset, pairs: list[tuple[str, str]]) -> np.ndarray:
        qids = list(dict.fromkeys(q for q, _ in pairs))
        dids = list(dict.fromkeys(d for _, d in pairs))
        self._embed(self._q, qids, [dataset.queries[q] for q in qids], "query")
        self._embed(self._d, dids, [dataset.doc_text(d) for d in dids], "doc")
        return np.array([float(self._q[q] @ self._d[d]) for q, d in pairs], dtype=np.float32)


class CrossEncoderTeacher(PairTeacher):
    """A cross-encoder (``lessonlib.cross.CrossEncoder``, a folder or model id) as teacher."""

    name = "cross-encoder"
    temperature = 1.0  # its scores are logits already: KL distillation uses them as they are

    def __init__(self, model_or_path, batch_size: int = 64) -> None:
        model = model_or_path if not isinstance(model_or_path, (str, Path)) else CrossEncoder.load(model_or_path)
        super().__init__(lambda qs, ds: model.score(list(qs), list(ds), batch_size=batch_size))
        self.model = model


# --------------------------------------------------------------------------- momentum teacher


class EMATeacher:
    """Exponential-moving-average copy of a model: θ_t ← m·θ_t + (1−m)·θ_s after each step.

    Use as a trainer callback (``callbacks=[ema]``: it calls :meth:`update` with the trainer's
    model). Buffers are copied. The teacher never receives gradients.
    """

    def __init__(self, model: torch.nn.Module, momentum: float = 0.999) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"EMATeacher(momentum={momentum}): expected 0 <= momentum < 1")
        self.momentum = float(momentum)
        self.model = copy.deepcopy(model)
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, student: torch.nn.Module) -> None:
        """One EMA step towards ``student``'s current weights."""
        m = self.momentum
        for t, s in zip(self.model.parameters(), student.parameters()):
            t.mul_(m).add_(s.detach(), alpha=1.0 - m)
        for t, s in zip(self.model.buffers(), student.buffers()):
            t.copy_(s)

    def __call__(self, trainer) -> None:
        self.update(trainer.model)


# --------------------------------------------------------------------------- the objective


def consistency_loss(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """Symmetric KL between the softmaxes of two (B, C) logit matrices (two views of each query)."""
    la, lb = F.log_softmax(logits_a, dim=-1), F.log_softmax(logits_b, dim=-1)
    return 0.5 * (F.kl_div(la, lb, log_target=True, reduction="batchmean") + F.kl_div(lb, la, log_target=True, reduction="batchmean"))


def default_views(seed: int = 0) -> Callable[[str, int], str]:
    """An augmentation ``(text, k) -> view``: word deletion (p=0.1) then one word swap (lessonlib.data.augment)."""
    def view(text: str, k: int) -> str:
        s = seed * 1_000_003 + k
        return augment.word_reorder(augment.word_deletion(text, p=0.1, seed=s), n_swaps=1, seed=s + 1)

    return view


def train_distilled(
    train_dataset: Dataset,
    out_dir=None,
    teacher: PairTeacher | str | None = "bi-encoder-512",
    kd_loss: str = "margin_mse",
    kd_weight: float = 1.0,
    nce_weight: float = 1.0,
    ema_momentum: float | None = None,
    ema_weight: float = 0.0,
    consistency_weight: float = 0.0,
    views: Callable[[str, int], str] | None = None,
    kd_temperature: float = 1.0,
    model=None,
    **kwargs: Any,
):
    """Train a dual encoder with any mix of the four terms of the module docstring.

    ``teacher``: a :class:`PairTeacher`, ``"bi-encoder-512"`` (the zero-shot bi-encoder reading 512
    tokens), a cross-encoder folder, or None (no distillation term). ``kd_loss``: ``"margin_mse"``
    (student cosine margins regress the teacher's) or ``"kl"`` (KL between softmaxes over
    [positive, negatives], temperature ``kd_temperature``). Other keyword arguments are
    :func:`lessonlib.dual.train.train_dual` knobs (negatives, n_negatives, epochs, lr...).
    Returns a :class:`lessonlib.dual.train.TrainedDual` ``(model_dir, history, model)`` like ``train_dual``.
    """
    if kd_loss not in {"margin_mse", "kl"}:
        raise ValueError(f"train_distilled(kd_loss={kd_loss!r}): expected 'margin_mse' or 'kl'")
    if ema_weight and ema_momentum is None:
        ema_momentum = 0.99
    device = kwargs.pop("device", None)
    progress = kwargs.pop("progress", True)
    kwargs.pop("teacher_name", None)
    kwargs.setdefault("negatives", "bm25")
    kwargs.setdefault("n_negatives", 1 if kwargs["negatives"] != "none" else 0)
    recipe = DualRecipe(**kwargs)
    seed_everything(recipe.seed)
    started = time.perf_counter()
    if model is None:
        model = dt.model_for(recipe, device)
    dev = str(next(model.parameters()).device)
    if isinstance(teacher, str):
        if teacher.startswith("bi-encoder"):
            length = int(teacher.rsplit("-", 1)[-1]) if teacher[-1].isdigit() else 512
            teacher = BiEncoderTeacher(recipe.model_name if recipe.model_name not in {"bilstm", "cnn"} else DEFAULT_MODEL, max_length=length, device=dev)
        else:
            teacher = CrossEncoderTeacher(teacher)
    use_kd = teacher is not None and kd_weight > 0
    if use_kd and recipe.n_negatives < 1:
        raise ValueError("train_distilled: distillation needs hard negatives (n_negatives >= 1, negatives != 'none')")
    tokens = dt.TokenCache(model).add(train_dataset)
    nce = dt.build_loss(recipe.replace(loss="infonce"))
    kd = MarginMSELoss(similarity="cosine") if kd_loss == "margin_mse" else KLDistillationLoss(temperature=kd_temperature)
    ema = EMATeacher(model, ema_momentum) if ema_momentum is not None else None
    view_fn = views or (default_views(recipe.seed) if consistency_weight else None)
    view_tokens: dict[tuple[str, int], list[int]] = {}
    q_tower = towers(model)[0]
    tau = recipe.temperature
    counter = {"step": 0}

    def view_ids(qid: str, k: int) -> list[int]:
        key = (qid, k)
        if key not in view_tokens:
            view_tokens[key] = q_tower.pretokenize([view_fn(train_dataset.queries[qid], k)])[0]
        return view_tokens[key]

    def loss_fn(m, batch):
        b = len(batch)
        qids = [ex[0] for ex in batch]
        negs = [ex[2] for ex in batch]
        n = len(negs[0])
        docs = [ex[1] for ex in batch] + [d for ng in negs for d in ng]
        doc_len = recipe.train_max_length or recipe.max_length
        q = embed_tokens(m, "query", [tokens.queries[i] for i in qids], recipe.query_max_length).float()
        d = embed_tokens(m, "doc", [tokens.docs[i] for i in docs], doc_len).float()
        pos, neg = d[:b], d[b:].reshape(b, n, -1) if n else None
        logs, total = {}, q.new_zeros(())
        if nce_weight:
            l_nce = nce(q, pos, neg)
            total, logs["nce"] = total + nce_weight * l_nce, float(l_nce)
        if use_kd:
            t = torch.as_tensor(teacher.scores(train_dataset, qids, [[ex[1]] + ex[2] for ex in batch]), device=q.device)
            if kd_loss == "margin_mse":
                l_kd = kd(q, pos, neg, t)
            else:
                cand = torch.cat([pos.unsqueeze(1), neg], dim=1)  # (B, 1+n, d)
                student = torch.einsum("bd,bkd->bk", q, cand) / tau
                l_kd = kd(student, t / (getattr(teacher, "temperature", None) or tau))
            total, logs["kd"] = total + kd_weight * l_kd, float(l_kd)
        logits = q @ d.T / tau  # (B, B + B n): every candidate of the batch
        if ema is not None and ema_weight:
            with torch.no_grad():
                tq = embed_tokens(ema.model, "query", [tokens.queries[i] for i in qids], recipe.query_max_length).float()
                td = embed_tokens(ema.model, "doc", [tokens.docs[i] for i in docs], doc_len).float()
                t_logits = tq @ td.T / tau
            l_ema = F.kl_div(F.log_softmax(logits, -1), F.log_softmax(t_logits, -1), log_target=True, reduction="batchmean")
            total, logs["ema"] = total + ema_weight * l_ema, float(l_ema)
        if view_fn is not None and consistency_weight:
            k = counter["step"]
            qa = embed_tokens(m, "query", [view_ids(i, 2 * k) for i in qids], recipe.query_max_length).float()
            qb = embed_tokens(m, "query", [view_ids(i, 2 * k + 1) for i in qids], recipe.query_max_length).float()
            l_cons = consistency_loss(qa @ d.T / tau, qb @ d.T / tau)
            total, logs["consistency"] = total + consistency_weight * l_cons, float(l_cons)
        counter["step"] += 1
        return total, logs

    initial = None
    if recipe.negatives == "bm25":
        initial = dt.bm25_candidates(train_dataset, depth=recipe.depth)
    elif recipe.negatives in {"dense", "dynamic"}:
        initial = dt.dense_candidates(model, train_dataset, tokens, recipe.max_length, recipe.query_max_length, depth=recipe.depth)
    batches_fn = dt.epoch_batches_fn(model, train_dataset, recipe, tokens, initial)
    cfg = TrainerConfig(lr=recipe.lr, epochs=recipe.epochs, max_steps=recipe.max_steps, warmup=recipe.warmup,
                        weight_decay=recipe.weight_decay, schedule=recipe.schedule, seed=recipe.seed,
                        progress=progress, device=dev)  # fmt: skip
    trainer = Trainer(model, loss_fn, cfg, callbacks=[ema] if ema is not None else [])
    trainer.train(batches_fn)
    history = [dict(h, phase="train") for h in trainer.history]
    history.append({"phase": "done", "seconds": time.perf_counter() - started, "device": dev, "steps": trainer.state.step,
                    "teacher": getattr(teacher, "name", None), "kd_loss": kd_loss if use_kd else None,
                    "ema_momentum": ema_momentum, "consistency_weight": consistency_weight})  # fmt: skip
    folder = dt.save_dual(model, out_dir, recipe, history) if out_dir is not None else None
    return dt.TrainedDual(folder, history, model)
