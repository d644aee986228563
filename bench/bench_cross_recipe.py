"""Cross-encoder training on SciFact: objectives side by side, and the reduced (CPU) recipe's ablations.

Part ``objectives``: one fresh MiniLM cross-encoder per objective of lessonlib.losses.ranking
(bce, ranknet, hinge, softmax_ce, listnet, listmle, lambda), the SAME lists (each training claim's
cited abstract + 7 BM25 negatives from the top 30, as in FINDINGS.md), the same budget (2 epochs,
batch 8, lr 3e-5, warm-up 10 % + linear decay; bf16 autocast on GPU), no early stopping. Reported:
validation and test nDCG@10 re-ranking BM25's top 100, and the score statistics of the validation
lists (lessonlib.cross.optim.list_statistics: mean, within-list spread, bf16 ties) that show the
pointwise-BCE collapse.

Part ``cpu``: lessonlib.cross.recipe.CrossRecipe.CPU (the recipe notebook 15 runs on a 2-core CPU: pooled
scoring) and variants of it, with monoBERT's [CLS] head beside it at the same budget, trained in
fp32 (as on a CPU); test nDCG@10 of the first stage, the CE alone and the
CE interpolated with the first stage (alpha chosen on validation), and the (query, doc) pairs each
variant pushes through forward + backward (its CPU cost).

GPU:  python bench/bench_cross_recipe.py --part all --out bench/results/cross_recipe_h200.txt
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lessonlib.core import config  # noqa: E402
from lessonlib.cross import CrossEncoder  # noqa: E402
from lessonlib.cross import recipe as R  # noqa: E402
from lessonlib.evaluation.metrics import ndcg10  # noqa: E402
from lessonlib.cross.data import bm25_run, groups_from_run, merge_runs, subset_qrels  # noqa: E402
from lessonlib.cross.model import scoring_class  # noqa: E402
from lessonlib.cross.optim import list_statistics  # noqa: E402
from lessonlib.cross.train import train_cross_encoder  # noqa: E402
from lessonlib.data import load_dataset, split_queries  # noqa: E402
from lessonlib.dual.encode import dense_run  # noqa: E402

LINES: list[str] = []


def say(*parts) -> None:
    line = " ".join(str(p) for p in parts)
    print(line, flush=True)
    LINES.append(line)


def objectives(train, test, fit_q, val_q, bm25, model_path, epochs: int, k: int) -> None:
    qrels_val = subset_qrels(train.qrels, val_q)
    groups = groups_from_run(train, bm25["train"], n_negatives=7, depth=30, seed=0, qrels=subset_qrels(train.qrels, fit_q))
    val_groups = groups_from_run(train, bm25["train"], n_negatives=7, depth=30, seed=1, qrels=qrels_val)
    say(f"## objectives: {len(groups)} lists (1 + 7 BM25 negatives), {epochs} epochs, batch 8, lr 3e-5, "
        f"re-rank BM25 top-{k}")
    say("| objective | val nDCG@10 | test nDCG@10 | mean score | within-list spread | pos first | lists with bf16 ties | train s |")
    say("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for loss in ("bce", "ranknet", "hinge", "softmax_ce", "listnet", "listmle", "lambda"):
        config.seed_everything(0)
        ce = CrossEncoder(model_path, max_length=256, overflow="truncate")
        t0 = time.perf_counter()
        train_cross_encoder(ce, groups, loss=loss, epochs=epochs, batch_size=8, lr=3e-5, seed=0, progress=False)
        secs = time.perf_counter() - t0
        sv, _ = R.score_candidates(ce, train, [bm25["train"]], k, val_q, batch_size=256)
        st, _ = R.score_candidates(ce, test, [bm25["test"]], k, batch_size=256)
        stats = list_statistics(ce, val_groups, batch_size=256)
        say(f"| {loss} | {ndcg10(qrels_val, sv):.4f} | {ndcg10(test.qrels, st):.4f} | {stats['mean']:.3f} | "
            f"{stats['spread']:.3f} | {stats['pos_first']:.3f} | {stats['bf16_ties']:.3f} | {secs:.0f} |")


def cpu_variants(train, test, fit_q, val_q, runs, model_path, only=(), firsts=("bm25", "hybrid")) -> None:
    qrels_val = subset_qrels(train.qrels, val_q)
    cls = R.CrossRecipe.CPU.replace(scoring="cls")  # the first CPU recipe: monoBERT's [CLS] head (cross_recipe_h200.txt)
    small = cls.replace(n_negatives=3)
    variants = {
        "CPU recipe": R.CrossRecipe.CPU,  # pooled scoring
        "CPU recipe, seed 1": R.CrossRecipe.CPU.replace(seed=1),
        "CPU recipe, seed 2": R.CrossRecipe.CPU.replace(seed=2),
        "CPU recipe, zero-shot": R.CrossRecipe.CPU,  # not trained (below)
        "CPU recipe, no weak stage": R.CrossRecipe.CPU.replace(weak_title_docs=0),
        "CPU recipe, 1600 titles": R.CrossRecipe.CPU.replace(weak_title_docs=1600),
        "CPU recipe, 2 claim epochs": R.CrossRecipe.CPU.replace(epochs=2),
        "CPU recipe, BM25 negatives": R.CrossRecipe.CPU,  # negatives from BM25 instead of the hybrid (below)
        "[CLS] scoring": cls,
        "[CLS] scoring, seed 1": cls.replace(seed=1),
        "[CLS] scoring, seed 2": cls.replace(seed=2),
        "[CLS], 7 negatives": cls.replace(n_negatives=7),
        "[CLS], lr 3e-5": small.replace(lr=3e-5),
        "[CLS], 400 titles + 400 ICT": small.replace(weak_title_docs=400, ict_docs=400),
        "[CLS], 1600 titles": small.replace(weak_title_docs=1600),
        "[CLS], train length 96": small.replace(train_max_length=96),
        "[CLS], BM25 negatives": cls,
        "[CLS], no weak stage": cls.replace(weak_title_docs=0),
        "[CLS], 2 claim epochs": cls.replace(epochs=2),
    }
    if only:
        variants = {k: v for k, v in variants.items() if k in only}
    say("## CPU recipe and variants (fp32 training): test nDCG@10")
    say(f"| variant | pairs trained | train s ({config.device()}) | first stage | first | CE alone | CE + alpha first | alpha | val best epoch curve |")
    say("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, rec in variants.items():
        rec = rec.replace(bf16=False)
        t0 = time.perf_counter()
        neg = runs["bm25"]["train"] if name.endswith("BM25 negatives") else runs["hybrid"]["train"]
        if name.endswith("zero-shot"):
            out = R.Trained(scoring_class(rec.scoring)(str(model_path), max_length=rec.max_length, overflow="truncate"),
                            [], 0, 0, 0.0, 0.0)
        else:
            out = R.train_monobert(train, neg, fit_q, val_q, rec, val_run=runs["bm25"]["train"],
                                   progress=False, model_name=str(model_path))
        for first in firsts:
            sv, _ = R.score_candidates(out.model, train, [runs[first]["train"]], rec.eval_k, val_q, batch_size=256)
            st, _ = R.score_candidates(out.model, test, [runs[first]["test"]], rec.eval_k, batch_size=256)
            rep = R.rerank_and_fuse(sv, st, {q: runs[first]["train"][q] for q in val_q}, runs[first]["test"],
                                    qrels_val, test.qrels, rec.eval_k)
            say(f"| {name} | {out.pairs_seen} | {out.train_seconds:.0f} | {first} top-{rec.eval_k} | {rep['first']:.4f} | "
                f"{rep['alone']:.4f} | {rep['fused']:.4f} | {rep['alpha']:.1f} | {[round(v, 3) for _, v in out.val_curve]} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="scifact")
    p.add_argument("--model", default=config.DEFAULT_MODEL)
    p.add_argument("--part", default="all", choices=["all", "objectives", "cpu"])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--variants", default="", help="';'-separated names of CPU variants to run (default: all)")
    p.add_argument("--firsts", default="bm25,hybrid", help="first stages whose top-k the CPU variants re-rank")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    from lessonlib.core.hub import resolve_model as resolve

    model_path = resolve(args.model)
    config.seed_everything(0)
    say(f"# bench_cross_recipe device={config.device()} torch={torch.__version__} args={vars(args)}")
    train, test = load_dataset(args.data, "train"), load_dataset(args.data, "test")
    fit_q, val_q = split_queries(train.qrels, 0.15, seed=0)
    t0 = time.perf_counter()
    runs = {"bm25": {"train": bm25_run(train, train.queries, k=100), "test": bm25_run(test, test.queries, k=100)}}
    if args.part in ("all", "cpu"):
        runs["dense"] = {s: dense_run(ds, str(model_path), k=100, show_progress=False) for s, ds in (("train", train), ("test", test))}
        runs["hybrid"] = {s: merge_runs(runs["bm25"][s], runs["dense"][s]) for s in ("train", "test")}
    say(f"first stages in {time.perf_counter() - t0:.1f}s; {len(fit_q)} fit / {len(val_q)} validation claims")
    for name, r in runs.items():
        say(f"first stage {name}: test nDCG@10 {ndcg10(test.qrels, r['test']):.4f}, "
            f"val {ndcg10(subset_qrels(train.qrels, val_q), {q: r['train'][q] for q in val_q}):.4f}")
    if args.part in ("all", "cpu"):
        cpu_variants(train, test, fit_q, val_q, runs, model_path, [v for v in args.variants.split(';') if v],
                     firsts=args.firsts.split(","))
    if args.part in ("all", "objectives"):
        objectives(train, test, fit_q, val_q, runs["bm25"], model_path, args.epochs, args.k)
    if args.out:
        from lessonlib.core.io import atomic_write

        with atomic_write(args.out) as fh:
            fh.write("\n".join(LINES) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
