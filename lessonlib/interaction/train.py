"""Training and evaluating interaction models: SciFact claims, BM25 candidates, rerank top-100.

The recipe (the same for every model in ``lessonlib.interaction``):

1. Tokenise queries and documents once with MiniLM's WordPiece tokenizer (no [CLS]/[SEP]),
   documents cut to ``max_doc_len`` tokens (``TokenStore``).
2. BM25 (``lessonlib.retrieval.bm25``) retrieves the top-100 of every query: training negatives are
   drawn from the top ``neg_depth`` non-relevant documents of a train query (re-drawn each epoch),
   and the test candidates are the top-100 of a test query.
3. Each training list is 1 positive + ``n_negatives`` negatives; the loss is listwise softmax
   cross-entropy or pairwise RankNet (``lessonlib.losses.ranking``), minimised by
   ``lessonlib.core.trainer.Trainer`` (AdamW, warm-up + linear decay, clipping).
4. Reranking scores every (query, candidate) pair; ``interpolate_first_stage`` adds the first stage back:

       final(q, d) = z_q(model(q, d)) + w * z_q(bm25(q, d))

   where z_q standardises scores within the query's candidate list (the two scales differ), and
   ``w`` is chosen on a validation split carved from train (``choose_weight``); test is only reported.

>>> setup = prepare(train_ds, test_ds)                 # tokenise + BM25 (seconds)
>>> setup = course_setup()                             # or: the course collection, as notebooks 16-18 use it
>>> model = build_model("knrm", setup.embedding)
>>> fit_ranker(model, setup, epochs=2)
>>> run = rerank_candidates(model, setup, setup.test_run)
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from lessonlib.cross.data import bm25_run
from lessonlib.losses.ranking import get_loss
from lessonlib.core import config
from lessonlib.data import Dataset, course_dataset, split_queries
from lessonlib.interaction.coattention import CoAttentionRanker
from lessonlib.interaction.conv_knrm import ConvKNRM
from lessonlib.interaction.hierarchical import HierarchicalAttentionRanker
from lessonlib.interaction.knrm import KNRM
from lessonlib.interaction.matrix import TokenEmbedding, count_parameters, load_tokenizer, load_word_embeddings
from lessonlib.interaction.ntn import NTNRanker
from lessonlib.evaluation.metrics import ndcg10, per_query_array
from lessonlib.retrieval.rerank import choose_alpha, interpolate_first_stage
from lessonlib.core.runs import Run, rank_documents
from lessonlib.core.trainer import Trainer, TrainerConfig

MODELS = ("knrm", "conv_knrm", "ntn", "ntn_lowrank", "coattention", "hierarchical")
# These models run many small tensor ops, too small for a second intra-op thread to gain much; on
# a shared, busy CPU two threads wait for each other at every op (measured on 2 cores under load:
# K-NRM's fast-mode rerank 25 s with 2 threads against 1.0 s with 1). fit_ranker/rerank_candidates use NUM_THREADS.
NUM_THREADS = 1


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """``torch.set_num_threads(n)`` inside the block, the previous value restored after (``None``: unchanged)."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n:
            torch.set_num_threads(before)


