"""lessonlib.evaluation.metrics.evaluate vs pytrec_eval on a SciFact BM25 run, in one process.

Checks the figures agree (max absolute difference over queries and measures) and prints both
times and their ratio (best of ``--repeat``).

    LESSONLIB_DATA=/path/to/data python bench/bench_metrics.py [--data scifact] [--k 1000]
"""

from __future__ import annotations

import argparse
import time

PAIRS = {"ndcg@10": "ndcg_cut_10", "map": "map", "mrr": "recip_rank", "p@10": "P_10",
         "recall@100": "recall_100", "success@10": "success_10", "r_precision": "Rprec"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="scifact")
    parser.add_argument("--split", default="test")
    parser.add_argument("--k", type=int, default=1000, help="run depth")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import pytrec_eval

    from lessonlib.data import load_dataset
    from lessonlib.evaluation.metrics import evaluate
    from lessonlib.retrieval.bm25 import BM25

    ds = load_dataset(args.data, args.split)
    run = BM25().retrieve(ds, k=args.k)
    print(f"{ds.name}/{args.split}: {len(run)} queries, {sum(map(len, run.values()))} run lines")
    trec_names = {"ndcg_cut.10", "map", "recip_rank", "P.10", "recall.100", "success.10", "Rprec"}

    def ours():
        return evaluate(ds.qrels, run, list(PAIRS), per_query=True)

    def theirs():
        return pytrec_eval.RelevanceEvaluator(ds.qrels, trec_names).evaluate(run)

    times = {}
    for name, fn in (("pytrec_eval", theirs), ("lessonlib", ours)):
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            out = fn()
            best = min(best, time.perf_counter() - start)
        times[name] = (best, out)
        print(f"{name:>12}: {best * 1000:.1f} ms")
    ref, us = times["pytrec_eval"][1], times["lessonlib"][1]
    diff = max(abs(us[q][a] - ref[q][b]) for q in ref for a, b in PAIRS.items())
    print(f"max |difference| over {len(ref)} queries x {len(PAIRS)} measures: {diff:.2e}")
    print(f"time ratio lessonlib / pytrec_eval: {times['lessonlib'][0] / times['pytrec_eval'][0]:.2f}x")


if __name__ == "__main__":
    main()
