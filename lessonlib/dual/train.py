"""Fine-tuning a dual encoder: (query, positive) pairs → batches with negatives → :class:`Trainer`.

The recipe (DPR, Karpukhin et al. 2020; Sentence-BERT, Reimers & Gurevych 2019):

1. every judged (query, relevant document) pair of the train split is one example;
2. examples are shuffled into batches in which no query and no positive appears twice (a repeated
   positive would be an in-batch *false* negative);
3. each example gets ``n_negatives`` hard negatives — ``"none"`` (in-batch only), ``"random"``,
   ``"bm25"`` (BM25's top ranks), ``"dense"`` (the starting model's top ranks) or ``"dynamic"``
   (re-mined from the model being trained at every epoch; ANCE, Xiong et al. 2021), drawn by the
   samplers notebook 03 teaches (:func:`negative_sampler`): the top ``depth`` of the ranking with
   every judged-relevant document removed, then the next ``skip_top`` skipped. Skipping the very top
   ranks filters likely *false negatives*: unjudged documents that are in fact relevant
   (RocketQA, Qu et al. 2021);
4. the loss is InfoNCE over in-batch positives + all hard negatives of the batch, with
   temperature τ (``"mnrl"``/``"infonce"``), or a triplet / margin-ranking loss;
5. optionally, weak supervision first: the corpus alone gives (title → abstract) pairs or inverse
   cloze pairs (a sentence → the rest of its abstract; Lee et al. 2019, ORQA) — no labels needed.

Training batches are JSON (ids only), so a run killed mid-epoch resumes with the same negatives.

Validation discipline: :meth:`lessonlib.data.Dataset.split_validation` carves a validation split
out of the *train* queries; choose epochs and knobs on it (``val_dataset=...`` keeps the best evaluation's weights) and report
on the test split only.

>>> model_dir, history = train_dual(load_dataset("scifact", "train"), out_dir="models/ft",
...                                 negatives="bm25", epochs=3)            # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from lessonlib.dual import distributed as D
from lessonlib import losses
from lessonlib.core.config import DEFAULT_MODEL, seed_everything
from lessonlib.data import Dataset, relevant_pairs
from lessonlib.dual.encoders import BiLSTMTower, CNNTower, DualEncoder
from lessonlib.dual.encoders.dual import embed_tokens, encode_token_ids, towers
from lessonlib.core.io import atomic_write
from lessonlib.dual.recipe import DualRecipe
from lessonlib.evaluation.metrics import evaluate
from lessonlib.core.runs import Run, scores_to_run
from lessonlib.core.trainer import fit, set_dropout
from lessonlib.dual.samplers import BM25Negatives, DenseHardNegatives, NegativeSampler, RandomNegatives



# --------------------------------------------------------------------------- data


def weak_supervision_dataset(dataset: Dataset, kind: str = "ict", seed: int = 0, keep_sentence: float = 0.1) -> Dataset:
    """Pseudo-labelled pairs made from the corpus alone (no query, no label).

    ``kind="title"``: query = a document's title, positive = its abstract (title removed).
    ``kind="ict"`` (inverse cloze task, Lee, Chang & Toutanova 2019): query = one random sentence
    of the abstract, positive = title + the abstract without that sentence (the sentence is kept
    with probability ``keep_sentence``, so that lexical overlap is still rewarded a little).
    Returns a :class:`Dataset` whose queries are ``"<kind>:<doc id>"`` and whose corpus holds the
    pseudo positives under the original doc ids.
    """
    if kind not in {"title", "ict"}:
        raise ValueError(f"weak_supervision_dataset(kind={kind!r}): expected 'title' or 'ict'")
    rng = np.random.default_rng(seed)
    queries, qrels, corpus = {}, {}, {}
    for did, doc in dataset.corpus.items():
        title, text = (doc.get("title") or "").strip(), (doc.get("text") or "").strip()
        if kind == "title":
            if not title or not text:
                continue
            query, positive = title, {"title": "", "text": text}
        else:
            sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 4]
            if len(sentences) < 2:
                continue
            j = int(rng.integers(len(sentences)))
            query = sentences[j]
            rest = sentences if rng.random() < keep_sentence else sentences[:j] + sentences[j + 1 :]
            positive = {"title": title, "text": " ".join(rest)}
        qid = f"{kind}:{did}"
        queries[qid], qrels[qid], corpus[did] = query, {did: 1}, positive
    return Dataset(f"{dataset.name}-{kind}", corpus, queries, qrels, kind, {"weak_supervision": kind})


def no_duplicate_batches(examples: Sequence, batch_size: int, rng: np.random.Generator, drop_last: bool = False) -> list[list]:
    """Shuffle ``examples`` (``(qid, pos_id, ...)``) into batches where no qid or pos id repeats.

    An example that would repeat one is deferred to a later batch (sentence-transformers'
    ``NoDuplicatesBatchSampler`` does the same).
    """
    pending = [examples[int(i)] for i in rng.permutation(len(examples))]
    batches: list[list] = []
    while pending:
        batch, seen, rest = [], set(), []
        for ex in pending:
            keys = {("q", ex[0]), ("d", ex[1])}
            if len(batch) < batch_size and not keys & seen:
                batch.append(ex)
                seen |= keys
            else:
                rest.append(ex)
        batches.append(batch)
        pending = rest
    if drop_last and batches and len(batches[-1]) < batch_size:
        batches.pop()
    return batches


def negative_sampler(recipe: DualRecipe, dataset: Dataset, run: Run | None, seed: int) -> NegativeSampler:
    """The taught sampler (:mod:`lessonlib.dual.samplers`, notebook 03) that ``recipe.negatives`` names.

    ``"random"``: :class:`RandomNegatives`; ``"bm25"``: :class:`BM25Negatives` over ``run``;
    ``"dense"`` / ``"dynamic"``: :class:`DenseHardNegatives` over ``run`` (the dense ranking of the
    starting model, or of the model being trained for ``"dynamic"``). Ranked samplers take the top
    ``recipe.depth`` of the run, remove every judged-relevant document, skip the next
    ``recipe.skip_top`` (likely false negatives; RocketQA) and draw uniformly from the rest, filling
    with random documents where the pool runs short.
    """
    if recipe.negatives == "random":
        return RandomNegatives(dataset.doc_ids, seed=seed, qrels=dataset.qrels)
    ranked = BM25Negatives if recipe.negatives == "bm25" else DenseHardNegatives
    return ranked(run or {}, depth=recipe.depth, skip_top=recipe.skip_top, pick="random", seed=seed,
                  qrels=dataset.qrels, doc_ids=dataset.doc_ids)


# --------------------------------------------------------------------------- model access


class TokenCache:
    """Token ids of every text a run needs, tokenised once (no truncation; cut per batch)."""

    def __init__(self, model) -> None:
        self.model = model
        self.queries: dict[str, list[int]] = {}
        self.docs: dict[str, list[int]] = {}

    def add(self, dataset: Dataset) -> TokenCache:
        q_tower, d_tower = towers(self.model)
        new_q = [q for q in dataset.queries if q not in self.queries]
        for q, ids in zip(new_q, q_tower.pretokenize([dataset.queries[q] for q in new_q])):
            self.queries[q] = ids
        new_d = [d for d in dataset.corpus if d not in self.docs]
        for d, ids in zip(new_d, d_tower.pretokenize([dataset.doc_text(d) for d in new_d])):
            self.docs[d] = ids
        return self


def dense_candidates(model, dataset: Dataset, tokens: TokenCache, doc_max_length: int, query_max_length: int, depth: int = 100, batch_size: int = 128) -> dict[str, dict[str, float]]:
    """A dense run (top ``depth``) of ``dataset``'s queries over its corpus with the current model."""
    doc_ids, qids = dataset.doc_ids, list(dataset.queries)
    d = encode_token_ids(model, "doc", [tokens.docs[i] for i in doc_ids], doc_max_length, batch_size)
    q = encode_token_ids(model, "query", [tokens.queries[i] for i in qids], query_max_length, batch_size)
    return scores_to_run(qids, doc_ids, q @ d.T, k=depth)


