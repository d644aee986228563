"""Exercise 19 (05_ann_indexing §3.1): random-hyperplane LSH, signatures and Hamming search."""

from __future__ import annotations

import numpy as np

from lessonlib.core.runs import topk
from lessonlib.index import LSHIndex
from lessonlib.index.lsh import random_hyperplanes
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def _planes(rng: np.random.Generator, d: int, nbits: int) -> np.ndarray:
    return rng.normal(size=(d, nbits)).astype(np.float32)


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for name, n, d, nbits, k in [("50 vectors, 16 bits, k=5", 50, 8, 16, 5),
                                 ("100 vectors, 64 bits, k=10", 100, 16, 64, 10),
                                 ("more bits than dimensions (96 bits, d=8)", 60, 8, 96, 5),
                                 ("a bit count that is not a multiple of 8 (13 bits)", 40, 6, 13, 4),
                                 ("4 bits: many ties, broken by the smaller id", 30, 6, 4, 8),
                                 ("k larger than n: pad with inf / -1", 7, 4, 12, 10)]:
        vectors = rng.normal(size=(n, d)).astype(np.float32)
        query = (vectors[rng.integers(n)] + rng.normal(scale=0.5, size=d)).astype(np.float32)
        out.append(Case(name, {"query": query, "vectors": vectors, "planes": _planes(rng, d, nbits), "k": k}))
    vectors = rng.normal(size=(20, 6)).astype(np.float32)
    vectors[3] = 0.0
    out.append(Case("the zero vector: every projection is 0, so every bit is 0 (x . r > 0 strictly)",
                    {"query": np.zeros(6, np.float32), "vectors": vectors, "planes": _planes(rng, 6, 24), "k": 5}))
    planes = _planes(rng, 6, 16)
    out.append(Case("the query is stored itself: distance 0 first", {"query": vectors[7].copy(), "vectors": vectors, "planes": planes, "k": 3}))
    out.append(Case("one bit, one vector", {"query": vectors[0].copy(), "vectors": vectors[:1].copy(), "planes": planes[:, :1].copy(), "k": 2}))
    base = rng.normal(size=(1, 6)).astype(np.float32)
    copies = np.concatenate([base * 0.1, base * 10, -base, rng.normal(size=(3, 6)).astype(np.float32)])
    out.append(Case("scaled copies share the query's signature; the negated copy differs in every bit",
                    {"query": base[0] * 3, "vectors": copies, "planes": planes, "k": 6}))
    return out


def reference(query, vectors, planes, k):
    vectors, planes = np.asarray(vectors, np.float32), np.asarray(planes, np.float32)
    index = LSHIndex(vectors.shape[1], nbits=planes.shape[1])
    index.planes_ = planes  # the random hyperplanes r_j as columns
    index.add(vectors)
    scores, ids = index.search(np.asarray(query, np.float32)[None, :], k)  # scores = -Hamming distance
    return -scores[0].astype(np.float64), ids[0]


def _search(query, vectors, planes, k, bit=lambda s: s > 0, order=None):
    hamming = (bit(vectors @ planes) != bit(query @ planes)).sum(axis=1)
    ranked = (np.argsort(hamming, kind="stable") if order is None else order(hamming, query, vectors))[:k]
    distances, ids = np.full(k, np.inf), np.full(k, -1, np.int64)
    distances[: len(ranked)], ids[: len(ranked)] = hamming[ranked], ranked
    return distances, ids


def wrong_non_negative_bit(query, vectors, planes, k):
    return _search(query, vectors, planes, k, bit=lambda s: s >= 0)


def wrong_ties_by_larger_id(query, vectors, planes, k):
    return _search(query, vectors, planes, k, order=lambda h, q, x: np.lexsort((-np.arange(len(h)), h)))


def wrong_exact_cosine(query, vectors, planes, k):
    def by_cosine(h, q, x):
        cos = x @ q / np.maximum(np.linalg.norm(x, axis=1) * np.linalg.norm(q), 1e-12)
        return np.argsort(-cos, kind="stable")

    return _search(query, vectors, planes, k, order=by_cosine)


register(ExerciseCheck(
    id="lsh_search", title="LSH with random hyperplanes: signatures and Hamming search",
    practises="05_ann_indexing — LSH: random hyperplanes, Hamming distance (Day 10.1 §3.1)",
    cases=cases, reference=reference,
    hint="signature bits = (x @ planes) > 0 for the stored vectors and the query; Hamming distance = number of "
         "differing bits; return the k smallest distances (ties: smaller id first) as floats with their ids, padded "
         "with inf / -1 up to k.",
    wrong={
        "bit j is 1 only when x . r_j > 0 STRICTLY: a projection of exactly 0 (the zero vector) gives bit 0.":
            wrong_non_negative_bit,
        "equal Hamming distances go to the SMALLER id first (a stable sort by distance).": wrong_ties_by_larger_id,
        "you ranked by the exact cosine: LSH ranks by the Hamming distance between the signatures (that is its "
        "approximation, and its speed).": wrong_exact_cosine,
    },
    blocks=(LSHIndex, random_hyperplanes, topk),
    atol=0.0,
))
