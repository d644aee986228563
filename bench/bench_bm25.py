"""BM25 side by side: lessonlib.retrieval.bm25.BM25 and bm25s on SciFact test, in one process.

Both use the same tokenization (lower-case, Lucene's English stop words, Snowball stemmer) and
Lucene BM25 with k1=1.5, b=0.75. Prints nDCG@10 and R@100 (lessonlib.evaluation.metrics, trec_eval's
definitions), index and search times, and the time ratio ours / bm25s (best of ``--repeat``).

    LESSONLIB_DATA=/path/to/data python bench/bench_bm25.py [--data scifact] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("DISABLE_TQDM", "1")  # bm25s progress bars off: they cost time

import numpy as np


def run_bm25s(texts, queries, k):
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    t0 = time.perf_counter()
    corpus_tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    retriever.index(corpus_tokens, show_progress=False)
    t1 = time.perf_counter()
    query_tokens = bm25s.tokenize(queries, stopwords="en", stemmer=stemmer, show_progress=False)
    idx, scores = retriever.retrieve(query_tokens, k=k, show_progress=False, n_threads=1)
    t2 = time.perf_counter()
    return idx, scores, t1 - t0, t2 - t1


def run_ours(texts, doc_ids, queries, k):
    from lessonlib.retrieval.bm25 import BM25

    t0 = time.perf_counter()
    bm25 = BM25(k1=1.5, b=0.75).fit(texts, doc_ids)
    t1 = time.perf_counter()
    scores, idx = bm25.search(queries, k)
    t2 = time.perf_counter()
    return idx, scores, t1 - t0, t2 - t1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="scifact")
    parser.add_argument("--split", default="test")
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from lessonlib.data import load_dataset
    from lessonlib.evaluation.metrics import evaluate
    from lessonlib.core.runs import hits_to_run

    ds = load_dataset(args.data, args.split)
    texts, doc_ids = ds.doc_texts(), ds.doc_ids
    qids = list(ds.queries)
    queries = [ds.queries[q] for q in qids]
    print(f"{ds.name}/{args.split}: {len(texts)} docs, {len(queries)} queries, k={args.k}, best of {args.repeat}")

    results = {}
    for name in ("bm25s", "lessonlib"):
        best = None
        for _ in range(args.repeat):
            if name == "bm25s":
                idx, scores, t_index, t_search = run_bm25s(texts, queries, args.k)
            else:
                idx, scores, t_index, t_search = run_ours(texts, doc_ids, queries, args.k)
            if best is None or t_index + t_search < best[2] + best[3]:
                best = (idx, scores, t_index, t_search)
        idx, scores, t_index, t_search = best
        run = hits_to_run(qids, doc_ids, np.asarray(scores), np.asarray(idx))
        m = evaluate(ds.qrels, run, ["ndcg@10", "recall@100"])
        results[name] = (m, t_index, t_search, idx)
        print(
            f"{name:>10}: nDCG@10 {m['ndcg@10']:.4f}  R@100 {m['recall@100']:.4f}  "
            f"index {t_index:.3f} s  search {t_search:.3f} s  ({len(queries) / t_search:.0f} QPS)"
        )

    (m_ref, ti_ref, ts_ref, idx_ref), (m_us, ti_us, ts_us, idx_us) = results["bm25s"], results["lessonlib"]
    overlap = np.mean([len(set(a[:10]) & set(b[:10])) / 10 for a, b in zip(np.asarray(idx_ref), idx_us)])
    print(f"nDCG@10 difference (ours - bm25s): {m_us['ndcg@10'] - m_ref['ndcg@10']:+.4f}")
    print(f"top-10 overlap with bm25s: {overlap:.3f}")
    print(
        f"time ratio ours / bm25s: index {ti_us / ti_ref:.2f}x  search {ts_us / ts_ref:.2f}x  "
        f"total {(ti_us + ts_us) / (ti_ref + ts_ref):.2f}x"
    )


if __name__ == "__main__":
    main()
