"""The monoBERT training recipe of ``bench/bench_cross.py``, as one function with three sizes.

Stages (Nogueira & Cho 2019 for the model; the rest is what moved SciFact's figure, FINDINGS.md):

1. **weak supervision** (no labels): a document's title is the query and its own abstract the
   positive (Chang et al. 2020), plus inverse-cloze pairs (a sentence -> the rest of its abstract,
   Lee et al. 2019); negatives are BM25's best other abstracts;
2. **claims**: each training claim with one cited abstract and ``n_negatives`` hard negatives from
   the first-stage run's top ``neg_depth`` (BM25, dense or their RRF hybrid; Gao et al. 2021:
   negatives from the retriever being re-ranked matter), listwise softmax cross-entropy, AdamW with
   warm-up and linear decay, early stopping on a VALIDATION split carved from train;
3. **interpolation** (at test time, :func:`rerank_and_fuse`): ``z(CE) + alpha * z(first stage)``
   with alpha chosen on the validation split (Wang et al. 2021), because a reranker alone throws
   away what the first stage knew.

Sizes: ``GPU`` is bench_cross.py's headline recipe (0.760 nDCG@10 on SciFact test on an H100,
bench/results/cross_h100.txt); ``CPU`` fits a learner's 2-core laptop in about ten minutes (shorter
training pairs, fewer negatives, one epoch, a shallower re-ranking depth, and pooled scoring, which
needs no training to start ranking); ``FAST`` is CI-sized.

>>> recipe = CrossRecipe.for_mode()                         # FAST / CPU / GPU by mode and device
>>> out = train_monobert(train, neg_run, fit_q, val_q, recipe, val_run=bm25_train)   # doctest: +SKIP
>>> report = rerank_and_fuse(out.model, train, test, first_val, first_test, recipe.eval_k)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from lessonlib.core import config
from lessonlib.core.recipe import Recipe
from lessonlib.data.augment import word_deletion
from lessonlib.cross.data import Group, groups_from_run, inverse_cloze_groups, subset_qrels, weak_title_groups
from lessonlib.cross.model import scoring_class
from lessonlib.cross.train import train_cross_encoder
from lessonlib.evaluation.metrics import ndcg10
from lessonlib.retrieval.rerank import choose_alpha, interpolate_first_stage, rerank
from lessonlib.core.runs import Run, truncate


@dataclass(frozen=True)
class CrossRecipe(Recipe):
    """Every knob of :func:`train_monobert` (the stored values are the defaults: ``CrossRecipe.GPU``).

    ``weak_title_docs``: documents used for title -> abstract pairs (None = all, 0 = none);
    ``ict_docs``: inverse-cloze pairs (0 = none); ``augment_queries``: extra copies of each claim list
    whose claim has words deleted (``lessonlib.data.augment.word_deletion``, p = 0.15);
    ``train_max_length``: tokens per training pair (None = ``max_length``, the scoring length);
    ``scoring``: how the joint pass becomes a score, ``"cls"`` (monoBERT: a new linear layer on the
    [CLS] state, random until trained) or ``"pooled"`` (:class:`lessonlib.cross.pooled.PooledCrossEncoder`:
    the cosine of the pooled query and document states, the backbone's own scoring rule, so it ranks
    sensibly before any training); ignored when :func:`train_monobert` is given a ``model``;
    ``eval_k``: depth re-ranked on validation and test; ``val_queries``: validation queries used
    for early stopping after every epoch (None = all, 0 = no early stopping); ``bf16``: autocast where the device has native bf16
    (a recent GPU, a CPU with AMX or AVX512-BF16; fp32 elsewhere and with ``LESSONLIB_PRECISION=fp32``).
    """

    loss: str = "softmax_ce"
    scoring: str = "cls"
    n_negatives: int = 15
    neg_depth: int = 50
    weak_title_docs: int | None = None
    ict_docs: int = 2000
    weak_epochs: int = 1
    weak_max_steps: int | None = None
    augment_queries: int = 0
    epochs: int = 6
    max_steps: int | None = None
    batch_size: int = 8
    grad_accum: int = 1
    lr: float = 3e-5
    warmup: float = 0.1
    weight_decay: float = 0.01
    layer_decay: float | None = None
    label_smoothing: float = 0.0
    max_grad_norm: float | None = 1.0
    dropout: float | None = None
    max_length: int = 256
    train_max_length: int | None = None
    eval_k: int = 100
    val_queries: int | None = None
    bf16: bool = True
    seed: int = 0


CrossRecipe.GPU = CrossRecipe()
# Sized among variants trained in fp32 on a GPU (bench/results/cross_recipe_h200.txt): ~6,300 training
# pairs, i.e. about 10 minutes on 2 idle CPU cores; the weak stage matters most (0.57 vs 0.38 alone).
# Pooled scoring: at this budget a fresh [CLS] head stays below BM25 alone (CE 0.53-0.57, + BM25 0.684-0.703);
# the pooled cosine starts from the backbone's own ranking and reaches 0.686 alone, 0.713 with BM25 (+0.028) in
# notebook 15's full run on 2 CPU cores (bench/results/nb15_cpu.txt; other seeds: cross_recipe_cpu.txt).
CrossRecipe.CPU = CrossRecipe(scoring="pooled", n_negatives=3, neg_depth=30, weak_title_docs=800, ict_docs=0, epochs=1, batch_size=8,
             lr=5e-5, max_length=256, train_max_length=128, eval_k=20, val_queries=0)
CrossRecipe.FAST = CrossRecipe(scoring="pooled", n_negatives=3, neg_depth=20, weak_title_docs=16, ict_docs=0, epochs=1, max_steps=6,
              batch_size=4, lr=5e-5, max_length=128, train_max_length=96, eval_k=10, val_queries=0)



@dataclass
class Trained:
    """What :func:`train_monobert` returns."""

    model: object
    history: list[dict]
    n_weak: int
    n_claims: int
    train_seconds: float
    weak_seconds: float
    val_curve: list[tuple[int, float]] = field(default_factory=list)  # (step, validation nDCG@10)
    pairs_seen: int = 0  # (query, document) pairs through forward + backward


def weak_groups(train_ds, recipe: CrossRecipe):
    """Weak-supervision lists: title -> own abstract, then inverse-cloze sentences (see the module docstring)."""
    groups = []
    if recipe.weak_title_docs != 0:
        groups += weak_title_groups(train_ds, n_negatives=recipe.n_negatives, seed=recipe.seed,
                                    max_docs=recipe.weak_title_docs)
    if recipe.ict_docs:
        groups += inverse_cloze_groups(train_ds, n_negatives=recipe.n_negatives, seed=recipe.seed + 1,
                                       max_docs=recipe.ict_docs)
    return groups


def claim_groups(train_ds, negatives_run: Mapping[str, Mapping[str, float]], fit_qids: Sequence[str], recipe: CrossRecipe):
    """Claim lists of the FIT queries: 1 cited abstract + ``n_negatives`` from the run's top ``neg_depth``;
    plus ``augment_queries`` copies of each with words deleted from the claim."""
    groups = groups_from_run(train_ds, negatives_run, n_negatives=recipe.n_negatives, depth=recipe.neg_depth,
                             seed=recipe.seed, qrels=subset_qrels(train_ds.qrels, fit_qids))
    extra = []
    for copy in range(recipe.augment_queries):
        for i, g in enumerate(groups):
            q = word_deletion(g.query, p=0.15, seed=recipe.seed * 1000 + copy * 100_003 + i)
            extra.append(Group(g.qid, q if q.strip() else g.query, g.docs, g.labels, meta={**g.meta, "augmented": True}))
    return groups + extra


def train_monobert(train_ds, negatives_run: Mapping[str, Mapping[str, float]], fit_qids: Sequence[str],
                   val_qids: Sequence[str], recipe: CrossRecipe | None = None, val_run: Mapping | None = None,
                   model=None, progress: bool = True, model_name: str = config.DEFAULT_MODEL) -> Trained:
    """Train a cross-encoder with ``recipe``: weak stage, then claims with early stopping on validation.

    Args:
        train_ds: the TRAIN split (``lessonlib.data.Dataset``).
        negatives_run: first-stage run of the train queries; claim negatives come from its top ``neg_depth``.
        fit_qids, val_qids: ``lessonlib.data.split_queries(train_ds.qrels)``; only fit queries train.
        val_run: run whose top ``eval_k`` is re-ranked on validation (default ``negatives_run``).
        model: a ``CrossEncoder`` to continue from (default: a fresh one on ``model_name``, MiniLM).

    Returns a :class:`Trained` with the model holding the weights of the best validation epoch.
    """
    recipe = recipe or CrossRecipe.for_mode()
    config.seed_everything(recipe.seed)
    model_class = scoring_class(recipe.scoring)
    if model is None:
        model = model_class(model_name, max_length=recipe.max_length, overflow="truncate", dropout=recipe.dropout)
    val_run = negatives_run if val_run is None else val_run
    val_q = sorted(q for q in val_qids if q in val_run and q in train_ds.qrels)
    if recipe.val_queries is not None:
        val_q = val_q[: recipe.val_queries]
    qrels_val = subset_qrels(train_ds.qrels, val_q)
    train_len = recipe.train_max_length or recipe.max_length
    knobs = dict(loss=recipe.loss, batch_size=recipe.batch_size, lr=recipe.lr, warmup=recipe.warmup,
                 weight_decay=recipe.weight_decay, max_grad_norm=recipe.max_grad_norm, grad_accum=recipe.grad_accum,
                 layer_decay=recipe.layer_decay, label_smoothing=recipe.label_smoothing, seed=recipe.seed,
                 progress=progress, bf16=recipe.bf16)

    def eval_fn(m):
        m.max_length = recipe.max_length
        try:
            r = rerank(m, train_ds, truncate(val_run, recipe.eval_k, val_q), k=recipe.eval_k, show_progress=False)
        finally:
            m.max_length = train_len
        return {"ndcg@10": ndcg10(qrels_val, r)}

    weak = weak_groups(train_ds, recipe)
    claims = claim_groups(train_ds, negatives_run, fit_qids, recipe)
    if not claims:
        raise ValueError("train_monobert: no training claim has a relevant document in the run's corpus")
    history: list[dict] = []
    pairs = 0
    model.max_length = train_len
    t0 = time.perf_counter()
    try:
        if weak:
            h = train_cross_encoder(model, weak, epochs=recipe.weak_epochs, max_steps=recipe.weak_max_steps,
                                    **{**knobs, "loss": "softmax_ce"})
            history += [{**x, "stage": "weak"} for x in h]
            pairs += _pairs_seen(h, recipe, len(weak[0].docs))
        weak_s = time.perf_counter() - t0
        steps_per_epoch = -(-len(claims) // (recipe.batch_size * recipe.grad_accum))
        every = steps_per_epoch if recipe.max_steps is None else max(1, min(steps_per_epoch, recipe.max_steps))
        stop = {} if not val_q else dict(eval_fn=eval_fn, eval_every=every, select_metric="ndcg@10")
        h = train_cross_encoder(model, claims, epochs=recipe.epochs, max_steps=recipe.max_steps, **stop, **knobs)
        history += [{**x, "stage": "claims"} for x in h]
        pairs += _pairs_seen(h, recipe, len(claims[0].docs))
    finally:
        model.max_length = recipe.max_length
    curve = [(x["step"], x["eval"]["ndcg@10"]) for x in history if "eval" in x]
    return Trained(model, history, len(weak), len(claims), time.perf_counter() - t0, weak_s, curve, pairs)


def _pairs_seen(history: list[dict], recipe: CrossRecipe, docs_per_group: int) -> int:
    steps = sum(1 for x in history if "loss" in x)
    return steps * recipe.batch_size * recipe.grad_accum * docs_per_group


def score_candidates(model, data, runs: Sequence[Mapping[str, Mapping[str, float]]], k: int,
                     qids: Sequence[str] | None = None, batch_size: int = 64, progress: bool = False) -> tuple[Run, float]:
    """Cross-encoder scores of the union of the runs' top ``k`` (each pair scored once), and the seconds it took.

    Returns (run of CE scores over the union, wall seconds). Restrict it to one first stage's top k
    with :func:`restrict`.
    """
    union: Run = {}
    for run in runs:
        for q, docs in truncate(run, k, qids).items():
            union.setdefault(q, {}).update({d: 0.0 for d in docs})
    width = max(len(v) for v in union.values())
    t0 = time.perf_counter()
    scores = rerank(model, data, union, k=width, batch_size=batch_size, show_progress=progress)
    return scores, time.perf_counter() - t0


def restrict(scores: Mapping[str, Mapping[str, float]], run: Mapping[str, Mapping[str, float]], k: int) -> Run:
    """The CE scores of ``run``'s top ``k`` documents only."""
    return {q: {d: scores[q][d] for d in docs} for q, docs in truncate(run, k, [q for q in run if q in scores]).items()}


