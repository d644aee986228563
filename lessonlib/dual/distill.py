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
* Multi-teacher distillation (:class:`EnsembleTeacher`): several teachers (BM25, a cross-encoder),
  each z-normalised, averaged with weights (Hofstätter et al. 2021, TAS-B's ensemble of teachers).
* Progressive distillation (``n_layers``: a student with MiniLM's bottom layers only, taught by an
  intermediate dual encoder, ``teacher="bi-encoder:<folder>"``; Mirzadeh et al. 2020, teacher assistants)
  and temporal ensembling of weights (``save_ema``: the EMA copy is saved beside the student;
  Laine & Aila 2017, Tarvainen & Valpola 2017).

>>> folder, history, model = train_distilled(train, teacher=BiEncoderTeacher(max_length=512),
...                                   kd_loss="margin_mse", out_dir="models/kd")   # doctest: +SKIP
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lessonlib.core.config import DEFAULT_MODEL, seed_everything
from lessonlib.core.scoring import ScoreFn
from lessonlib.core.trainer import fit
from lessonlib.cross import CrossEncoder
from lessonlib.data import Dataset, augment
from lessonlib.dual import train as dt
from lessonlib.dual.encoders import DualEncoder
from lessonlib.dual.encoders.dual import embed_tokens, encode_token_ids, towers
from lessonlib.dual.recipe import DualRecipe
from lessonlib.losses import KLDistillationLoss, MarginMSELoss
from lessonlib.retrieval.bm25 import BM25

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
    """A cross-encoder (``lessonlib.cross.CrossEncoder``, a folder or model id) as teacher.

    A folder saved by ``lessonlib.workbook.trained.finetuned_cross`` is scored with the token limit of
    its recipe (read from its ``training.json``), documents cut to fit (``overflow="truncate"``).
    """

    name = "cross-encoder"
    temperature = 1.0  # its scores are logits already: KL distillation uses them as they are

    def __init__(self, model_or_path, batch_size: int = 64) -> None:
        model = model_or_path if not isinstance(model_or_path, (str, Path)) else CrossEncoder.load(model_or_path, **_cross_limits(model_or_path))
        super().__init__(lambda qs, ds: model.score(list(qs), list(ds), batch_size=batch_size))
        self.model = model


def _cross_limits(folder: str | Path) -> dict:
    """``max_length`` (and truncation) from the recipe a workbook cross-encoder folder was trained with."""
    info = Path(folder) / "training.json"
    if not info.exists():
        return {}
    recipe = json.loads(info.read_text()).get("recipe", {})
    return {"max_length": int(recipe["max_length"]), "overflow": "truncate"} if "max_length" in recipe else {}


class BM25Teacher(PairTeacher):
    """BM25 (``lessonlib.retrieval.bm25.BM25``, fitted on the training corpus) as a teacher.

    score(q, d) = Σ_{t ∈ q} idf(t) · tf(t,d)(k1+1) / (tf(t,d) + k1(1 − b + b·|d|/avgdl)) (Robertson & Zaragoza 2009);
    a lexical teacher that knows exact term matches, which a dual encoder tends to miss.
    """

    name = "bm25"

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        super().__init__()
        self.bm25 = BM25(k1=k1, b=b)
        self._col: dict[str, int] = {}

    def _score(self, dataset: Dataset, pairs: list[tuple[str, str]]) -> np.ndarray:
        if getattr(self.bm25, "doc_ids_", None) != dataset.doc_ids:
            self.bm25.fit(dataset.doc_texts(), dataset.doc_ids)
            self._col = {d: i for i, d in enumerate(dataset.doc_ids)}
        qids = list(dict.fromkeys(q for q, _ in pairs))
        row = {q: i for i, q in enumerate(qids)}
        matrix = self.bm25.score_matrix([dataset.queries[q] for q in qids]).tocsr()
        return np.array([float(matrix[row[q], self._col[d]]) for q, d in pairs], dtype=np.float32)


class EnsembleTeacher(PairTeacher):
    """Several teachers combined: a weighted average of their z-normalised scores, on the student's scale.

        t(q, d) = scale · Σ_k w_k (t_k(q, d) − μ_k) / σ_k  /  Σ_k w_k

    μ_k, σ_k: mean and standard deviation of teacher k's scores over the pairs given to
    :meth:`calibrate` (``train_distilled`` passes the first epoch's (query, positive, negatives) pairs).
    Normalising puts BM25 scores (0-40), cross-encoder logits and cosines on one footing; ``scale``
    (default 0.2, about the spread of MiniLM's cosines between a claim and its candidates) brings the
    average to the range of the student's cosine margins, which Margin-MSE regresses onto it.
    With one teacher this is that teacher, normalised. Multi-teacher distillation: Hofstätter et al.
    2021 (TAS-B: an ensemble of BERT_CAT and ColBERT teachers); Zhang et al. 2023 surveys per-teacher weights.

    >>> t = EnsembleTeacher([BM25Teacher(), CrossEncoderTeacher("models/ce")], weights=[0.5, 0.5])  # doctest: +SKIP
    """

    name = "ensemble"

    def __init__(self, teachers: Sequence[PairTeacher], weights: Sequence[float] | None = None, scale: float = 0.2) -> None:
        super().__init__()
        if not teachers:
            raise ValueError("EnsembleTeacher(teachers=[]): need at least one teacher")
        weights = [1.0] * len(teachers) if weights is None else [float(w) for w in weights]
        if len(weights) != len(teachers) or any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"EnsembleTeacher(weights={weights}): expected {len(teachers)} non-negative weights, not all 0")
        if not scale > 0:
            raise ValueError(f"EnsembleTeacher(scale={scale}): expected scale > 0")
        self.teachers, self.weights, self.scale = list(teachers), weights, float(scale)
        self.name = "+".join(t.name for t in self.teachers)
        self.stats_: list[tuple[float, float]] | None = None

    def calibrate(self, dataset: Dataset, qids: Sequence[str], doc_ids: Sequence[Sequence[str]]) -> EnsembleTeacher:
        """Fix μ_k and σ_k from every teacher's scores of these (query, documents) lists."""
        self.stats_ = []
        for t in self.teachers:
            flat = t.scores(dataset, qids, doc_ids).ravel()
            self.stats_.append((float(flat.mean()), float(flat.std()) or 1.0))
        return self

    def _score(self, dataset: Dataset, pairs: list[tuple[str, str]]) -> np.ndarray:
        qids, docs = [q for q, _ in pairs], [[d] for _, d in pairs]
        if self.stats_ is None:
            self.calibrate(dataset, qids, docs)
        total = np.zeros(len(pairs), dtype=np.float64)
        for t, w, (mu, sd) in zip(self.teachers, self.weights, self.stats_):
            total += w * (t.scores(dataset, qids, docs)[:, 0] - mu) / sd
        return (self.scale * total / sum(self.weights)).astype(np.float32)


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


