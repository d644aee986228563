"""Dual-encoder fine-tuning on SciFact: the recipe, its ablations, and the hybrid, in one process.

Every row trains on SciFact *train* (809 claims) and reports nDCG@10 / R@100 on *test* (300 claims,
full ranking of the 5,183 abstracts; lessonlib.evaluation.metrics = trec_eval's definitions, checked against
pytrec_eval where installed). Hyperparameters of the "best" row are chosen on a validation split
carved from train (15 % of the claims, seed 0) — never on test.

Rows (``--only`` takes a comma-separated list of names or group names):

  main      bm25, zeroshot, ref (MNRL + 1 BM25 negative, 3 epochs, lr 2e-5, batch 32: the
            FINDINGS.md reference recipe), val (validation sweep), best, hybrid, cpu_recipe
  negatives neg_none, neg_random, neg_bm25, neg_dense_noskip, neg_dense, neg_dynamic, nneg_3, nneg_7
  temp      temp_0.01, temp_0.02, temp_0.05, temp_0.1
  pooling   pool_mean, pool_cls, pool_max
  towers    tower_bilstm, tower_cnn (from scratch) vs the pretrained transformer
  peer      sentence-transformers encodes the fine-tuned folder: same nDCG, time ratio

    LESSONLIB_DATA=... python bench/bench_dual.py --device cuda --only main,negatives
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

GROUPS = {
    "main": ["bm25", "zeroshot", "ref", "val", "best", "hybrid", "cpu_recipe"],
    "negatives": ["neg_none", "neg_random", "neg_bm25", "neg_dense_noskip", "neg_dense", "neg_dynamic", "nneg_3", "nneg_7"],
    "temp": ["temp_0.01", "temp_0.02", "temp_0.05", "temp_0.1"],
    "pooling": ["pool_mean", "pool_cls", "pool_max"],
    "towers": ["tower_bilstm", "tower_cnn"],
    "peer": ["peer"],
    "cpu": ["cpu_2ep", "cpu_2ep_96"],
}

# The validation sweep: candidate recipes (all other knobs = train_dual defaults), each trained up
# to VAL_EPOCHS with a validation evaluation after every epoch.
VAL_CANDIDATES = {
    "bm25x1": dict(negatives="bm25", n_negatives=1),
    "dense_skip3_x3": dict(negatives="dense", n_negatives=3, skip_top=3, depth=30),
    "dense_skip3_x3_title": dict(negatives="dense", n_negatives=3, skip_top=3, depth=30, pretrain="title"),
    "dynamic_skip3_x3": dict(negatives="dynamic", n_negatives=3, skip_top=3, depth=30),
}
VAL_EPOCHS = int(os.environ.get("BENCH_VAL_EPOCHS", 8))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="scifact")
    parser.add_argument("--device", default=None, help="cuda | cpu (default: cuda when visible)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the ablation rows")
    parser.add_argument("--only", default="main", help="rows or groups, comma-separated; 'all' for every row")
    parser.add_argument("--model", default=os.environ.get("LESSONLIB_MODEL", "sentence-transformers/all-MiniLM-L6-v2"))
    parser.add_argument("--best", default=None, help="JSON recipe for 'best' (skips the validation sweep)")
    parser.add_argument("--out", default=None, help="also write the table to this file")
    parser.add_argument("--subset", type=int, default=0, help="smoke test: N queries / 10N docs per split")
    args = parser.parse_args()

    import torch

    from lessonlib.retrieval import fusion
    from lessonlib.data import load_dataset
    from lessonlib.dual.recipe import DualRecipe
    from lessonlib.dual.train import (
        TokenCache,
        bm25_candidates,
        dense_candidates,
        model_for,
        train_dual,
    )
    from lessonlib.evaluation.metrics import evaluate

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        torch.set_num_threads(os.cpu_count() or 2)
    wanted: list[str] = []
    for item in args.only.split(","):
        item = item.strip()
        wanted += [r for g in GROUPS.values() for r in g] if item == "all" else GROUPS.get(item, [item])
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else f"CPU x{torch.get_num_threads()}"
    lines = [f"# bench_dual: SciFact test nDCG@10, device {gpu}, torch {torch.__version__}, ablation epochs {args.epochs}"]

    def emit(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    train, test = load_dataset(args.data, "train"), load_dataset(args.data, "test")
    if args.subset:
        train = train.subset(n_docs=10 * args.subset, n_queries=args.subset, seed=0)
        test = test.subset(n_docs=10 * args.subset, n_queries=args.subset, seed=0)
    measures = ["ndcg@10", "recall@100"]
    results: dict[str, dict] = {}

    def score(model, max_length=256):
        t0 = time.perf_counter()
        tokens = TokenCache(model).add(test)
        run = dense_candidates(model, test, tokens, max_length, 64, depth=100, batch_size=256)
        return run, evaluate(test.qrels, run, measures), time.perf_counter() - t0

    def row(name, metrics, seconds=None, note=""):
        results[name] = dict(metrics, seconds=seconds, note=note)
        secs = f"{seconds:7.1f}" if seconds is not None else "      -"
        emit(f"{name:<22} nDCG@10 {metrics['ndcg@10']:.4f}  R@100 {metrics['recall@100']:.4f}  train_s {secs}  {note}")

    def finetune(name, note="", keep=False, **kw):
        base = dict(model_name=args.model, epochs=args.epochs, device=device, progress=False)
        base.update(kw)
        _, hist, model = train_dual(train, out_dir=None, **base)
        done = hist[-1]
        run, m, _ = score(model)
        row(name, m, done["seconds"], note or json.dumps({k: v for k, v in kw.items()}))
        if keep:
            return model, run
        del model
        if device == "cuda":
            torch.cuda.empty_cache()
        return None, run

    bm25_run = None
    if any(r in wanted for r in ("bm25", "hybrid")):
        t0 = time.perf_counter()
        bm25_run = bm25_candidates(test, depth=100)
        row("bm25", evaluate(test.qrels, bm25_run, measures), None, f"lessonlib.retrieval.bm25 BM25, {time.perf_counter() - t0:.1f}s")

    if "zeroshot" in wanted:
        model = model_for(DualRecipe(model_name=args.model), device)
        _, m, secs = score(model)
        row("zeroshot", m, None, f"all-MiniLM-L6-v2, no training (encode+search {secs:.1f}s)")
        del model

    if "ref" in wanted:
        finetune("ref", "MNRL + 1 BM25 negative, 3 epochs, lr 2e-5, batch 32 (FINDINGS reference 0.696)", epochs=3)

    chosen = json.loads(args.best) if args.best else None
    if "val" in wanted and chosen is None:
        tr, va = train.split_validation(0.15, seed=0)
        best_val = (-1.0, None, None)
        for cname, kw in VAL_CANDIDATES.items():
            _, hist, _ = train_dual(tr, model_name=args.model, out_dir=None, val_dataset=va, epochs=VAL_EPOCHS,
                                 device=device, progress=False, **kw)  # fmt: skip
            evals = [h for h in hist if "eval" in h]
            steps_per_epoch = evals[0]["step"]
            curve = [round(e["eval"]["ndcg@10"], 4) for e in evals]
            ep = int(np.argmax(curve)) + 1
            emit(f"val {cname:<22} val nDCG@10 by epoch {curve} -> best epoch {ep} ({steps_per_epoch} steps/epoch)")
            if max(curve) > best_val[0]:
                best_val = (max(curve), cname, ep)
        chosen = dict(VAL_CANDIDATES[best_val[1]], epochs=best_val[2])
        emit(f"val chosen: {best_val[1]} epochs={best_val[2]} (val nDCG@10 {best_val[0]:.4f})")
    best_run = None
    if "best" in wanted or "hybrid" in wanted:
        chosen = chosen or dict(VAL_CANDIDATES["dense_skip3_x3"], epochs=4)
        _, best_run = finetune("best", "chosen on validation: " + json.dumps(chosen), keep=False, **chosen)
    if "hybrid" in wanted and best_run is not None:
        fused = fusion.hybrid(bm25_run, best_run, k=60, depth=100)
        row("hybrid", evaluate(test.qrels, fused, measures), None, "RRF(BM25, best dense), k=60")

    if "cpu_recipe" in wanted:
        finetune("cpu_recipe", "CPU recipe: 1 epoch, BM25 x1, doc tokens 128 while training",
                 epochs=1, train_max_length=128, negatives="bm25", n_negatives=1)  # fmt: skip

    ablation = {
        "neg_none": dict(negatives="none", n_negatives=0),
        "neg_random": dict(negatives="random", n_negatives=1),
        "neg_bm25": dict(negatives="bm25", n_negatives=1),
        "neg_dense_noskip": dict(negatives="dense", n_negatives=1, skip_top=0, depth=30),
        "neg_dense": dict(negatives="dense", n_negatives=1, skip_top=3, depth=30),
        "neg_dynamic": dict(negatives="dynamic", n_negatives=1, skip_top=3, depth=30),
        "nneg_3": dict(negatives="dense", n_negatives=3, skip_top=3, depth=30),
        "nneg_7": dict(negatives="dense", n_negatives=7, skip_top=3, depth=30),
        "cpu_2ep": dict(epochs=2, train_max_length=128, negatives="bm25", n_negatives=1, lr=3e-5),
        "cpu_2ep_96": dict(epochs=2, train_max_length=96, negatives="bm25", n_negatives=1, lr=3e-5),
        "temp_0.01": dict(temperature=0.01),
        "temp_0.02": dict(temperature=0.02),
        "temp_0.05": dict(temperature=0.05),
        "temp_0.1": dict(temperature=0.1),
        "pool_mean": dict(pooling="mean"),
        "pool_cls": dict(pooling="cls"),
        "pool_max": dict(pooling="max"),
        "tower_bilstm": dict(model_name="bilstm", lr=1e-3, epochs=max(10, args.epochs), pooling="max", weight_decay=0.0),
        "tower_cnn": dict(model_name="cnn", lr=1e-3, epochs=max(10, args.epochs), weight_decay=0.0),
    }
    for name, kw in ablation.items():
        if name in wanted:
            finetune(name, **kw)

    if "peer" in wanted:
        _peer(args, train, test, device, emit)

    if args.out:
        from lessonlib.core.io import atomic_write

        with atomic_write(args.out) as handle:
            handle.write("\n".join(lines) + "\n")
    return 0


def _peer(args, train, test, device, emit) -> None:
    """Train the reference recipe, save, then encode test with ours and sentence-transformers."""
    import tempfile

    from sentence_transformers import SentenceTransformer

    from lessonlib.dual.train import TokenCache, dense_candidates, train_dual
    from lessonlib.evaluation.metrics import evaluate
    from lessonlib.core.runs import scores_to_run

    folder = tempfile.mkdtemp(prefix="ft-")
    _, _, model = train_dual(train, model_name=args.model, out_dir=folder, epochs=1, device=device, progress=False)
    t0 = time.perf_counter()
    ours = dense_candidates(model, test, TokenCache(model).add(test), 256, 256, depth=100, batch_size=256)
    t_ours = time.perf_counter() - t0
    st = SentenceTransformer(folder, device=device)
    st.max_seq_length = 256
    t0 = time.perf_counter()
    d = st.encode(test.doc_texts(), batch_size=256, convert_to_numpy=True, normalize_embeddings=True)
    q = st.encode(list(test.queries.values()), batch_size=256, convert_to_numpy=True, normalize_embeddings=True)
    peer = scores_to_run(list(test.queries), test.doc_ids, q @ d.T, k=100)
    t_peer = time.perf_counter() - t0
    a, b = evaluate(test.qrels, ours, "ndcg@10")["ndcg@10"], evaluate(test.qrels, peer, "ndcg@10")["ndcg@10"]
    emit(f"peer: saved folder via SentenceTransformer nDCG@10 {b:.4f} vs ours {a:.4f}; encode+search ours {t_ours:.1f}s, "
         f"sentence-transformers {t_peer:.1f}s, ratio ours/peer {t_ours / t_peer:.2f}")
    try:
        import pytrec_eval

        ev = pytrec_eval.RelevanceEvaluator(test.qrels, {"ndcg_cut.10"})
        vals = [v["ndcg_cut_10"] for v in ev.evaluate(ours).values()]
        emit(f"peer: pytrec_eval nDCG@10 of our run {np.mean(vals) * len(vals) / len(test.qrels):.4f} (lessonlib {a:.4f})")
    except ImportError:
        emit("peer: pytrec_eval not installed, metric cross-check skipped")


if __name__ == "__main__":
    sys.exit(main())