def bm25_candidates(dataset: Dataset, depth: int = 100) -> dict[str, dict[str, float]]:
    """BM25 run (top ``depth``) of ``dataset``'s queries over its corpus (lessonlib.retrieval.bm25)."""
    from lessonlib.retrieval.bm25 import BM25  # deferred: pulls in scipy

    bm25 = BM25().fit(dataset.doc_texts(), dataset.doc_ids)
    return bm25.retrieve(dataset, k=depth)


# --------------------------------------------------------------------------- the recipe


def build_loss(recipe: DualRecipe) -> torch.nn.Module:
    """The loss module a recipe names (from :mod:`lessonlib.losses`)."""
    if recipe.loss in {"mnrl", "infonce"}:
        return losses.InfoNCELoss(temperature=recipe.temperature, symmetric=recipe.symmetric)
    if recipe.loss == "triplet":
        return losses.TripletLoss(margin=recipe.margin, distance="cosine")
    return losses.MarginRankingLoss(margin=recipe.margin)


def dual_loss_fn(recipe: DualRecipe, tokens: TokenCache, criterion: torch.nn.Module, ddp_pair: torch.nn.Module | None = None):
    """``loss_fn(model, batch)`` for the trainer; a batch is a list of ``[qid, pos, [negs]]``.

    ``ddp_pair``: a DistributedDataParallel-wrapped :class:`lessonlib.dual.distributed.TowerPair` of the
    same model. Then the batch is this rank's slice of the global batch, embeddings go through DDP
    (gradients averaged over ranks) and InfoNCE scores every local query against the positives and
    negatives gathered from all ranks (:func:`lessonlib.dual.distributed.gathered_infonce_with_negatives`).
    """
    def loss_fn(model, batch):
        qids = [ex[0] for ex in batch]
        docs = [ex[1] for ex in batch] + [d for ex in batch for d in ex[2]]
        q_tok, d_tok = [tokens.queries[i] for i in qids], [tokens.docs[i] for i in docs]
        if ddp_pair is not None:
            q, d = ddp_pair(q_tok, d_tok)
        else:
            q = embed_tokens(model, "query", q_tok, recipe.query_max_length)
            d = embed_tokens(model, "doc", d_tok, recipe.train_max_length or recipe.max_length)
        b = len(batch)
        pos, neg = d[:b], d[b:]
        n = len(batch[0][2])
        if ddp_pair is not None and recipe.loss in {"mnrl", "infonce"}:
            loss = D.gathered_infonce_with_negatives(q.float(), pos.float(), neg.float().reshape(b, n, -1) if n else None,
                                                     recipe.temperature, criterion.similarity)
            mean = loss.detach().clone()
            D.dist.all_reduce(mean)  # logged: the global batch's loss, not rank 0's share
            return loss, {"loss_global": float(mean) / D.world_size()}
        if recipe.loss in {"mnrl", "infonce"}:
            return criterion(q.float(), pos.float(), neg.float().reshape(b, n, -1) if n else None)
        # triplet-style losses: one negative per query (the first)
        first = neg.reshape(b, n, -1)[:, 0]
        return criterion(q.float(), pos.float(), first.float())

    return loss_fn