class DistillationObjective:
    """``loss_fn(model, batch)`` for the trainer: the weighted sum of the module docstring's four terms.

    A batch is a list of ``[qid, positive, [negatives]]`` (:func:`lessonlib.dual.train.epoch_batches_fn`);
    ``weights`` maps ``"nce" | "kd" | "ema" | "consistency"`` to its weight (0 or missing: off).
    """

    def __init__(self, dataset: Dataset, recipe: DualRecipe, tokens: dt.TokenCache, weights: dict[str, float],
                 teacher: PairTeacher | None = None, kd_loss: str = "margin_mse", kd_temperature: float = 1.0,
                 ema: EMATeacher | None = None, views: Callable[[str, int], str] | None = None) -> None:
        self.dataset, self.recipe, self.tokens, self.teacher, self.ema, self.views = dataset, recipe, tokens, teacher, ema, views
        self.weights = {k: w for k, w in weights.items() if w}
        self.kd_loss = kd_loss
        self.nce = dt.build_loss(recipe.replace(loss="infonce"))
        self.kd = MarginMSELoss(similarity="cosine") if kd_loss == "margin_mse" else KLDistillationLoss(temperature=kd_temperature)
        self.tau = recipe.temperature
        self.step = 0
        self._view_tokens: dict[tuple[str, int], list[int]] = {}

    def embed(self, model, qids: Sequence[str], docs: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        r = self.recipe
        q = embed_tokens(model, "query", [self.tokens.queries[i] for i in qids], r.query_max_length).float()
        d = embed_tokens(model, "doc", [self.tokens.docs[i] for i in docs], r.train_max_length or r.max_length).float()
        return q, d

    def __call__(self, model, batch) -> tuple[torch.Tensor, dict]:
        b, n = len(batch), len(batch[0][2])
        qids = [ex[0] for ex in batch]
        docs = [ex[1] for ex in batch] + [d for ex in batch for d in ex[2]]
        q, d = self.embed(model, qids, docs)
        pos, neg = d[:b], d[b:].reshape(b, n, -1) if n else None
        terms = {}
        if "nce" in self.weights:
            terms["nce"] = self.nce(q, pos, neg)
        if "kd" in self.weights:
            terms["kd"] = self.distillation(batch, q, pos, neg)
        if "ema" in self.weights:
            terms["ema"] = self.momentum(qids, docs, q @ d.T / self.tau)
        if "consistency" in self.weights:
            terms["consistency"] = self.consistency(model, qids, d)
        self.step += 1
        total = sum((self.weights[k] * v for k, v in terms.items()), q.new_zeros(()))
        return total, {k: float(v) for k, v in terms.items()}

    def distillation(self, batch, q, pos, neg) -> torch.Tensor:
        """Margin-MSE or KL against the teacher's scores of [positive, negatives]."""
        t = torch.as_tensor(self.teacher.scores(self.dataset, [ex[0] for ex in batch], [[ex[1]] + ex[2] for ex in batch]),
                            device=q.device)
        if self.kd_loss == "margin_mse":
            return self.kd(q, pos, neg, t)
        student = torch.einsum("bd,bkd->bk", q, torch.cat([pos.unsqueeze(1), neg], dim=1)) / self.tau  # (B, 1+n)
        return self.kd(student, t / (getattr(self.teacher, "temperature", None) or self.tau))

    def momentum(self, qids, docs, logits: torch.Tensor) -> torch.Tensor:
        """KL from the EMA teacher's softmax over the batch's candidates to the student's."""
        with torch.no_grad():
            tq, td = self.embed(self.ema.model, qids, docs)
        return F.kl_div(F.log_softmax(logits, -1), F.log_softmax(tq @ td.T / self.tau, -1), log_target=True,
                        reduction="batchmean")

    def consistency(self, model, qids, d: torch.Tensor) -> torch.Tensor:
        """Symmetric KL between two augmented views of each query (views 2k and 2k+1 at step k)."""
        qa = embed_tokens(model, "query", [self.view_ids(i, 2 * self.step) for i in qids], self.recipe.query_max_length).float()
        qb = embed_tokens(model, "query", [self.view_ids(i, 2 * self.step + 1) for i in qids], self.recipe.query_max_length).float()
        return consistency_loss(qa @ d.T / self.tau, qb @ d.T / self.tau)

    def view_ids(self, qid: str, k: int) -> list[int]:
        if (qid, k) not in self._view_tokens:
            q_tower = towers(self.tokens.model)[0]
            self._view_tokens[qid, k] = q_tower.pretokenize([self.views(self.dataset.queries[qid], k)])[0]
        return self._view_tokens[qid, k]


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
    n_layers: int | None = None,
    save_ema: bool = False,
    model=None,
    device: str | None = None,
    progress: bool = True,
    **changes: Any,
) -> dt.TrainedDual:
    """Train a dual encoder with any mix of the four terms of the module docstring. Introduced in notebook 04.

    ``teacher``: a :class:`PairTeacher`, ``"bi-encoder-512"`` (the zero-shot bi-encoder reading 512
    tokens), a cross-encoder folder, or None (no distillation term). ``kd_loss``: ``"margin_mse"``
    (student cosine margins regress the teacher's) or ``"kl"`` (KL between softmaxes over
    [positive, negatives], temperature ``kd_temperature``). ``n_layers``: keep only the bottom
    ``n_layers`` transformer layers of the student (:func:`truncate_layers`; a smaller student for
    progressive distillation). ``save_ema``: also save the EMA copy (temporal ensembling of the
    weights) in ``<out_dir>/ema``. Keyword ``changes`` are
    :class:`lessonlib.dual.recipe.DualRecipe` knobs (negatives, n_negatives, epochs, lr...).
    Returns a :class:`lessonlib.dual.train.TrainedDual` ``(model_dir, history, model)`` like ``train_dual``.
    """
    if kd_loss not in {"margin_mse", "kl"}:
        raise ValueError(f"train_distilled(kd_loss={kd_loss!r}): expected 'margin_mse' or 'kl'")
    changes.setdefault("negatives", "bm25")
    changes.setdefault("n_negatives", 1 if changes["negatives"] != "none" else 0)
    recipe = DualRecipe(**changes)
    seed_everything(recipe.seed)
    started = time.perf_counter()
    model = dt.model_for(recipe, device) if model is None else model
    if n_layers is not None:
        truncate_layers(model, n_layers)
    dev = str(next(model.parameters()).device)
    teacher = make_teacher(teacher, recipe, dev)
    if teacher is not None and kd_weight > 0 and recipe.n_negatives < 1:
        raise ValueError("train_distilled: distillation needs hard negatives (n_negatives >= 1, negatives != 'none')")
    if save_ema and ema_momentum is None:
        raise ValueError("train_distilled(save_ema=True): needs ema_momentum (the EMA to save)")
    ema = EMATeacher(model, 0.99 if ema_momentum is None else ema_momentum) if ema_weight or ema_momentum is not None else None
    tokens = dt.TokenCache(model).add(train_dataset)
    weights = {"nce": nce_weight, "kd": kd_weight if teacher is not None else 0.0, "ema": ema_weight,
               "consistency": consistency_weight}
    objective = DistillationObjective(train_dataset, recipe, tokens, weights, teacher, kd_loss, kd_temperature, ema,
                                      views or (default_views(recipe.seed) if consistency_weight else None))
    batches = dt.epoch_batches_fn(model, train_dataset, recipe, tokens, dt.initial_candidates(model, train_dataset, tokens, recipe))
    if isinstance(teacher, EnsembleTeacher) and "kd" in objective.weights:
        first = [ex for batch in batches(0) for ex in batch]
        teacher.calibrate(train_dataset, [ex[0] for ex in first], [[ex[1]] + ex[2] for ex in first])
    fitted = fit(model, batches, objective, recipe, callbacks=[ema] if ema is not None else [], device=dev,
                 progress=progress, eval_every=None)
    history = [dict(h, phase="train") for h in fitted.history]
    history.append({"phase": "done", "seconds": time.perf_counter() - started, "device": dev, "steps": fitted.steps,
                    "teacher": getattr(teacher, "name", None), "kd_loss": kd_loss if "kd" in objective.weights else None,
                    "ema_momentum": ema.momentum if ema is not None else None,
                    "consistency_weight": consistency_weight})  # fmt: skip
    folder = dt.save_dual(model, out_dir, recipe, history) if out_dir is not None else None
    if folder is not None and save_ema:
        dt.save_dual(ema.model, Path(folder) / "ema", recipe, history)
    return dt.TrainedDual(folder, history, model)


