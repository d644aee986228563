"""Dual-encoder fine-tuning in fp32 against bf16 autocast on the same CPU: training time and test quality.

The CPU recipe of notebook 02 (``DualRecipe.CPU``: MNRL + one BM25 negative, batch 32, doc tokens 128)
trains all-MiniLM-L6-v2 on SciFact train twice in ONE process, once with ``LESSONLIB_PRECISION=fp32`` and
once with ``bf16`` (the Trainer's autocast; weights, gradients and AdamW stay fp32), in alternating
order over ``--repeats`` rounds, from the same seed. Both trained models are then scored on SciFact test
with the SAME fp32 encoding, so the comparison isolates training; a paired test over the test claims
(``lessonlib.evaluation.significance.compare_paired``) says whether the two differ.

    LESSONLIB_DATA=... python bench/bench_train_precision.py --max-steps 50 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=None, help="optimizer steps (default: the recipe's 2 epochs)")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of (fp32, bf16), order alternating")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import torch

    from lessonlib.core import config, runtime
    from lessonlib.data import load_dataset
    from lessonlib.dual import encode as E
    from lessonlib.dual.recipe import DualRecipe
    from lessonlib.dual.train import train_dual
    from lessonlib.evaluation.metrics import evaluate, per_query_array
    from lessonlib.evaluation.significance import compare_paired

    torch.set_num_threads(args.threads)
    train, test = load_dataset("scifact", "train"), load_dataset("scifact", "test")
    recipe = DualRecipe.CPU if args.max_steps is None else DualRecipe.CPU.replace(max_steps=args.max_steps)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, native bf16 on this CPU: "
          f"{runtime.native_bf16('cpu')}", file=sys.stderr)
    seconds: dict[str, list[float]] = {"fp32": [], "bf16": []}
    models = {}
    for r in range(args.repeats):
        for precision in (("fp32", "bf16") if r % 2 == 0 else ("bf16", "fp32")):
            os.environ["LESSONLIB_PRECISION"] = precision
            config.seed_everything(0)
            t0 = time.perf_counter()
            trained = train_dual(train, recipe, device="cpu", progress=False)
            seconds[precision].append(time.perf_counter() - t0)
            models[precision] = trained.model
            print(f"round {r + 1}: {precision}: {seconds[precision][-1]:.0f} s", file=sys.stderr)
    os.environ["LESSONLIB_PRECISION"] = "fp32"  # score both the same way
    runs = {p: E.dense_run(test, m, k=100, cache=False) for p, m in models.items()}
    res = {p: evaluate(test.qrels, run, ["ndcg@10", "recall@100"]) for p, run in runs.items()}
    qids = sorted(test.qrels)
    per_q = {p: per_query_array(test.qrels, run, "ndcg@10", qids) for p, run in runs.items()}

    steps = recipe.max_steps or "2 epochs"
    print(f"\nDualRecipe.CPU on SciFact train ({len(train.queries)} claims, {steps} steps), {args.repeats} round(s); "
          f"{torch.get_num_threads()} threads; test: {test.describe()}, scored with fp32 encoding\n")
    print("| training precision | train + set-up s (median) | speed vs fp32 | nDCG@10 | R@100 |")
    print("| --- | --- | --- | --- | --- |")
    ratio = statistics.median(a / b for a, b in zip(seconds["fp32"], seconds["bf16"]))
    for p in ("fp32", "bf16"):
        speed = "1.00x" if p == "fp32" else f"{ratio:.2f}x"
        print(f"| {p} | {statistics.median(seconds[p]):.0f} | {speed} | {res[p]['ndcg@10']:.4f} | {res[p]['recall@100']:.4f} |")
    print("\n" + compare_paired(per_q["bf16"], per_q["fp32"], "bf16 training", "fp32 training", "nDCG@10",
                                unit="test claims").verdict())
    return 0


if __name__ == "__main__":
    sys.exit(main())