def make_eval_fn(val_dataset: Dataset, tokens: TokenCache, recipe: DualRecipe, measures=("ndcg@10", "recall@100")):
    """``eval_fn(model) -> {measure: value}`` on a validation split (full ranking of its corpus)."""
    def eval_fn(model):
        run = dense_candidates(model, val_dataset, tokens, recipe.max_length, recipe.query_max_length, depth=100)
        return evaluate(val_dataset.qrels, run, list(measures))

    return eval_fn


def initial_candidates(model, dataset: Dataset, tokens: TokenCache, recipe: DualRecipe) -> Run | None:
    """The ranking the first epoch's negatives come from: BM25's, the starting model's, or none."""
    if recipe.negatives == "bm25":
        return bm25_candidates(dataset, depth=recipe.depth)
    if recipe.negatives in {"dense", "dynamic"}:
        return dense_candidates(model, dataset, tokens, recipe.max_length, recipe.query_max_length, depth=recipe.depth)
    return None


def epoch_batches_fn(model, dataset: Dataset, recipe: DualRecipe, tokens: TokenCache, initial: Run | None = None):
    """``epoch -> batches`` for the trainer: shuffled duplicate-free batches + negatives.

    ``initial`` is the run the negatives are taken from (:func:`initial_candidates`); with
    ``negatives="dynamic"`` every later epoch re-mines it with the model being trained (ANCE with
    the refresh at each epoch boundary; :class:`lessonlib.dual.samplers.DynamicHardNegatives` does
    the same every k steps). Each epoch's batches and negatives depend only on ``(seed, epoch)``, so
    a resumed run sees the same ones.
    """
    pairs = relevant_pairs(dataset.qrels, dataset.queries, dataset.corpus)
    if not pairs:
        raise ValueError(f"train_dual(train_dataset={dataset.name!r}): no relevant (query, document) pairs")

    def make(epoch: int) -> list:
        rng = np.random.default_rng([recipe.seed, epoch])
        batches = no_duplicate_batches(pairs, recipe.batch_size, rng)
        if recipe.negatives == "none" or recipe.n_negatives == 0:
            return [[[q, p, []] for q, p in batch] for batch in batches]
        run = initial
        if recipe.negatives == "dynamic" and epoch > 0:
            run = dense_candidates(model, dataset, tokens, recipe.max_length, recipe.query_max_length, depth=recipe.depth)
        sampler = negative_sampler(recipe, dataset, run, seed=int(rng.integers(2**31)))
        return [[[q, p, negs] for (q, p), negs in
                 zip(batch, sampler.sample([q for q, _ in batch], [[p] for _, p in batch], recipe.n_negatives))]
                for batch in batches]

    return make