class TokenStore:
    """WordPiece ids of texts, computed once: ``ids(key)``; ``pad(list_of_keys)`` -> (ids, mask)."""

    def __init__(self, tokenizer, max_len: int):
        self.tokenizer = tokenizer
        self.max_len = max_len
        self._ids: dict[str, list[int]] = {}
        self._tensors: dict[str, torch.Tensor] = {}

    def add(self, keys: Sequence[str], texts: Sequence[str]) -> None:
        todo = [(k, t) for k, t in zip(keys, texts) if k not in self._ids]
        for start in range(0, len(todo), 512):
            chunk = todo[start : start + 512]
            enc = self.tokenizer([t for _, t in chunk], add_special_tokens=False, truncation=True, max_length=self.max_len)
            for (k, _), ids in zip(chunk, enc["input_ids"]):
                self._ids[k] = ids or [self.tokenizer.unk_token_id]
                self._tensors[k] = torch.tensor(self._ids[k], dtype=torch.long)

    def ids(self, key: str) -> list[int]:
        return self._ids[key]

    def __contains__(self, key: str) -> bool:
        return key in self._ids

    def pad(self, keys: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids (n, L), mask (n, L)) right-padded with id 0 to the longest of ``keys``."""
        seqs = [self._tensors[k] for k in keys]
        ids = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=0)
        lengths = torch.tensor([len(s) for s in seqs])
        mask = (torch.arange(ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)).float()
        return ids, mask


@dataclass
class Setup:
    """Everything the models share: data, tokens, BM25 runs, the train/validation split."""

    train: Dataset
    test: Dataset
    tokenizer: object
    queries: TokenStore
    docs: TokenStore
    train_run: Run
    test_run: Run
    train_qids: list[str]
    val_qids: list[str]
    embedding_weight: torch.Tensor | None = None
    meta: dict = field(default_factory=dict)

    def embedding(self, freeze: bool = True) -> TokenEmbedding:
        """A fresh TokenEmbedding from the MiniLM input embeddings (frozen or trainable)."""
        if self.embedding_weight is None:

            self.embedding_weight = load_word_embeddings()
        return TokenEmbedding(self.embedding_weight, freeze=freeze)

    def describe(self) -> str:
        """One line: queries in the train / validation / test parts, the BM25 depth re-ranked, the mode."""
        return (f"train {len(self.train_qids)} queries, validation {len(self.val_qids)}, test {len(self.test_run)}; "
                f"rerank BM25 top-{self.meta.get('k')}; fast={self.meta.get('fast')}")

    def example_pair(self, index: int = 0) -> tuple[str, str]:
        """(query id, doc id): the ``index``-th judged test query (ids sorted) and its first relevant document,
        the example pair the notebooks look at."""
        qid = sorted(self.test.qrels)[index]
        return qid, next(d for d, g in self.test.qrels[qid].items() if g > 0)


def prepare(
    train: Dataset,
    test: Dataset,
    max_doc_len: int = 200,
    max_query_len: int = 32,
    k: int = 100,
    val_fraction: float = 0.2,
    seed: int = 0,
    tokenizer=None,
) -> Setup:
    """Tokenise queries and documents, retrieve BM25 top-``k`` for train and test, split train."""
    tokenizer = tokenizer or load_tokenizer()
    queries = TokenStore(tokenizer, max_query_len)
    docs = TokenStore(tokenizer, max_doc_len)
    train_run, test_run = bm25_run(train, train.queries, k), bm25_run(test, test.queries, k)
    queries.add([f"train:{q}" for q in train.queries], list(train.queries.values()))
    queries.add([f"test:{q}" for q in test.queries], list(test.queries.values()))
    needed = {d for run in (train_run, test_run) for docs_ in run.values() for d in docs_}
    needed |= {d for qrels in (train.qrels, test.qrels) for rel in qrels.values() for d in rel}
    corpus = {**train.corpus, **test.corpus}
    ids = sorted(d for d in needed if d in corpus)
    docs.add(ids, [f"{corpus[d].get('title', '')} {corpus[d].get('text', '')}".strip() for d in ids])
    positives = [q for q in train.queries if any(g > 0 for g in train.qrels.get(q, {}).values())]
    train_qids, val_qids = split_queries(positives, val_fraction, seed)
    return Setup(train, test, tokenizer, queries, docs, train_run, test_run, train_qids, val_qids,
                 meta={"k": k, "max_doc_len": max_doc_len})


def course_setup(fast: bool | None = None, seed: int = 0, fast_train_queries: int = 100) -> Setup:
    """The course collection prepared for the interaction notebooks: :func:`prepare` on
    ``course_dataset("train")`` and ``course_dataset("test")``.

    Fast mode (``fast``, default ``LESSONLIB_FAST``): documents cut to 96 tokens, BM25's top-30 re-ranked,
    and only the first ``fast_train_queries`` training queries of the split kept; full mode: 200 tokens
    and the top-100, every training query. ``meta`` records ``k`` and ``fast``; ``describe()`` prints them.
    Introduced in notebook 16 (the same set-up serves 17 and 18).

    >>> setup = course_setup(); print(setup.describe())
    train 100 queries, validation ..., test ...; rerank BM25 top-30; fast=True
    """
    fast = config.is_fast() if fast is None else fast
    setup = prepare(course_dataset("train"), course_dataset("test"), max_doc_len=96 if fast else 200,
                    k=30 if fast else 100, seed=seed)
    if fast:
        setup.train_qids = setup.train_qids[:fast_train_queries]
    setup.meta["fast"] = fast
    return setup


def build_model(name: str, embedding: TokenEmbedding, seed: int = 0, **kwargs) -> nn.Module:
    """A model by name (one of ``MODELS``), with its default knobs overridden by ``kwargs``."""
    torch.manual_seed(seed)
    if name == "knrm":
        return KNRM(embedding, **kwargs)
    if name == "conv_knrm":
        return ConvKNRM(embedding, **kwargs)
    if name == "ntn":
        return NTNRanker(embedding, seed=seed, **kwargs)
    if name == "ntn_lowrank":
        return NTNRanker(embedding, seed=seed, **{"rank": 4, **kwargs})
    if name == "coattention":
        return CoAttentionRanker(embedding, seed=seed, **kwargs)
    if name == "hierarchical":
        return HierarchicalAttentionRanker(embedding, seed=seed, **kwargs)
    raise ValueError(f"build_model(name={name!r}): expected one of {MODELS}")


def training_lists(setup: Setup, qids: Sequence[str], n_negatives: int = 7, neg_depth: int = 30, seed: int = 0) -> list[tuple[str, list[str], list[int]]]:
    """One list per (query, positive): (query key, [pos, neg_1..neg_n], labels [1, 0..0]).

    Negatives: ``n_negatives`` drawn without replacement from the query's BM25 top ``neg_depth``
    documents that are not judged relevant.
    """
    rng = np.random.default_rng(seed)
    lists = []
    for q in qids:
        rel = {d for d, g in setup.train.qrels.get(q, {}).items() if g > 0 and d in setup.docs}
        pool = [d for d in rank_documents(setup.train_run.get(q, {}), neg_depth) if d not in rel]
        if not rel or len(pool) < 1:
            continue
        for pos in sorted(rel):
            negs = [pool[i] for i in rng.choice(len(pool), size=min(n_negatives, len(pool)), replace=False)]
            while len(negs) < n_negatives:  # very short candidate lists: repeat
                negs.append(pool[int(rng.integers(len(pool)))])
            lists.append((f"train:{q}", [pos, *negs], [1] + [0] * n_negatives))
    return lists


def collate(setup: Setup, lists: Sequence[tuple[str, list[str], list[int]]]) -> dict:
    """A batch of B lists of n docs -> flat tensors of B*n pairs and labels (B, n)."""
    n = len(lists[0][1])
    q_ids, q_mask = setup.queries.pad([q for q, docs, _ in lists for _ in docs])
    d_ids, d_mask = setup.docs.pad([d for _, docs, _ in lists for d in docs])
    labels = torch.tensor([lab for _, _, lab in lists], dtype=torch.float32)
    return {"query_ids": q_ids, "query_mask": q_mask, "doc_ids": d_ids, "doc_mask": d_mask, "labels": labels, "n": n}


def make_loss(objective: str = "softmax_ce"):
    """``loss_fn(model, batch)`` for the Trainer: model scores reshaped (B, n) into a cross objective."""
    objective_fn = get_loss(objective)

    def loss_fn(model: nn.Module, batch: dict) -> torch.Tensor:
        scores = model(batch["query_ids"], batch["query_mask"], batch["doc_ids"], batch["doc_mask"])
        return objective_fn(scores.view(-1, batch["n"]), batch["labels"])

    return loss_fn


def fit_ranker(
    model: nn.Module,
    setup: Setup,
    qids: Sequence[str] | None = None,
    epochs: int = 3,
    batch_size: int = 8,
    lr: float = 1e-3,
    n_negatives: int = 7,
    neg_depth: int = 30,
    objective: str = "softmax_ce",
    seed: int = 0,
    progress: bool = True,
    num_threads: int | None = NUM_THREADS,
) -> dict:
    """Train ``model`` on lists from ``qids`` (default: the train part of the split).

    Negatives are re-drawn every epoch (seed + epoch). ``num_threads``: torch intra-op threads
    while training (restored after; ``None`` keeps the caller's). Returns ``{"seconds", "history", "n_lists"}``.
    """
    qids = list(setup.train_qids if qids is None else qids)
    if not qids:
        raise ValueError("fit_ranker(qids=[]): need at least one training query")

    def batches(epoch: int) -> list[dict]:
        lists = training_lists(setup, qids, n_negatives, neg_depth, seed=seed + epoch)
        order = np.random.default_rng(seed + 7919 * epoch).permutation(len(lists))
        lists = [lists[i] for i in order]
        return [collate(setup, lists[i : i + batch_size]) for i in range(0, len(lists), batch_size)]

    n_lists = len(training_lists(setup, qids, n_negatives, neg_depth, seed=seed))
    config = TrainerConfig(lr=lr, epochs=epochs, batch_size=batch_size, warmup=0.1, seed=seed, progress=progress, device="cpu", weight_decay=0.0,
                           bf16=False)  # kernels as narrow as sigma 0.001 (exact match) need fp32 similarities
    start = time.perf_counter()
    with torch_threads(num_threads):
        history = Trainer(model, make_loss(objective), config).train(batches)
    return {"seconds": time.perf_counter() - start, "history": history, "n_lists": n_lists}


@torch.inference_mode()
def score_pairs(model: nn.Module, setup: Setup, query_key: str, doc_ids: Sequence[str], batch_size: int = 100) -> np.ndarray:
    """Scores (n,) of one query (key ``"test:<qid>"`` / ``"train:<qid>"``) against ``doc_ids``."""
    model.eval()
    out = []
    for start in range(0, len(doc_ids), batch_size):
        chunk = list(doc_ids[start : start + batch_size])
        d_ids, d_mask = setup.docs.pad(chunk)
        q_ids, q_mask = setup.queries.pad([query_key] * len(chunk))
        out.append(model(q_ids, q_mask, d_ids, d_mask).float().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def rerank_candidates(
    model: nn.Module,
    setup: Setup,
    run: Run,
    split: str = "test",
    k: int = 100,
    qids: Sequence[str] | None = None,
    progress: bool = False,
    batch_size: int = 64,
    num_threads: int | None = NUM_THREADS,
) -> Run:
    """Rescore the top-``k`` of ``run`` for each query of ``qids`` (default: all) with ``model``.

    The (query, candidate) pairs of several queries (taken in order of query length, so that
    little padding is added) share forward passes of ``batch_size`` pairs: a model's score of a
    pair does not depend on the rest of its batch (padding is masked; tests/test_interaction.py
    checks it), and a few large batches cost far fewer torch calls than one small batch per query.
    ``num_threads``: torch intra-op threads while scoring (restored after; ``None`` keeps the caller's).
    """
    from tqdm.auto import tqdm

    qids = list(run) if qids is None else [q for q in qids if q in run]
    by_length = sorted(qids, key=lambda q: len(setup.queries.ids(f"{split}:{q}")))  # little query padding per batch
    pairs = [(q, d) for q in by_length for d in rank_documents(run[q], k)]
    out: Run = {q: {} for q in qids}
    model.eval()
    with torch.inference_mode(), torch_threads(num_threads):
        for start in tqdm(range(0, len(pairs), batch_size), desc="rerank", disable=not progress, leave=False):
            chunk = pairs[start : start + batch_size]
            q_ids, q_mask = setup.queries.pad([f"{split}:{q}" for q, _ in chunk])
            d_ids, d_mask = setup.docs.pad([d for _, d in chunk])
            scores = model(q_ids, q_mask, d_ids, d_mask).float().numpy()
            for (q, d), s in zip(chunk, scores):
                out[q][d] = float(s)
    return out


def random_order_ndcg10(qrels: dict, run: Run, n_draws: int = 20, seed: int = 0) -> float:
    """Mean nDCG@10 of ``run``'s candidate lists shuffled at random (``n_draws`` shuffles, ``seed``).

    The floor a reranker of these candidates must beat: a model that learned nothing scores about
    this much. Same queries and candidates as ``run``; only the order is random.

    >>> round(random_order_ndcg10({"q": {"a": 1}}, {"q": {"a": 2.0, "b": 1.0}}, n_draws=200), 1)  # (1 + 1/log2(3)) / 2 = 0.815
    0.8
    """
    rng = np.random.default_rng(seed)
    draws = [ndcg10(qrels, {q: {d: float(x) for d, x in zip(docs, rng.random(len(docs)))} for q, docs in run.items()})
             for _ in range(n_draws)]
    return float(np.mean(draws))


#: the interpolation weights tried on validation (``final = z(model) + w * z(BM25)``)
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def evaluate_model(model: nn.Module, setup: Setup, test_qids: Sequence[str] | None = None, k: int = 100) -> dict:
    """Validation-chosen interpolation weight, then test nDCG@10 of BM25, the model alone, and interpolated.

    Both validation and test re-rank the BM25 top-``k``.
    """
    start = time.perf_counter()
    val_run = rerank_candidates(model, setup, setup.train_run, split="train", qids=setup.val_qids, k=k)
    val_qrels = {q: setup.train.qrels[q] for q in val_run if q in setup.train.qrels}
    w, table = choose_alpha(val_run, setup.train_run, val_qrels, alphas=WEIGHTS, norm="zscore")
    test_run = rerank_candidates(model, setup, setup.test_run, split="test", qids=test_qids, k=k)
    seconds = time.perf_counter() - start
    base = {q: setup.test_run[q] for q in test_run}
    return {
        "bm25": ndcg10(setup.test.qrels, base),
        "model": ndcg10(setup.test.qrels, test_run),
        "interpolated": ndcg10(setup.test.qrels, interpolate_first_stage(test_run, base, w, norm="zscore")),
        "w": w,
        "val_table": table,
        "val_model": table[0.0],
        "params": count_parameters(model),
        "rerank_seconds": seconds,
        "run": test_run,
    }


def per_query_ndcg10(setup: Setup, result: dict) -> dict[str, np.ndarray]:
    """Test nDCG@10 query by query behind one :func:`evaluate_model` ``result``, for paired tests.

    ``"bm25"`` (the candidates in BM25's order), ``"model"`` (the model alone) and ``"interpolated"``
    (z(model) + w·z(BM25) with the result's validation-chosen w), each (n,) over the test queries the
    model re-ranked that have judgments, in sorted id order; their means are the result's ``bm25``,
    ``model`` and ``interpolated``. Introduced in notebook 16.

    >>> pq = per_query_ndcg10(setup, evaluate_model(model, setup))
    >>> compare_paired(pq["model"], pq["bm25"], "K-NRM", "BM25").verdict()
    """
    run = result["run"]
    qids = sorted(q for q in run if q in setup.test.qrels)
    base = {q: setup.test_run[q] for q in run}
    runs = {"bm25": base, "model": run, "interpolated": interpolate_first_stage(run, base, result["w"], norm="zscore")}
    return {name: per_query_array(setup.test.qrels, r, "ndcg@10", qids) for name, r in runs.items()}
