"""Adaptive re-ranking on SciFact at full scale: quality vs depth k, interpolation, per-query policies.

The figures notebook 22 cannot reach on a CPU (its cross-encoder trains for minutes only). One
process, everything from lessonlib:

1. first stages on SciFact test and on a validation split of TRAIN (15 %, seed 0): BM25
   (``lessonlib.retrieval.bm25``), zero-shot all-MiniLM-L6-v2 (``lessonlib.dual.encode.dense_run``), RRF hybrid;
2. the cross-encoder of ``trained.workbook_cross``, the one notebooks 15, 20, 22 and 23 share
   (``lessonlib.cross.recipe``: the GPU recipe on a GPU, the pooled CPU or FAST one elsewhere), trained on
   the fit claims only;
3. CE scores of every first stage's top ``--k`` (cached per pair, ``lessonlib.cross.score_cache``);
   quality vs depth; alpha of ``z(CE) + alpha * z(first)`` chosen on validation;
4. per query, gain = nDCG@10(re-ranked) - nDCG@10(first stage); policies of ``lessonlib.retrieval.adaptive``
   (margin, normalised margin, peakedness, BM25-dense agreement, a ridge gain model fitted on
   validation): thresholds chosen on VALIDATION, for the best validation quality and for fixed
   validation shares (25 / 50 / 75 % re-ranked); test nDCG@10 and test share reported with
   never / always / oracle / random at the same share.

GPU:  python bench/bench_adaptive.py --out bench/results/adaptive_gpu.txt
CPU:  LESSONLIB_FAST=1 python bench/bench_adaptive.py --k 8 --dense-max-length 128   (a smoke run on the fast
      subsets; it reuses notebook 22's cross-encoder and scores)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lessonlib.core import config  # noqa: E402
from lessonlib.workbook import trained
from lessonlib.retrieval import adaptive
from lessonlib.retrieval.cascade import threshold_for_share  # noqa: E402
from lessonlib.cross.data import subset_qrels  # noqa: E402
from lessonlib.cross.score_cache import CachedScorer  # noqa: E402
from lessonlib.data import course_dataset, split_queries  # noqa: E402
from lessonlib.dual.encode import dense_run  # noqa: E402
from lessonlib.retrieval.fusion import hybrid  # noqa: E402
from lessonlib.evaluation.metrics import evaluate  # noqa: E402
from lessonlib.retrieval.rerank import choose_alpha, interpolate_first_stage, rerank, rerank_top_k  # noqa: E402
from lessonlib.core.runs import truncate  # noqa: E402
from lessonlib.retrieval.bm25 import BM25  # noqa: E402

LINES: list[str] = []
ALPHAS = np.r_[np.arange(0, 2, 0.25), np.arange(2, 10.1, 1)]


def say(*parts) -> None:
    line = " ".join(str(p) for p in parts)
    print(line, flush=True)
    LINES.append(line)


def ndcg(qrels, run) -> float:
    return evaluate(qrels, run, ["ndcg@10"])["ndcg@10"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=100, help="candidates re-ranked per query")
    ap.add_argument("--dense-max-length", type=int, default=None, help="token limit of the dense encoder (default 256)")
    ap.add_argument("--out", default=None, help="write the report here too")
    args = ap.parse_args(argv)
    import torch

    device = config.device()
    say(f"# bench_adaptive device={device} ({torch.cuda.get_device_name(0) if device == 'cuda' else 'cpu'}) "
        f"torch={torch.__version__} fast={config.is_fast()} k={args.k}")
    config.seed_everything(0)
    train, test = course_dataset("train"), course_dataset("test")
    fit_q, val_q = split_queries(train.qrels, fraction=0.15, seed=0)
    val = dataclasses.replace(train, queries={q: train.queries[q] for q in val_q}, qrels=subset_qrels(train.qrels, val_q))
    splits = {"val": val, "test": test}
    t0 = time.perf_counter()
    first = {}
    for s, ds in splits.items():
        a, b = BM25().retrieve(ds, k=100), dense_run(ds, config.DEFAULT_MODEL, k=100, max_length=args.dense_max_length,
                                                   show_progress=False)
        first[s] = {"BM25": a, "dense": b, "hybrid": hybrid(a, b)}
    say(f"first stages in {time.perf_counter() - t0:.1f}s; test nDCG@10:",
        {n: round(ndcg(test.qrels, r), 4) for n, r in first["test"].items()})

    t0 = time.perf_counter()
    ce_dir = trained.workbook_cross(train, fit_q, val_q, device=device)
    scorer = CachedScorer(trained.load_cross(ce_dir))
    say(f"cross-encoder {ce_dir.name} ready in {time.perf_counter() - t0:.0f}s (max_length {scorer.model.max_length})")
    t0 = time.perf_counter()
    ce = {s: {n: rerank(scorer, ds, r, k=args.k, batch_size=128, show_progress=False) for n, r in first[s].items()}
          for s, ds in splits.items()}
    say(f"scored {scorer.n_scored} pairs in {time.perf_counter() - t0:.0f}s ({scorer.n_cached} from the cache)")

    ks = [k for k in (1, 2, 5, 10, 20, 30, 50, 100) if k <= args.k]
    say("\n| first stage | first stage nDCG@10 | " + " | ".join(f"CE alone @k={k}" for k in ks) + " | alpha (val) | CE + alpha*first |")
    say("| --- |" + " --- |" * (len(ks) + 3))
    alphas = {}
    for n in first["test"]:
        alphas[n], _ = choose_alpha(ce["val"][n], truncate(first["val"][n], args.k), val.qrels, alphas=ALPHAS)
        row = [ndcg(test.qrels, rerank_top_k(first["test"][n], ce["test"][n], k)) for k in ks]
        fused = ndcg(test.qrels, rerank_top_k(first["test"][n], interpolate_first_stage(ce["test"][n], truncate(first["test"][n], args.k), alphas[n]), args.k))
        say(f"| {n} | {ndcg(test.qrels, first['test'][n]):.4f} | " + " | ".join(f"{v:.4f}" for v in row)
            + f" | {alphas[n]} | {fused:.4f} |")

    for fs in ("hybrid", "BM25", "dense"):
        best = {s: rerank_top_k(first[s][fs], interpolate_first_stage(ce[s][fs], truncate(first[s][fs], args.k), alphas[fs]), args.k) for s in splits}
        qids = {s: sorted(ds.queries) for s, ds in splits.items()}
        never, gain = {}, {}
        for s, ds in splits.items():
            never[s], gain[s] = adaptive.per_query_gain(ds.qrels, first[s][fs], best[s], qids[s])
        feats = {s: adaptive.confidence_features(first[s][fs], k=10, agreement_of=(first[s]["BM25"], first[s]["dense"]))
                 for s in splits}
        names = list(adaptive.CONFIDENCE_FEATURES)
        X = {s: adaptive.feature_matrix(feats[s], qids[s], names) for s in splits}
        reg = adaptive.GainRegressor(alpha=1.0).fit(X["val"], gain["val"])
        conf = {s: {**{n: X[s][:, i] for i, n in enumerate(names)}, "learned": -reg.predict(X[s])} for s in splits}
        g = gain["test"]
        base, always = float(never["test"].mean()), float(never["test"].mean() + g.mean())
        oracle = adaptive.oracle_curve(g)
        say(f"\n## {fs} -> CE (alpha {alphas[fs]}), test: never {base:.4f}, always {always:.4f}, oracle best "
            f"{base + oracle['gain'].max():.4f} at {oracle['share'][oracle['gain'].argmax()]:.0%}; claims helped / hurt / "
            f"unchanged {np.mean(g > 1e-9):.0%} / {np.mean(g < -1e-9):.0%} / {np.mean(np.abs(g) <= 1e-9):.0%}")
        shares = (0.25, 0.5, 0.75)
        say("| policy | best on val: test share, nDCG@10 | " + " | ".join(f"val share {s:.0%}: test share, nDCG@10" for s in shares) + " |")
        say("| --- | --- |" + " --- |" * len(shares))
        say("| random (expected) | - | " + " | ".join(f"{s:.0%}, {base + s * g.mean():.4f}" for s in shares) + " |")
        say("| oracle | - | " + " | ".join(f"{s:.0%}, {base + np.interp(s, oracle['share'], oracle['gain']):.4f}" for s in shares) + " |")
        for p in conf["val"]:
            cells = []
            t, _ = adaptive.choose_threshold(conf["val"][p], gain["val"])
            for th in [t] + [threshold_for_share(conf["val"][p], s) for s in shares]:
                d = conf["test"][p] < th
                cells.append(f"{d.mean():.0%}, {base + (g * d).mean():.4f}")
            say(f"| {p} | " + " | ".join(cells) + " |")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("\n".join(LINES) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