def model_for(recipe: DualRecipe, device: str | None = None):
    """A dual encoder for a recipe: a pretrained transformer, or a BiLSTM / CNN tower from scratch.

    ``model_name="bilstm"`` / ``"cnn"`` builds that tower over MiniLM's tokenizer (embeddings learnt
    from scratch); anything else is a pretrained model id or folder.
    """
    name = recipe.model_name
    tokenizer = recipe.extra.get("tokenizer", os.environ.get("LESSONLIB_MODEL", DEFAULT_MODEL))
    if name == "bilstm":
        pooling = recipe.pooling if recipe.pooling in {"mean", "max", "attention"} else "max"
        model = DualEncoder(BiLSTMTower(tokenizer, pooling=pooling, max_length=recipe.max_length, seed=recipe.seed))
    elif name == "cnn":
        model = DualEncoder(CNNTower(tokenizer, max_length=recipe.max_length, seed=recipe.seed))
    else:
        model = DualEncoder.from_pretrained(name, pooling=recipe.pooling, max_length=recipe.max_length,
                                            query_max_length=recipe.query_max_length, seed=recipe.seed)
    return model.to(device or ("cuda" if torch.cuda.is_available() else "cpu"))


def scratch_tower(recipe: DualRecipe) -> bool:
    """A small tower trained from scratch (BiLSTM / CNN): trained in fp32, without bf16 autocast."""
    return recipe.model_name in {"bilstm", "cnn"}


