"""The exercises' hidden cases and their references in lessonlib (one ``register`` per exercise).

Each reference adapts the learner-facing signature to the library function that the notebooks use,
so a check compares the learner's code with the code the workbook itself runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lessonlib.core import config
from lessonlib.retrieval.adaptive import adaptive_rerank
from lessonlib.evaluation.calibration import apply_temperature, expected_calibration_error
from lessonlib.workbook.checks.core import ExerciseCheck, register
from lessonlib.retrieval.fusion import rrf
from lessonlib.core.hub import resolve_model
from lessonlib.evaluation.metrics import evaluate
from lessonlib.core.runs import rank_documents


# ---------------------------------------------------------------- metrics (11_evaluation §5.1)
def _random_query(rng: np.random.Generator, n_docs: int, n_rel: int, graded: bool, ties: bool) -> dict[str, Any]:
    docs = [f"d{i}" for i in range(n_docs)]
    scores = rng.integers(0, 4, n_docs).astype(float) if ties else rng.random(n_docs)
    run = {d: float(s) for d, s in zip(docs, scores)}
    rel_docs = rng.choice(n_docs + 3, size=min(n_rel, n_docs + 3), replace=False)  # some unretrieved
    qrels = {f"d{i}": int(rng.integers(1, 4)) if graded else 1 for i in rel_docs}
    return {"qrels": qrels, "run": run}


def _metric_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for graded in (False, True):
        for ties in (False, True):
            for k in (1, 5, 10):
                case = _random_query(rng, int(rng.integers(5, 30)), int(rng.integers(1, 6)), graded, ties)
                cases.append({**case, "k": k})
    cases.append({"qrels": {"a": 1}, "run": {"a": 1.0, "b": 0.5}, "k": 50})  # k larger than n
    cases.append({"qrels": {"a": 0, "x": 0}, "run": {"a": 1.0}, "k": 10})  # nothing relevant
    cases.append({"qrels": {"a": 2}, "run": {}, "k": 10})  # empty run
    cases.append({"qrels": {"b": 1}, "run": {"a": 1.0, "b": 1.0, "c": 1.0}, "k": 1})  # all tied
    return cases


def _trec(measure: str):
    def reference(qrels: dict[str, int], run: dict[str, float], k: int) -> float:
        if not run:
            return 0.0
        return evaluate({"q": qrels}, {"q": run}, [f"{measure}@{k}"])[f"{measure}@{k}"]

    return reference


register(ExerciseCheck(
    id="ndcg_at_k", title="nDCG@k, exactly as trec_eval", practises="11_evaluation §5.1 retrieval metrics",
    cases=_metric_cases, reference=_trec("ndcg"),
    hint="rank by score descending and break ties by doc id DESCENDING (trec_eval); gain = grade, "
         "discount = log2(rank + 1); the ideal DCG uses all judged grades, not only retrieved ones.",
    atol=1e-9,
))

register(ExerciseCheck(
    id="recall_at_k", title="Recall@k, exactly as trec_eval", practises="11_evaluation §5.1 retrieval metrics",
    cases=_metric_cases, reference=_trec("recall"),
    hint="relevant = grade >= 1; divide by ALL relevant documents in the qrels (retrieved or not); "
         "nothing relevant gives 0.",
    atol=1e-9,
))


# ---------------------------------------------------------------- fusion (22_hybrid_systems)
def _rrf_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for n_runs in (1, 2, 3):
        for k in (0, 1, 60):
            pool = [f"d{i}" for i in range(int(rng.integers(3, 15)))]
            rankings = [list(rng.permutation(pool)[: int(rng.integers(1, len(pool) + 1))]) for _ in range(n_runs)]
            cases.append({"rankings": [[str(d) for d in r] for r in rankings], "k": k})
    cases.append({"rankings": [[], ["a"]], "k": 60})  # an empty ranking
    cases.append({"rankings": [["a", "b"], ["b", "a"]], "k": 60})  # a tie in the fused scores
    return cases


def _rrf_reference(rankings: list[list[str]], k: float) -> dict[str, float]:
    runs = [{"q": {doc: float(len(r) - i) for i, doc in enumerate(r)}} for r in rankings]
    return rrf(runs, k=k).get("q", {})


register(ExerciseCheck(
    id="reciprocal_rank_fusion", title="Reciprocal rank fusion", practises="22_hybrid_systems — fusing sparse and dense runs",
    cases=_rrf_cases, reference=_rrf_reference,
    hint="score(d) = sum over rankings of 1 / (k + rank), rank starting at 1; a document missing "
         "from a ranking gets nothing from it.",
    atol=1e-12,
))


# ================================================================= Day 10.1: dual encoders
# Torch inputs are float64 so that the learner's arithmetic and the library's agree to 1e-6.
def _t(array: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(array))


# ---------------------------------------------------------------- pooling (01_foundations §1.2-1.3)
def _padding_mask(rng: np.random.Generator, batch: int, length: int, all_padding_row: bool = False) -> np.ndarray:
    lengths = rng.integers(1, length + 1, batch)
    mask = (np.arange(length)[None, :] < lengths[:, None]).astype(np.int64)
    if all_padding_row:
        mask[rng.integers(batch)] = 0
    return mask


def _pooling_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for bq, bd, t, h, empty_row in [(1, 1, 1, 3, False), (2, 3, 5, 4, False), (4, 6, 9, 8, False),
                                    (3, 5, 7, 16, False), (2, 4, 6, 4, True), (1, 3, 4, 5, True)]:
        q_mask = _padding_mask(rng, bq, t)
        d_mask = _padding_mask(rng, bd, t + 2, all_padding_row=empty_row)
        cases.append({"q_hidden": _t(rng.normal(size=(bq, t, h))), "q_mask": _t(q_mask),
                      "d_hidden": _t(rng.normal(size=(bd, t + 2, h))), "d_mask": _t(d_mask)})
    # a mask with holes (not only trailing padding) and padded positions holding large values
    hidden = rng.normal(size=(2, 6, 4)) * 1000
    cases.append({"q_hidden": _t(hidden), "q_mask": _t(np.array([[1, 0, 1, 0, 1, 0], [0, 1, 1, 1, 0, 0]])),
                  "d_hidden": _t(rng.normal(size=(2, 6, 4))), "d_mask": _t(np.ones((2, 6), dtype=np.int64))})
    # identical documents: tied similarity scores
    same = rng.normal(size=(1, 4, 3))
    cases.append({"q_hidden": _t(rng.normal(size=(1, 4, 3))), "q_mask": _t(np.ones((1, 4), dtype=np.int64)),
                  "d_hidden": _t(np.concatenate([same, same])), "d_mask": _t(np.ones((2, 4), dtype=np.int64))})
    return cases


def _pooling_reference(q_hidden, q_mask, d_hidden, d_mask):
    from lessonlib.dual.encoders import Pooling, Similarity  # deferred: pulls in torch

    pool = Pooling("mean")
    q, d = pool(q_hidden, q_mask), pool(d_hidden, d_mask)
    return q, d, Similarity("cosine")(q, d)


register(ExerciseCheck(
    id="mean_pooling_cosine", title="Mean pooling with an attention mask, then cosine similarity",
    practises="01_foundations — pooling and similarity (Day 10.1 §1.2-1.3)",
    cases=_pooling_cases, reference=_pooling_reference,
    hint="multiply the token vectors by the mask (B, T, 1) before summing and divide by the number of REAL "
         "tokens (clamped to >= 1e-9 so an all-padding row gives the zero vector); cosine = dot product of "
         "L2-normalised rows (a zero vector stays zero, F.normalize does this).",
    atol=1e-6,
))


# ---------------------------------------------------------------- InfoNCE (02_contrastive_training §2.2)
def _infonce_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for b, n, d, tau in [(1, 0, 4, 0.05), (2, 0, 4, 0.05), (4, 0, 8, 0.1), (8, 0, 16, 1.0), (3, 1, 6, 0.05),
                         (4, 2, 8, 0.2), (5, 3, 8, 0.02), (1, 2, 4, 0.5)]:
        q = rng.normal(size=(b, d))
        pos = q + rng.normal(scale=0.8, size=(b, d))  # related but not equal
        neg = _t(rng.normal(size=(b, n, d))) if n else None
        cases.append({"q": _t(q), "pos": _t(pos), "neg": neg, "temperature": tau})
    dup = rng.normal(size=(1, 4))
    cases.append({"q": _t(np.repeat(dup, 3, 0)), "pos": _t(np.repeat(dup, 3, 0)), "neg": None, "temperature": 0.05})  # all tied
    cases.append({"q": _t(rng.normal(size=(3, 4)) * 50), "pos": _t(rng.normal(size=(3, 4))), "neg": None, "temperature": 0.05})  # scale-free
    return cases


def _infonce_reference(q, pos, neg=None, temperature=0.05):
    from lessonlib.losses import InfoNCELoss  # deferred: pulls in torch

    return InfoNCELoss(temperature=temperature, similarity="cosine", share_negatives=True)(q, pos, neg)


register(ExerciseCheck(
    id="infonce_loss", title="InfoNCE with a temperature and in-batch negatives",
    practises="02_contrastive_training — InfoNCE and the temperature (Day 10.1 §2.1-2.2)",
    cases=_infonce_cases, reference=_infonce_reference,
    hint="logits = cos(q_i, c) / temperature for every candidate c = [all B positives, then all B*n hard "
         "negatives]; the correct class of row i is column i; loss = cross_entropy(logits, arange(B)), "
         "averaged over the batch.",
    atol=1e-6,
))


# ---------------------------------------------------------------- triplet (02_contrastive_training §2.2)
def _triplet_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for b, d, classes, margin in [(6, 4, 3, 0.5), (8, 8, 2, 1.0), (10, 5, 4, 0.2), (12, 16, 6, 5.0), (5, 3, 2, 0.0)]:
        labels = rng.permutation(np.arange(b) % classes)
        emb = rng.normal(size=(b, d)) + 2 * rng.normal(size=(classes, d))[labels]
        cases.append({"embeddings": _t(emb), "labels": _t(labels.astype(np.int64)), "margin": margin})
    e = rng.normal(size=(4, 3))
    cases.append({"embeddings": _t(e), "labels": _t(np.array([0, 0, 0, 0])), "margin": 0.5})  # no negatives: 0
    cases.append({"embeddings": _t(e), "labels": _t(np.array([0, 1, 2, 3])), "margin": 0.5})  # no positives: 0
    cases.append({"embeddings": _t(e), "labels": _t(np.array([0, 0, 1, 2])), "margin": 0.5})  # anchors 2, 3 lack a positive
    twin = rng.normal(size=(1, 3))
    cases.append({"embeddings": _t(np.concatenate([twin, twin, twin + 1, twin + 1])), "labels": _t(np.array([0, 1, 0, 1])),
                  "margin": 0.3})  # ties: duplicate points, distance 0 to a negative
    return cases


def _triplet_reference(embeddings, labels, margin=0.5):
    from lessonlib.losses import TripletLoss  # deferred: pulls in torch

    return TripletLoss(margin=margin, mining="batch_hard", distance="l2")(embeddings, labels=labels)


register(ExerciseCheck(
    id="batch_hard_triplet_loss", title="Triplet loss with batch-hard mining",
    practises="02_contrastive_training — triplet loss and mining (Day 10.1 §2.2)",
    cases=_triplet_cases, reference=_triplet_reference,
    hint="D = Euclidean distance matrix; for each anchor: hardest positive = max D over rows with the same "
         "label (not itself), hardest negative = min D over rows with another label; loss = mean over anchors "
         "that HAVE both of relu(d_ap - d_an + margin); no such anchor -> 0.",
    atol=1e-6,
))


# ---------------------------------------------------------------- BM25 negatives (03_negative_sampling §2.1)
def _negatives_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for n_docs, n_pos, n, skip, depth, ties in [(20, 1, 3, 0, 100, False), (20, 2, 5, 2, 100, False),
                                                (30, 3, 4, 5, 10, False), (15, 1, 4, 1, 100, True),
                                                (12, 2, 20, 0, 100, False), (40, 4, 8, 3, 25, True)]:
        docs = [f"d{i:02d}" for i in range(n_docs)]
        scores = rng.integers(0, 5, n_docs).astype(float) if ties else np.round(rng.random(n_docs) * 20, 3)
        ranking = {d: float(s) for d, s in zip(docs, scores)}
        # positives: often among the top documents (that is why they must be filtered), sometimes unretrieved
        top = rank_documents(ranking, 5)
        positives = list(rng.choice(top, size=min(n_pos, len(top)) - 1, replace=False)) + ["unretrieved"]
        cases.append({"ranking": ranking, "positives": [str(p) for p in positives], "n": n, "skip_top": skip, "depth": depth})
    cases.append({"ranking": {}, "positives": ["a"], "n": 3, "skip_top": 0, "depth": 100})  # empty ranking
    cases.append({"ranking": {"a": 3.0, "b": 2.0}, "positives": ["a", "b"], "n": 2, "skip_top": 0, "depth": 100})  # only positives
    cases.append({"ranking": {"a": 3.0, "b": 2.0, "c": 1.0}, "positives": ["a"], "n": 0, "skip_top": 0, "depth": 100})  # n = 0
    cases.append({"ranking": {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}, "positives": ["c"], "n": 2, "skip_top": 1, "depth": 3})  # all tied
    return cases


def _negatives_reference(ranking, positives, n, skip_top=0, depth=100):
    from lessonlib.dual.samplers import BM25Negatives  # deferred: pulls in torch

    return BM25Negatives({"q": ranking}, depth=depth, skip_top=skip_top, pick="top").sample(["q"], [positives], n)[0]


register(ExerciseCheck(
    id="bm25_negatives", title="BM25 hard negatives with false-negative filtering",
    practises="03_negative_sampling — BM25 negatives, false negatives (Day 10.1 §2.1)",
    cases=_negatives_cases, reference=_negatives_reference,
    hint="sort by score descending, ties by doc id descending (trec_eval's order); keep the top `depth`; THEN drop the known "
         "positives; THEN skip the first `skip_top` of what is left; return the next n (fewer if the pool runs out).",
))


# ---------------------------------------------------------------- IVF (05_ann_indexing §3.1)
def _ivf_case(rng: np.random.Generator, n: int, d: int, nlist: int, nprobe: int, k: int, duplicates: bool = False):
    vectors = rng.normal(size=(n, d)).astype(np.float32)
    if duplicates and n >= 4:
        vectors[n // 2] = vectors[1]  # same vector twice: a tie, inside one list
    centroids = rng.normal(size=(nlist, d)).astype(np.float32)
    assignment = np.argmax(vectors @ centroids.T, axis=1)  # IVF with metric "ip" assigns by inner product
    lists = [[int(i) for i in np.flatnonzero(assignment == c)] for c in range(nlist)]
    query = (vectors[rng.integers(n)] + rng.normal(scale=0.3, size=d)).astype(np.float32) if n else rng.normal(size=d).astype(np.float32)
    return {"query": query, "centroids": centroids, "lists": lists, "vectors": vectors, "nprobe": nprobe, "k": k}


def _ivf_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = [_ivf_case(rng, n, d, nlist, nprobe, k) for n, d, nlist, nprobe, k in
             [(50, 4, 5, 1, 3), (80, 8, 8, 2, 5), (100, 6, 10, 3, 10), (60, 4, 4, 4, 5), (30, 4, 6, 10, 3),
              (40, 8, 8, 1, 50)]]  # nprobe = nlist is exact; nprobe > nlist; k larger than the candidates
    cases.append(_ivf_case(rng, 40, 4, 4, 2, 40, duplicates=True))  # a tie, then k larger than n
    case = _ivf_case(rng, 20, 4, 5, 2, 3)
    case["lists"][int(np.argmax(case["centroids"] @ case["query"]))] = []  # the nearest list is empty (its vectors removed)
    cases.append(case)
    return cases


def _ivf_reference(query, centroids, lists, vectors, nprobe, k):
    from lessonlib.index import IVFIndex  # deferred: pulls in tqdm

    vectors = np.asarray(vectors, np.float32)
    index = IVFIndex(vectors.shape[1], metric="ip", nlist=len(centroids), nprobe=nprobe)
    list_of = np.full(len(vectors), -1, np.int64)
    for c, members in enumerate(lists):
        list_of[np.asarray(members, dtype=np.int64)] = c
    keep = list_of >= 0  # vectors in no list are not searchable
    index.centroids_ = np.asarray(centroids, np.float32)
    index.vectors_, index.list_of_ = vectors[keep], list_of[keep]
    index._ids = np.flatnonzero(keep).astype(np.int64)
    index.is_trained = True
    index._rebuild_lists()
    scores, ids = index.search(np.asarray(query, np.float32)[None, :], k)
    return scores[0], ids[0]


register(ExerciseCheck(
    id="ivf_search", title="IVF search with nprobe",
    practises="05_ann_indexing — inverted file index (Day 10.1 §3.1)",
    cases=_ivf_cases, reference=_ivf_reference,
    hint="probe the min(nprobe, nlist) lists whose centroids have the LARGEST inner product with the query; "
         "score only their vectors (q . x); return the k best, ties by smaller id, padded with score -inf / id -1.",
    atol=1e-5,
))


# ---------------------------------------------------------------- PQ (06_quantization_compression §3.2)
def _pq_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for n, m, ksub, dsub, metric in [(20, 2, 4, 2, "ip"), (50, 4, 8, 2, "ip"), (30, 3, 16, 4, "l2"),
                                     (40, 1, 4, 6, "l2"), (1, 2, 4, 3, "ip"), (0, 2, 4, 2, "ip")]:
        codebooks = rng.normal(size=(m, ksub, dsub)).astype(np.float32)
        x = rng.normal(size=(n, m * dsub)).astype(np.float32)
        cases.append({"x": x, "query": rng.normal(size=m * dsub).astype(np.float32), "codebooks": codebooks, "metric": metric})
    codebooks = rng.normal(size=(2, 4, 2)).astype(np.float32)
    codebooks[:, 3] = codebooks[:, 1]  # duplicate codewords: a tie, the first index wins
    cases.append({"x": codebooks[[0, 1], [1, 1]].reshape(1, 4).repeat(3, 0) + 0.01, "query": rng.normal(size=4).astype(np.float32),
                  "codebooks": codebooks, "metric": "l2"})
    return cases


def _pq_reference(x, query, codebooks, metric="ip"):
    from lessonlib.index import ProductQuantizer  # deferred: pulls in tqdm

    codebooks = np.asarray(codebooks, np.float32)
    m, ksub, dsub = codebooks.shape
    pq = ProductQuantizer(m * dsub, m, nbits=max(1, int(np.ceil(np.log2(ksub)))))
    pq.codebooks_ = codebooks  # ksub = 2^nbits in every case
    codes = pq.encode(np.asarray(x, np.float32).reshape(-1, m * dsub))
    scores = pq.adc(pq.tables(np.asarray(query, np.float32)[None, :], metric), codes)[0]
    return codes.astype(np.int64), scores


register(ExerciseCheck(
    id="pq_adc", title="Product quantization: encode, then asymmetric distance computation",
    practises="06_quantization_compression — product quantization (Day 10.1 §3.2)",
    cases=_pq_cases, reference=_pq_reference,
    hint="split x into M sub-vectors; code_m = argmin_c ||x_m - codebooks[m, c]||^2 (first index on ties); "
         "table[m, c] = q_m . codebooks[m, c] for 'ip' or -||q_m - codebooks[m, c]||^2 for 'l2'; "
         "score(x) = sum_m table[m, code_m].",
    atol=1e-4,
))


# ---------------------------------------------------------------- shards (07_distributed_serving §3.3)
def _shard_result(rng: np.random.Generator, nq: int, length: int, valid: int, id_offset: int, ties: bool):
    scores = np.full((nq, length), -np.inf, np.float32)
    ids = np.full((nq, length), -1, np.int64)
    for row in range(nq):
        v = rng.integers(0, 3, valid).astype(np.float32) if ties else rng.normal(size=valid).astype(np.float32)
        order = np.argsort(-v, kind="stable")
        scores[row, :valid] = v[order]
        ids[row, :valid] = id_offset + rng.choice(1000, valid, replace=False)[order]
    return scores, ids


def _shard_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for nq, n_shards, k, ties, short in [(1, 2, 3, False, False), (2, 3, 5, False, False), (3, 4, 10, False, True),
                                         (1, 1, 4, False, False), (2, 3, 4, True, False), (1, 2, 8, False, True)]:
        scores, ids = [], []
        for s in range(n_shards):
            length = int(rng.integers(1, k + 1)) if short else k
            valid = int(rng.integers(0, length + 1)) if short else length  # short shards are padded with -1
            sc, i = _shard_result(rng, nq, length, valid, 1000 * s, ties)
            scores.append(sc)
            ids.append(i)
        cases.append({"shard_scores": scores, "shard_ids": ids, "k": k})
    tied = np.array([[2.0, 1.0]], np.float32)
    cases.append({"shard_scores": [tied, tied.copy()], "shard_ids": [np.array([[5, 6]]), np.array([[3, 4]])], "k": 3})  # ties across shards
    cases.append({"shard_scores": [np.array([[0.9, 0.1]], np.float32), np.array([[0.5]], np.float32)],
                  "shard_ids": [np.array([[7, 2]]), np.array([[11]])], "k": 5})  # k larger than all shards together
    empty = (np.full((1, 3), -np.inf, np.float32), np.full((1, 3), -1, np.int64))
    cases.append({"shard_scores": [empty[0], empty[0].copy()], "shard_ids": [empty[1], empty[1].copy()], "k": 3})  # nothing found
    return cases


def _shard_reference(shard_scores, shard_ids, k):
    from lessonlib.index import merge_topk  # deferred: pulls in tqdm
    from lessonlib.index.base import pad_results  # deferred: pulls in tqdm

    nq = len(shard_scores[0])
    best_s, best_i = np.full((nq, 0), -np.inf, np.float32), np.zeros((nq, 0), np.int64)
    for s, i in zip(shard_scores, shard_ids):  # the gather step of lessonlib.index.serving.ShardedIndex.search
        best_s, best_i = merge_topk(best_s, best_i, np.asarray(s, np.float32), np.asarray(i, np.int64), k)
    best_s, best_i = pad_results(best_s, best_i, k)
    return np.where(best_i >= 0, best_s, -np.inf), best_i


register(ExerciseCheck(
    id="merge_shards", title="Merging the top-k lists of shards",
    practises="07_distributed_serving — scatter-gather over shards (Day 10.1 §3.3)",
    cases=_shard_cases, reference=_shard_reference,
    hint="per query: pool every shard's (score, id) pairs, drop the id -1 padding, sort by score descending "
         "(ties: earlier shard first, then earlier position), keep k, pad with score -inf / id -1 to exactly k.",
    atol=1e-6,
))


# ---------------------------------------------------------------- distillation (04_advanced_training §2.3)
def _margin_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for b, n in [(1, 1), (2, 1), (4, 3), (8, 7), (3, 5)]:
        cases.append({"student_pos": rng.normal(size=b), "student_neg": rng.normal(size=(b, n)),
                      "teacher_pos": 5 + 3 * rng.normal(size=b), "teacher_neg": 3 * rng.normal(size=(b, n))})
    s_pos, s_neg = rng.normal(size=3), rng.normal(size=(3, 2))
    cases.append({"student_pos": s_pos, "student_neg": s_neg, "teacher_pos": s_pos + 10, "teacher_neg": s_neg + 10})  # same margins
    cases.append({"student_pos": np.zeros(2), "student_neg": np.zeros((2, 2)), "teacher_pos": np.ones(2), "teacher_neg": np.ones((2, 2))})
    return cases


def _margin_reference(student_pos, student_neg, teacher_pos, teacher_neg):
    import torch

    from lessonlib.losses import MarginMSELoss  # deferred: pulls in torch

    # With the dot product and a 1-d "query" of 1, a 1-d document embedding IS its score:
    # s(q, d) = 1 * d. So gradients wrt these embeddings are gradients wrt the student scores.
    s_pos = torch.tensor(np.asarray(student_pos, np.float64)[:, None], requires_grad=True)  # (B, 1)
    s_neg = torch.tensor(np.asarray(student_neg, np.float64)[:, :, None], requires_grad=True)  # (B, n, 1)
    teacher_margin = torch.tensor(np.asarray(teacher_pos, np.float64)[:, None] - np.asarray(teacher_neg, np.float64))
    loss = MarginMSELoss(similarity="ip")(torch.ones_like(s_pos), s_pos, s_neg, teacher_margin)
    loss.backward()
    return {"loss": float(loss.detach()), "grad_pos": s_pos.grad[:, 0].numpy(), "grad_neg": s_neg.grad[:, :, 0].numpy()}


register(ExerciseCheck(
    id="margin_mse_step", title="One Margin-MSE distillation step: loss and gradient",
    practises="04_advanced_training — knowledge distillation (Day 10.1 §2.3)",
    cases=_margin_cases, reference=_margin_reference,
    hint="diff_ij = (s_pos_i - s_neg_ij) - (t_pos_i - t_neg_ij); loss = mean over all B*n of diff^2; "
         "dloss/ds_pos_i = sum_j 2 diff_ij / (B n); dloss/ds_neg_ij = -2 diff_ij / (B n).",
    atol=1e-9,
))


# ================================================================= Day 10.2: cross-encoders
# ---------------------------------------------------------------- monoBERT input (14_cross_encoder_foundations §1.2)
_PAIR_TOKENIZER = None


def _pair_tokenizer():
    """MiniLM's pair template ([CLS] A [SEP] B [SEP], segments 0/1) on raw token ids.

    The real tokenizer (tokenizer.json, the one ``CrossEncoder`` loads) maps text to ids; to apply its
    post-processor and its ``only_second`` truncation to GIVEN ids we put them behind a word-level
    vocabulary "t<id>" -> id. Loading ``tokenizers`` takes well under a second, transformers seconds.
    """
    global _PAIR_TOKENIZER
    if _PAIR_TOKENIZER is None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        real = Tokenizer.from_file(str(resolve_model(config.DEFAULT_MODEL) / "tokenizer.json"))
        vocab = {f"t{i}": i for i in range(real.get_vocab_size())}
        tok = Tokenizer(models.WordLevel(vocab, unk_token="t100"))
        tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        tok.post_processor = real.post_processor
        _PAIR_TOKENIZER = tok
    return _PAIR_TOKENIZER


def _monobert_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for q_len, d_len, max_length in [(3, 10, 32), (5, 40, 32), (8, 100, 64), (1, 5, 6), (4, 20, 9), (6, 0, 16),
                                     (2, 300, 256), (10, 3, 14), (7, 12, 18)]:
        # max_length >= q_len + 4: at least one document token fits (else the tokenizer refuses the pair)
        cases.append({"query_ids": [int(i) for i in rng.integers(999, 30000, q_len)],
                      "doc_ids": [int(i) for i in rng.integers(999, 30000, d_len)], "max_length": max_length})
    return cases


def _monobert_reference(query_ids, doc_ids, max_length):
    tok = _pair_tokenizer()
    tok.enable_truncation(max_length, strategy="only_second")
    enc = tok.encode(" ".join(f"t{i}" for i in query_ids), " ".join(f"t{i}" for i in doc_ids))
    return {"input_ids": list(enc.ids), "token_type_ids": list(enc.type_ids)}


register(ExerciseCheck(
    id="monobert_input", title="monoBERT input: [CLS] q [SEP] d [SEP] with segment ids",
    practises="14_cross_encoder_foundations — joint encoding and segments (Day 10.2 §1.1-1.2)",
    cases=_monobert_cases, reference=_monobert_reference,
    hint="input_ids = [CLS] + query + [SEP] + doc[:max_length - len(query) - 3] + [SEP]; token_type_ids are 0 "
         "up to and including the first [SEP], 1 for the document and the final [SEP].",
))


# ---------------------------------------------------------------- RankNet (15_training_monobert §3.2)
def _ranknet_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for b, n, grades in [(1, 2, 2), (2, 4, 2), (3, 8, 4), (4, 5, 3), (1, 10, 5)]:
        labels = rng.integers(0, grades, size=(b, n))
        cases.append({"scores": _t(rng.normal(size=(b, n)) * 2), "labels": _t(labels.astype(np.float64))})
    cases.append({"scores": _t(rng.normal(size=(2, 3))), "labels": _t(np.zeros((2, 3)))})  # no pair: 0
    cases.append({"scores": _t(np.ones((1, 4))), "labels": _t(np.array([[1.0, 0.0, 2.0, 0.0]]))})  # tied scores: log 2
    cases.append({"scores": _t(np.array([[30.0, -30.0, 0.0]])), "labels": _t(np.array([[0.0, 1.0, 1.0]]))})  # large margins
    return cases


def _ranknet_reference(scores, labels):
    from lessonlib.losses.ranking import ranknet  # deferred: pulls in torch

    return ranknet(scores, labels)


register(ExerciseCheck(
    id="ranknet_loss", title="RankNet pairwise loss",
    practises="15_training_monobert — training objectives (Day 10.2 §3.2)",
    cases=_ranknet_cases, reference=_ranknet_reference,
    hint="over every pair (i, j) of one query with label_i > label_j: log(1 + exp(-(s_i - s_j))) "
         "(use softplus for large margins); divide the sum by the number of such pairs in the WHOLE batch; 0 if none.",
    atol=1e-6,
))


# ---------------------------------------------------------------- KNRM (17_kernel_models §4.1)
def _knrm_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    import torch

    from lessonlib.interaction.knrm import kernel_mus, kernel_sigmas  # deferred: pulls in torch

    cases = []
    for b, lq, ld, n_kernels, empty in [(1, 3, 5, 11, False), (2, 4, 10, 11, False), (3, 5, 8, 5, False),
                                        (2, 3, 6, 21, False), (3, 4, 7, 11, True)]:
        q_mask = _padding_mask(rng, b, lq, all_padding_row=empty)
        d_mask = _padding_mask(rng, b, ld)
        m = np.tanh(rng.normal(size=(b, lq, ld)))
        m[rng.random(size=m.shape) < 0.1] = 1.0  # some exact matches
        m = m * q_mask[:, :, None] * d_mask[:, None, :]  # padding entries are 0, as cosine_matrix gives
        cases.append({"M": _t(m), "q_mask": _t(q_mask), "d_mask": _t(d_mask),
                      "mus": torch.tensor(kernel_mus(n_kernels), dtype=torch.float64),
                      "sigmas": torch.tensor(kernel_sigmas(n_kernels), dtype=torch.float64)})
    d_mask = np.ones((1, 4), dtype=np.int64)
    d_mask[0] = 0  # a document of padding only: every soft-TF is 0, clamped to 1e-10 before the log
    cases.append({"M": _t(np.zeros((1, 2, 4))), "q_mask": _t(np.ones((1, 2), dtype=np.int64)), "d_mask": _t(d_mask),
                  "mus": torch.tensor(kernel_mus(5), dtype=torch.float64), "sigmas": torch.tensor(kernel_sigmas(5), dtype=torch.float64)})
    return cases


def _knrm_reference(M, q_mask, d_mask, mus, sigmas):
    from lessonlib.interaction.knrm import kernel_pooling  # deferred: pulls in torch

    return kernel_pooling(M, q_mask, d_mask, mus, sigmas)


register(ExerciseCheck(
    id="knrm_pooling", title="KNRM kernel pooling: soft-TF and log-sum",
    practises="17_kernel_models — K-NRM (Day 10.2 §4.1)",
    cases=_knrm_cases, reference=_knrm_reference,
    hint="soft_tf[b, i, k] = sum over REAL doc tokens j of exp(-(M_bij - mu_k)^2 / (2 sigma_k^2)); "
         "phi[b, k] = 0.01 * sum over REAL query tokens i of log(max(soft_tf, 1e-10)).",
    atol=1e-6,
))


# ---------------------------------------------------------------- MaxP (19_efficiency_long_documents §2.3)
def _maxp_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for n_docs, mode in [(1, "maxp"), (3, "maxp"), (4, "firstp"), (5, "sump"), (3, "meanp"), (6, "maxp"), (6, "firstp"), (6, "sump")]:
        windows = rng.integers(1, 5, n_docs)
        owner = np.repeat(np.arange(n_docs), windows)
        cases.append({"passage_scores": [float(s) for s in np.round(rng.normal(size=len(owner)) * 3, 4)],
                      "owner": [int(o) for o in owner], "n_docs": n_docs, "mode": mode})
    for mode in ("maxp", "firstp", "sump", "meanp"):  # document 1 has no passage; ties inside document 0
        cases.append({"passage_scores": [2.0, 2.0, -1.0, 0.5], "owner": [0, 0, 2, 2], "n_docs": 3, "mode": mode})
    cases.append({"passage_scores": [], "owner": [], "n_docs": 2, "mode": "maxp"})  # no passages at all
    return cases


def _maxp_reference(passage_scores, owner, n_docs, mode):
    from lessonlib.cross.longdoc import aggregate  # deferred: pulls in torch

    return aggregate(np.asarray(passage_scores, np.float64), np.asarray(owner, np.int64), n_docs, mode).astype(np.float64)


register(ExerciseCheck(
    id="passage_aggregation", title="Long documents: FirstP, MaxP, SumP and MeanP over sliding windows",
    practises="19_efficiency_long_documents — sliding windows (Day 10.2 §2.3)",
    cases=_maxp_cases, reference=_maxp_reference,
    hint="group the window scores by owner (windows arrive in document order); firstp = the first window's "
         "score, maxp = max, sump = sum, meanp = mean; a document without windows gets -inf for maxp, 0 otherwise.",
    atol=1e-4,
))


# ---------------------------------------------------------------- calibration (20_cross_encoder_evaluation §5.1)
def _ece_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for n, scale, temperature, n_bins in [(50, 1.0, 1.0, 10), (200, 4.0, 1.0, 10), (200, 4.0, 2.5, 10),
                                          (300, 0.5, 0.5, 15), (100, 2.0, 1.7, 5), (1, 1.0, 1.0, 10)]:
        logits = rng.normal(size=n) * scale
        labels = (rng.random(n) < 1 / (1 + np.exp(-logits / 2))).astype(np.int64)  # over-confident logits
        cases.append({"logits": logits, "labels": labels, "temperature": temperature, "n_bins": n_bins})
    cases.append({"logits": np.zeros(6), "labels": np.array([1, 0, 1, 1, 0, 0]), "temperature": 3.0, "n_bins": 10})  # p = 0.5, a bin edge
    cases.append({"logits": np.array([-50.0, 50.0, 40.0, -40.0]), "labels": np.array([0, 1, 0, 0]), "temperature": 1.0, "n_bins": 10})  # p = 0 and 1
    cases.append({"logits": np.array([2.0, 2.0, 2.0]), "labels": np.array([1, 1, 1]), "temperature": 1.0, "n_bins": 1})  # one bin
    return cases


def _ece_reference(logits, labels, temperature=1.0, n_bins=10):
    return expected_calibration_error(apply_temperature(logits, temperature), labels, n_bins)


register(ExerciseCheck(
    id="ece_temperature", title="Expected calibration error after temperature scaling",
    practises="20_cross_encoder_evaluation — calibration (Day 10.2 §5.1)",
    cases=_ece_cases, reference=_ece_reference,
    hint="p = sigmoid(logit / T); bin b = np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], p) (bins "
         "(b/B, (b+1)/B], 0 in the first); ECE = sum over NON-EMPTY bins of n_b / n * |mean(label) - mean(p)|.",
    atol=1e-9,
))


# ---------------------------------------------------------------- adaptive re-ranking (22_hybrid_systems)
def adaptive_rerank_policy(run: dict[str, dict[str, float]], threshold: float, k: int) -> dict[str, Any]:
    """Re-rank a query only when the first stage is unsure: top-1 minus top-2 score < ``threshold``.

    A large gap between the first stage's two best scores means its top document is clear and a
    cross-encoder is unlikely to change the first place; a small gap (or a tie) means it may. A
    query with fewer than 2 documents has nothing to reorder and is never re-ranked. The cost is
    the number of cross-encoder calls: min(k, |docs|) per re-ranked query. (The idea of query
    performance prediction / selective re-ranking for cost: e.g. Culpepper, Clarke & Lin 2016,
    "Dynamic cutoff prediction in multi-stage retrieval systems".)

    The library's policy, which notebook 22 uses: ``lessonlib.retrieval.adaptive.adaptive_rerank``.

    Returns ``{"rerank": {qid: bool}, "cost": int}``.
    """
    return adaptive_rerank(run, threshold, k)


def _adaptive_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = []
    for n_queries, threshold, k, ties in [(1, 0.5, 10, False), (5, 0.3, 10, False), (8, 0.1, 5, False),
                                          (6, 1.0, 100, True), (10, 0.0, 10, False), (4, float("inf"), 3, False)]:
        run = {}
        for qi in range(n_queries):
            n_docs = int(rng.integers(2, 15))
            scores = rng.integers(0, 4, n_docs).astype(float) if ties else np.round(rng.gamma(2.0, 2.0, n_docs), 3)
            run[f"q{qi}"] = {f"d{j}": float(s) for j, s in enumerate(scores)}
        cases.append({"run": run, "threshold": threshold, "k": k})
    cases.append({"run": {"q1": {"a": 5.0}, "q2": {}, "q3": {"a": 2.0, "b": 2.0}}, "threshold": 0.5, "k": 10})  # 1 doc, none, a tie
    cases.append({"run": {}, "threshold": 0.5, "k": 10})  # no queries
    return cases


register(ExerciseCheck(
    id="adaptive_rerank", title="Adaptive re-ranking: rerank only where the first stage is unsure",
    practises="22_hybrid_systems — retrieve-then-rerank, adaptive re-ranking (Day 10.2 §2.3, §5.2)",
    cases=_adaptive_cases, reference=adaptive_rerank_policy,
    hint="margin = best score - second best score; rerank iff the query has >= 2 documents and margin < "
         "threshold (strictly); cost = sum over reranked queries of min(k, number of documents).",
))


# ---------------------------------------------------------------- recall@k has its own source (ex06)
