"""Exercise 7 (05_ann_indexing §3.1): IVF search with nprobe."""

from __future__ import annotations

import numpy as np

from lessonlib.core.runs import topk
from lessonlib.index import IVFIndex
from lessonlib.index.base import merge_topk, pad_results
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def _case(rng: np.random.Generator, n: int, d: int, nlist: int, nprobe: int, k: int, duplicates: bool = False):
    vectors = rng.normal(size=(n, d)).astype(np.float32)
    if duplicates and n >= 4:
        vectors[n // 2] = vectors[1]  # same vector twice: a tie, inside one list
    centroids = rng.normal(size=(nlist, d)).astype(np.float32)
    assignment = np.argmax(vectors @ centroids.T, axis=1)  # IVF with metric "ip" assigns by inner product
    lists = [[int(i) for i in np.flatnonzero(assignment == c)] for c in range(nlist)]
    query = (vectors[rng.integers(n)] + rng.normal(scale=0.3, size=d)).astype(np.float32) if n else rng.normal(size=d).astype(np.float32)
    return {"query": query, "centroids": centroids, "lists": lists, "vectors": vectors, "nprobe": nprobe, "k": k}


def cases(rng: np.random.Generator) -> list[Case]:
    out = [Case(name, _case(rng, n, d, nlist, nprobe, k)) for n, d, nlist, nprobe, k, name in
           [(50, 4, 5, 1, 3, "nprobe 1"), (80, 8, 8, 2, 5, "nprobe 2"), (100, 6, 10, 3, 10, "nprobe 3 of 10 lists"),
            (60, 4, 4, 4, 5, "nprobe = nlist: exact search"), (30, 4, 6, 10, 3, "nprobe larger than nlist"),
            (40, 8, 8, 1, 50, "k larger than the probed candidates")]]
    out.append(Case("a tie inside one list, k larger than n", _case(rng, 40, 4, 4, 2, 40, duplicates=True)))
    case = _case(rng, 20, 4, 5, 2, 3)
    case["lists"][int(np.argmax(case["centroids"] @ case["query"]))] = []  # its vectors were removed
    out.append(Case("the nearest list is empty", case))
    return out


def reference(query, centroids, lists, vectors, nprobe, k):
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


def _search(query, centroids, lists, vectors, nprobe, k, probe=None, pad=True):
    probe = np.argsort(-(centroids @ query), kind="stable")[:nprobe] if probe is None else probe
    ids = np.array(sorted(i for c in probe for i in lists[c]), dtype=np.int64)
    scores = vectors[ids] @ query if len(ids) else np.zeros(0, np.float32)
    order = np.argsort(-scores, kind="stable")[:k]
    s, i = scores[order].astype(np.float32), ids[order]
    if pad and len(i) < k:
        s = np.concatenate([s, np.full(k - len(i), -np.inf, np.float32)])
        i = np.concatenate([i, np.full(k - len(i), -1, np.int64)])
    return s, i


def wrong_exhaustive(query, centroids, lists, vectors, nprobe, k):
    return _search(query, centroids, lists, vectors, nprobe, k, probe=range(len(centroids)))


def wrong_nearest_by_l2(query, centroids, lists, vectors, nprobe, k):
    probe = np.argsort(((centroids - query) ** 2).sum(1), kind="stable")[:nprobe]
    return _search(query, centroids, lists, vectors, nprobe, k, probe=probe)


def wrong_no_padding(query, centroids, lists, vectors, nprobe, k):
    return _search(query, centroids, lists, vectors, nprobe, k, pad=False)


register(ExerciseCheck(
    id="ivf_search", title="IVF search with nprobe",
    practises="05_ann_indexing — inverted file index (Day 10.1 §3.1)",
    cases=cases, reference=reference,
    hint="probe the min(nprobe, nlist) lists whose centroids have the LARGEST inner product with the query; "
         "score only their vectors (q . x); return the k best, ties by smaller id, padded with score -inf / id -1.",
    wrong={
        "you scored every vector: IVF scores only the vectors of the nprobe probed lists (that is where its speed, "
        "and its recall loss, come from).": wrong_exhaustive,
        "probe the lists whose centroids have the largest INNER PRODUCT with the query (the index's metric), not the "
        "smallest L2 distance.": wrong_nearest_by_l2,
        "return exactly k results: pad the missing ones with score -inf and id -1 (FAISS's format).": wrong_no_padding,
    },
    blocks=(IVFIndex, topk, pad_results, merge_topk),
    atol=1e-5,
))