def weak_pretraining(model, dataset: Dataset, recipe: DualRecipe, device: str, progress: bool) -> list[dict]:
    """Stage 1 of a recipe with ``pretrain``: in-batch InfoNCE on :func:`weak_supervision_dataset` pairs."""
    weak = weak_supervision_dataset(dataset, recipe.pretrain, seed=recipe.seed)
    if recipe.pretrain_max_pairs and len(weak.queries) > recipe.pretrain_max_pairs:
        keep = list(weak.queries)[: recipe.pretrain_max_pairs]
        weak = Dataset(weak.name, weak.corpus, {q: weak.queries[q] for q in keep}, {q: weak.qrels[q] for q in keep},
                       weak.split, weak.meta)
    tokens = TokenCache(model).add(weak)
    weak_recipe = recipe.replace(negatives="none", n_negatives=0, loss="infonce", epochs=recipe.pretrain_epochs,
                                 max_steps=None, eval_every=None)
    fitted = fit(model, epoch_batches_fn(model, weak, weak_recipe, tokens), dual_loss_fn(weak_recipe, tokens, build_loss(weak_recipe)),
                 weak_recipe, device=device, progress=progress, bf16=not scratch_tower(recipe))
    return [dict(h, phase=f"pretrain-{recipe.pretrain}") for h in fitted.history]


def validation_fn(val_dataset: Dataset, tokens: TokenCache, recipe: DualRecipe, distributed: bool):
    """``eval_fn`` on the validation split; under torchrun rank 0 evaluates and broadcasts the figures
    (every rank then keeps the same best step)."""
    tokens.add(val_dataset)
    local = make_eval_fn(val_dataset, tokens, recipe)
    return (lambda m: D.broadcast_from_main(lambda: local(m))) if distributed else local


class TrainedDual(NamedTuple):
    """What :func:`train_dual` and :func:`lessonlib.dual.distill.train_distilled` return."""

    model_dir: Path | None  # where the model was saved (None without ``out_dir``)
    history: list[dict]  # one entry per logged step and evaluation, then a summary
    model: DualEncoder  # the trained model (the best validation epoch's weights when validated)