def truncate_layers(model: DualEncoder, n_layers: int) -> DualEncoder:
    """Keep the bottom ``n_layers`` transformer layers of every tower of ``model`` (in place; returned).

    A smaller student that starts from the teacher family's own lower layers (DistilBERT initialises
    from every other layer, Sanh et al. 2019; TinyBERT / MiniLM distil into fewer layers). Cost and
    latency fall roughly in proportion: the encoder is ``n_layers / L`` of the original.
    """
    for tower in dict.fromkeys(towers(model)):
        backbone = getattr(getattr(tower, "model", None), "encoder", None)
        layers = getattr(backbone, "layer", None)
        if layers is None:
            raise ValueError(f"truncate_layers: tower {type(tower).__name__} has no transformer layers to keep")
        if not 1 <= n_layers <= len(layers):
            raise ValueError(f"truncate_layers(n_layers={n_layers}): expected 1..{len(layers)}")
        backbone.layer = torch.nn.ModuleList(list(layers)[:n_layers])
        tower.model.config.num_hidden_layers = n_layers
    return model


def make_teacher(teacher: PairTeacher | str | None, recipe: DualRecipe, device: str) -> PairTeacher | None:
    """A :class:`PairTeacher` from its name (names make the cache keys of ``lessonlib.workbook.trained``).

    ``"bi-encoder-<tokens>"``: the recipe's model reading that many document tokens;
    ``"bi-encoder:<folder>"``: a trained dual encoder (progressive distillation's intermediate student);
    ``"bm25"``: :class:`BM25Teacher`; ``"cross:<folder>"`` or a bare folder: :class:`CrossEncoderTeacher`;
    ``"mix:<w>*<name>+<w>*<name>"``: an :class:`EnsembleTeacher` of those names (weights optional, default 1),
    e.g. ``"mix:bm25+cross:models/ce"`` or ``"mix:cross:models/ce"`` (one teacher, normalised).
    """
    if not isinstance(teacher, str):
        return teacher
    if teacher.startswith("mix:"):
        parts, weights = [], []
        for term in teacher[4:].split("+"):
            weight, _, name = term.rpartition("*") if "*" in term else ("1", "", term)
            try:
                weights.append(float(weight))
            except ValueError:
                raise ValueError(f"make_teacher({teacher!r}): weight {weight!r} is not a number") from None
            parts.append(make_teacher(name.strip(), recipe, device))
        return EnsembleTeacher(parts, weights)
    if teacher == "bm25":
        return BM25Teacher()
    if teacher.startswith("bi-encoder:"):
        return BiEncoderTeacher(teacher.split(":", 1)[1], max_length=recipe.max_length, device=device)
    if teacher.startswith("bi-encoder"):
        length = int(teacher.rsplit("-", 1)[-1]) if teacher[-1].isdigit() else 512
        name = recipe.model_name if recipe.model_name not in {"bilstm", "cnn"} else DEFAULT_MODEL
        return BiEncoderTeacher(name, max_length=length, device=device)
    return CrossEncoderTeacher(teacher.split(":", 1)[1] if teacher.startswith("cross:") else teacher)