ALPHAS = (*np.round(np.arange(0, 2.01, 0.1), 2).tolist(), 3.0, 5.0, 10.0)


def rerank_and_fuse(scores_val: Mapping, scores_test: Mapping, first_val: Mapping, first_test: Mapping,
                    qrels_val: Mapping, qrels_test: Mapping, k: int, alphas: Sequence[float] = ALPHAS) -> dict:
    """First stage vs CE alone vs CE + alpha * first stage (alpha chosen on validation), nDCG@10.

    ``scores_*`` are CE scores covering each first stage's top ``k`` (:func:`score_candidates`).
    ``alphas`` is the grid searched on validation; its large values (10: the first stage with the
    CE as a tie-breaker) let validation fall back to the first stage when the CE adds nothing.
    Returns ``{"first", "alone", "fused", "alpha", "val_first", "val_fused", "alpha_curve"}``.
    """
    ce_val, ce_test = restrict(scores_val, first_val, k), restrict(scores_test, first_test, k)
    fv, ft = truncate(first_val, k, list(ce_val)), truncate(first_test, k, list(ce_test))
    alpha, curve = choose_alpha(ce_val, fv, qrels_val, alphas=alphas)
    return {
        "first": ndcg10(qrels_test, ft), "alone": ndcg10(qrels_test, ce_test),
        "fused": ndcg10(qrels_test, interpolate_first_stage(ce_test, ft, alpha)), "alpha": alpha,
        "val_first": ndcg10(qrels_val, fv), "val_fused": curve[alpha], "alpha_curve": curve,
    }