def train_dual(
    train_dataset: Dataset,
    recipe: DualRecipe | None = None,
    out_dir: str | os.PathLike | None = None,
    val_dataset: Dataset | None = None,
    device: str | None = None,
    progress: bool = True,
    model=None,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    callbacks: Sequence = (),
    **changes: Any,
) -> TrainedDual:
    """Fine-tune a dual encoder on ``train_dataset`` with ``recipe``. Introduced in notebook 02.

    Loss (default): InfoNCE over the in-batch positives and every hard negative of the batch,
        L = -1/B Σ_i log softmax_j(cos(q_i, c_j) / τ)[i],  c = (p_1..p_B, n_11..n_Bk).
    Shapes: a batch is B (query, positive, n negatives) id triples; each tower maps texts to
    (B, dim) vectors. See the module docstring for the negatives and the papers.

    ``recipe`` (default ``DualRecipe()``) holds every knob; keyword ``changes`` replace some of them
    (``negatives="dense"``, ``skip_top=3``, ``pretrain="ict"``...; an unknown one is a ``TypeError``).
    ``checkpoint_dir`` (+ ``checkpoint_every`` steps, default once per epoch) keeps resumable
    checkpoints; ``resume=True`` continues a killed run from the newest one and ends with the same
    weights as an uninterrupted run. ``callbacks`` are :class:`lessonlib.core.trainer.Trainer` callbacks.
    With ``val_dataset`` the model is evaluated at the end of each epoch (or every ``eval_every`` steps)
    and the best validation nDCG@10 is kept. ``model`` trains an already-built dual encoder instead of
    loading ``recipe.model_name``. ``out_dir=None`` skips saving (``model_dir`` is then None).

    Returns a :class:`TrainedDual` ``(model_dir, history, model)``.

    Example:
        >>> folder, history, model = train_dual(ds_train, DualRecipe.CPU, out_dir="ft", negatives="dense")  # doctest: +SKIP
    """
    recipe = (recipe or DualRecipe()).replace(**changes)
    recipe = recipe.replace(model_name=str(recipe.model_name))  # a folder may come as a Path
    distributed = D.launched_by_torchrun()
    check_launch(recipe, resume, checkpoint_dir, distributed)
    if distributed:
        device, progress = str(D.init_from_env()), progress and D.is_main()
    seed_everything(recipe.seed)
    started = time.perf_counter()
    model = model_for(recipe, device) if model is None else model.to(device) if device else model
    if recipe.dropout is not None:
        set_dropout(model, recipe.dropout)
    dev = str(next(model.parameters()).device)
    tokens = TokenCache(model).add(train_dataset)
    history = weak_pretraining(model, train_dataset, recipe, dev, progress) if recipe.pretrain else []
    batches_fn = epoch_batches_fn(model, train_dataset, recipe, tokens, initial_candidates(model, train_dataset, tokens, recipe))
    ddp_pair = None
    if distributed:
        batches_fn = D.shard_batches(batches_fn)
        ddp_pair = D.wrap_ddp(D.TowerPair(model, recipe.query_max_length, recipe.train_max_length or recipe.max_length), dev)
    n_batches = len(batches_fn(0))
    eval_fn = validation_fn(val_dataset, tokens, recipe, distributed) if val_dataset is not None else None
    fitted = fit(model, batches_fn, dual_loss_fn(recipe, tokens, build_loss(recipe), ddp_pair), recipe, eval_fn=eval_fn,
                 callbacks=callbacks, resume=bool(resume), device=dev, progress=progress, bf16=not scratch_tower(recipe),
                 eval_every=recipe.eval_every or (n_batches if eval_fn else None), select_metric="ndcg@10" if eval_fn else None,
                 checkpoint_dir=str(checkpoint_dir) if checkpoint_dir else None,
                 checkpoint_every=(checkpoint_every or n_batches) if checkpoint_dir else None)  # fmt: skip
    history += [dict(h, phase="train") for h in fitted.history]
    history.append({"phase": "done", "seconds": time.perf_counter() - started, "train_seconds": fitted.seconds, "device": dev,
                    "best_step": fitted.best_step, "steps": fitted.steps, "world_size": D.world_size(),
                    "peak_memory_mib": fitted.peak_memory_mib})  # fmt: skip
    model_dir = save_dual(model, out_dir, recipe, history) if out_dir is not None and D.is_main() else None
    return TrainedDual(model_dir, history, model)


def check_launch(recipe: DualRecipe, resume: bool, checkpoint_dir, distributed: bool) -> None:
    """Refuse the combinations :func:`train_dual` cannot honour, before any work."""
    if resume and checkpoint_dir is None:
        raise ValueError("train_dual(resume=True): needs checkpoint_dir (where the killed run kept its checkpoints)")
    if resume and distributed:
        raise ValueError("train_dual(resume=True): not supported under torchrun")
    if distributed and recipe.symmetric:
        raise ValueError("train_dual(symmetric=True): not supported under torchrun (gathered negatives are one-way)")


def save_dual(model, folder: str | os.PathLike, recipe: DualRecipe, history: list[dict]) -> Path:
    """``model.save(folder)`` (loadable by ``SentenceTransformer(folder)``) + training.json."""
    folder = Path(folder)
    model.save(folder)
    with atomic_write(folder / "training.json") as handle:
        json.dump({"recipe": recipe.__dict__, "history": history}, handle, indent=1, default=str)
    return folder


def steps_per_epoch(n_pairs: int, batch_size: int) -> int:
    """Optimizer steps in one epoch (about; duplicate-free batching can add one or two)."""
    return math.ceil(n_pairs / batch_size)
