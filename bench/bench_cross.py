"""Cross-encoder re-ranking on SciFact: the headline figure, latency, calibration.

What it does (one process, so every figure comes from the same run):

1. first stages on SciFact: BM25 (lessonlib.retrieval.bm25), zero-shot MiniLM dense (sentence-transformers,
   the peer), their RRF hybrid, or a run file (``--first-stage-run``), top-100 for test and train;
   with ``--dual-finetune`` also a dual encoder fine-tuned with lessonlib on the training part of
   train (the bench_dual recipe chosen on validation) and its RRF hybrid with BM25 — the best
   first stage lessonlib has, so the cross-encoder must beat *that*;
2. a validation split carved from TRAIN queries (``--val-fraction``) chooses the epoch (early
   stopping) and the interpolation weight alpha; the test split is used for reporting only;
3. training: weak supervision (title -> own abstract, ICT sentences) then claims, listwise
   softmax CE over 1 positive + n hard negatives drawn from the hybrid (BM25 + dense) top-50;
4. test: re-rank each first stage's top-100 with the cross-encoder, alone and interpolated with
   the first stage (alpha chosen on validation); nDCG@10 with lessonlib.evaluation.metrics (trec_eval's
   definition);
5. latency (ms/query for 100 candidates) of the cross-encoder vs the dual encoder's query
   encoding + 100 dot products, pairs/s, peak memory; ECE before/after temperature scaling and
   Platt scaling (both fitted on validation).

GPU (the headline):  python bench/bench_cross.py --out bench/results/cross_h100.txt
CPU fast variant:    python bench/bench_cross.py --fast
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lessonlib.core import config  # noqa: E402
from lessonlib.cross import CrossEncoder  # noqa: E402
from lessonlib.cross.data import (  # noqa: E402
    bm25_run,
    groups_from_run,
    inverse_cloze_groups,
    merge_runs,
    subset_qrels,
    weak_title_groups,
)
from lessonlib.cross.train import train_cross_encoder  # noqa: E402
from lessonlib.data import load_dataset, split_queries  # noqa: E402
from lessonlib.retrieval.fusion import normalize  # noqa: E402
from lessonlib.evaluation.metrics import evaluate  # noqa: E402
from lessonlib.retrieval.rerank import choose_alpha, interpolate_first_stage, rerank  # noqa: E402
from lessonlib.core.runs import ranked  # noqa: E402

LINES: list[str] = []


def say(*parts) -> None:
    line = " ".join(str(p) for p in parts)
    print(line, flush=True)
    LINES.append(line)


def ndcg(qrels, run) -> float:
    return evaluate(qrels, run, ["ndcg@10"])["ndcg@10"]


def dense_runs(model_path, ds, query_sets: dict[str, dict[str, str]], k: int, device: str):
    """Zero-shot MiniLM dense runs (cosine) for several query sets; also returns the encoder."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_path), device=device)
    t0 = time.perf_counter()
    emb = st.encode(ds.doc_texts(), batch_size=256, convert_to_tensor=True, normalize_embeddings=True,
                    show_progress_bar=False)
    say(f"dense: encoded {len(ds.doc_ids)} docs in {time.perf_counter() - t0:.1f}s on {device}")
    out = {}
    for name, queries in query_sets.items():
        qids = list(queries)
        q = st.encode([queries[x] for x in qids], batch_size=256, convert_to_tensor=True, normalize_embeddings=True,
                      show_progress_bar=False)
        s, i = torch.topk(q @ emb.T, k=min(k, emb.shape[0]), dim=1)
        s, i = s.cpu().numpy(), i.cpu().numpy()
        ids = ds.doc_ids
        out[name] = {qid: {ids[j]: float(v) for j, v in zip(i[r], s[r])} for r, qid in enumerate(qids)}
    return out, st, emb


def latency_candidates(ds, n_cand: int = 100) -> tuple[np.ndarray, list[str]]:
    """The seeded candidate documents every latency row scores: (corpus positions, texts)."""
    picked = np.random.default_rng(0).choice(len(ds.doc_ids), n_cand, replace=False)
    return picked, [ds.doc_text(ds.doc_ids[j]) for j in picked]


def latency(ce, st, emb, ds, queries, device: str, n_queries: int = 20, n_cand: int = 100) -> dict:
    """ms/query to score n_cand candidates: cross-encoder vs dual encoder (query encode + dot).

    ``emb`` holds the corpus embeddings (the dual encoder's index); ``None`` encodes just the
    n_cand candidates first (same vectors, no full-corpus pass needed for a latency-only run).
    """
    qids = list(queries)[:n_queries]
    picked, docs = latency_candidates(ds, n_cand)
    if emb is None:
        cand_emb = st.encode(docs, convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False)
    else:
        cand_emb = emb[torch.as_tensor(picked, device=emb.device)]
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    ce.score(queries[qids[0]], docs, batch_size=n_cand)  # warm-up
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    sync()
    t0 = time.perf_counter()
    for q in qids:
        ce.score(queries[q], docs, batch_size=n_cand)
    sync()
    ce_ms = (time.perf_counter() - t0) / len(qids) * 1000
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else float("nan")
    st.encode([queries[qids[0]]], convert_to_tensor=True)
    sync()
    t0 = time.perf_counter()
    for q in qids:
        v = st.encode([queries[q]], convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False)
        _ = (v @ cand_emb.T).cpu()
    sync()
    de_ms = (time.perf_counter() - t0) / len(qids) * 1000
    return {"ce_ms_per_query": ce_ms, "dual_ms_per_query": de_ms, "ratio": ce_ms / de_ms,
            "ce_pairs_per_s": n_cand / ce_ms * 1000, "ce_peak_mib": peak}


def calibration(run_val, qrels_val, run_test, qrels_test, k: int) -> dict:
    """ECE of sigmoid(logit) on test top-k pairs (unjudged = 0); temperature / Platt fitted on validation."""
    from lessonlib.evaluation.calibration import (
        apply_platt,
        apply_temperature,
        expected_calibration_error,
        fit_platt,
        fit_temperature,
        sigmoid,
    )

    def pairs(ce_run, qrels):
        logits, labels = [], []
        for q, docs in ce_run.items():
            for d, s in ranked(docs, k):
                logits.append(s)
                labels.append(1 if qrels.get(q, {}).get(d, 0) > 0 else 0)
        return np.asarray(logits), np.asarray(labels)

    lv, yv = pairs(run_val, qrels_val)
    lt, yt = pairs(run_test, qrels_test)
    t = fit_temperature(lv, yv)
    a, b = fit_platt(lv, yv)
    return {"ece_before": expected_calibration_error(sigmoid(lt), yt),
            "ece_after": expected_calibration_error(apply_temperature(lt, t), yt), "temperature": t,
            "ece_platt": expected_calibration_error(apply_platt(lt, a, b), yt), "platt": (a, b)}


def finetuned_dual_runs(train, test, tr_q, val_fraction: float, k: int, device: str, model: str):
    """Fine-tune a dual encoder on the training part of train only (validation queries held out),
    with the recipe bench_dual chose on validation; dense top-k runs for test and all of train."""
    from lessonlib.dual.train import TokenCache, dense_candidates, train_dual

    part, _ = train.split_validation(val_fraction, seed=0)
    if set(part.qrels) != set(tr_q):
        raise SystemExit("bench_cross: the dual encoder's training queries differ from the cross-encoder's")
    t0 = time.perf_counter()
    _, _, dual = train_dual(part, model_name=model, out_dir=None, device=device, progress=False,
                            negatives="dynamic", n_negatives=3, skip_top=3, depth=30, epochs=8)
    say(f"dual encoder fine-tuned on {len(part.qrels)} train queries in {time.perf_counter() - t0:.1f}s "
        "(dynamic negatives x3, skip 3, 8 epochs)")
    runs = {name: dense_candidates(dual, ds, TokenCache(dual).add(ds), 256, 64, depth=k, batch_size=256)
            for name, ds in (("test", test), ("train", train))}
    del dual
    return runs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="scifact")
    p.add_argument("--model", default=config.DEFAULT_MODEL)
    p.add_argument("--fast", action="store_true", help="CPU-sized: few queries, few steps")
    p.add_argument("--first-stage-run", default=None, help="TREC run of the test split to re-rank as well")
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--epochs", type=int, default=8, help="max epochs on claims (best on validation is kept)")
    p.add_argument("--weak-epochs", type=int, default=1)
    p.add_argument("--ict-docs", type=int, default=5183, help="ICT pairs in the weak stage (0: none)")
    p.add_argument("--negatives", type=int, default=15)
    p.add_argument("--neg-depth", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=8, help="groups per step")
    p.add_argument("--lr", type=float, default=3e-5)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--overflow", default="truncate")
    p.add_argument("--val-fraction", type=float, default=0.15)
    p.add_argument("--seeds", default="0", help="comma-separated seeds; >1 seed = an ensemble (mean of z-scores)")
    p.add_argument("--out", default=None)
    p.add_argument("--save-model", default=None)
    p.add_argument("--dual-finetune", action="store_true",
                   help="add a lessonlib fine-tuned dual encoder and its hybrid with BM25 as first stages")
    args = p.parse_args(argv)

    dev = config.device()
    config.seed_everything(0)
    from lessonlib.core.hub import resolve_model as resolve

    model_path = resolve(args.model)
    say(f"# bench_cross  device={dev} torch={torch.__version__} fast={args.fast} args={vars(args)}")
    test = load_dataset(args.data, "test")
    train = load_dataset(args.data, "train")
    if args.fast:
        args.epochs, args.weak_epochs, args.ict_docs, args.negatives = 1, 0, 0, 3
        test.qrels = dict(list(sorted(test.qrels.items()))[:20])
        test.queries = {q: test.queries[q] for q in test.qrels}
        train.qrels = dict(list(sorted(train.qrels.items()))[:120])
        train.queries = {q: train.queries[q] for q in train.qrels}
        args.k = 10
        test.qrels = dict(list(test.qrels.items())[:8]); test.queries = {q: test.queries[q] for q in test.qrels}
        train.qrels = dict(list(train.qrels.items())[:40]); train.queries = {q: train.queries[q] for q in train.qrels}
        keep = set()
        for ds in (test, train):
            keep |= {d for docs in bm25_run(ds, ds.queries, k=args.k).values() for d in docs}
            keep |= {d for docs in ds.qrels.values() for d in docs}
        for ds in (test, train):
            ds.corpus = {d: ds.corpus[d] for d in ds.corpus if d in keep}

    tr_q, val_q = split_queries(train.qrels, args.val_fraction, seed=0)
    qrels_tr, qrels_val = subset_qrels(train.qrels, tr_q), subset_qrels(train.qrels, val_q)
    q_val = {q: train.queries[q] for q in val_q}
    t0 = time.perf_counter()
    bm25 = {"test": bm25_run(test, test.queries, k=args.k), "train": bm25_run(train, train.queries, k=args.k)}
    say(f"bm25 runs in {time.perf_counter() - t0:.1f}s")
    dense, st, emb = dense_runs(model_path, test, {"test": test.queries, "train": train.queries}, args.k, dev)
    first = {
        "bm25": bm25,
        "dense": dense,
        "hybrid": {s: merge_runs(bm25[s], dense[s]) for s in ("test", "train")},
    }
    if args.dual_finetune:
        ft = finetuned_dual_runs(train, test, tr_q, args.val_fraction, args.k, dev, args.model)
        first["dense_ft"] = ft
        first["hybrid_ft"] = {s: merge_runs(bm25[s], ft[s]) for s in ("test", "train")}
    if args.first_stage_run:
        from lessonlib.data import read_run

        first["run_file"] = {"test": read_run(args.first_stage_run), "train": None}
    for name, runs in first.items():
        v = ndcg(qrels_val, runs["train"]) if runs["train"] else float("nan")
        say(f"first stage {name:8s} nDCG@10 test={ndcg(test.qrels, runs['test']):.4f} val={v:.4f} "
            f"R@{args.k} test={evaluate(test.qrels, runs['test'], [f'recall@{args.k}'])[f'recall@{args.k}']:.4f}")

    # ---- training data: hard negatives from the hybrid top-neg_depth of train queries
    groups_tr = groups_from_run(train, first["hybrid"]["train"], n_negatives=args.negatives, depth=args.neg_depth,
                                seed=0, qrels=qrels_tr)
    weak = []
    if args.weak_epochs:
        t0 = time.perf_counter()
        weak = weak_title_groups(train, n_negatives=args.negatives, seed=0)
        if args.ict_docs:
            weak += inverse_cloze_groups(train, n_negatives=args.negatives, seed=1, max_docs=args.ict_docs)
        say(f"weak supervision groups: {len(weak)} ({time.perf_counter() - t0:.1f}s)")
    say(f"claims groups: {len(groups_tr)} from {len(qrels_tr)} train queries; validation queries: {len(qrels_val)}")

    seeds = [int(s) for s in args.seeds.split(",")]
    ce_runs = {name: {"test": [], "val": []} for name in first}
    model = None
    for seed in seeds:
        config.seed_everything(seed)
        model = CrossEncoder(model_path, max_length=args.max_length, overflow=args.overflow, device=dev)
        t0 = time.perf_counter()
        if weak:
            train_cross_encoder(model, weak, epochs=args.weak_epochs, batch_size=args.batch_size, lr=args.lr,
                                seed=seed, progress=False)
            say(f"seed {seed}: weak stage {time.perf_counter() - t0:.1f}s")

        def eval_fn(m):
            r = rerank(m, (train.corpus, train.queries), {q: first["bm25"]["train"][q] for q in val_q}, k=args.k,
                       batch_size=256, show_progress=False)
            return {"ndcg@10": ndcg(qrels_val, r)}

        steps_per_epoch = -(-len(groups_tr) // args.batch_size)
        hist = train_cross_encoder(model, groups_tr, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                   eval_fn=eval_fn, eval_every=steps_per_epoch, select_metric="ndcg@10", seed=seed,
                                   progress=False)
        evals = [(h["step"] // steps_per_epoch, round(h["eval"]["ndcg@10"], 4)) for h in hist if "eval" in h]
        say(f"seed {seed}: claims stage done in {time.perf_counter() - t0:.1f}s; val nDCG@10 per epoch "
            f"(BM25 top-{args.k}): {evals}")
        for name, runs in first.items():
            ce_runs[name]["test"].append(rerank(model, test, runs["test"], k=args.k, batch_size=256, show_progress=False))
            if runs["train"]:
                ce_runs[name]["val"].append(rerank(model, (train.corpus, train.queries),
                                                   {q: runs["train"][q] for q in val_q}, k=args.k, batch_size=256,
                                                   show_progress=False))
    if args.save_model and model is not None:
        model.save(args.save_model)

    # ---- results: CE alone, CE interpolated with the first stage (alpha chosen on validation)
    def ensemble(rs):
        if len(rs) == 1:
            return rs[0]
        zs = [{q: normalize(docs, "zscore") for q, docs in r.items()} for r in rs]
        return {q: {d: float(np.mean([z[q][d] for z in zs])) for d in zs[0][q]} for q in zs[0]}

    say("")
    say(f"| first stage | first stage nDCG@10 | CE alone | CE + alpha*first (alpha from val) | alpha | gain over first |")
    say("| --- | --- | --- | --- | --- | --- |")
    best = None
    for name, runs in first.items():
        ce_test = ensemble(ce_runs[name]["test"])
        base = ndcg(test.qrels, runs["test"])
        alone = ndcg(test.qrels, ce_test)
        if ce_runs[name]["val"]:
            ce_val = ensemble(ce_runs[name]["val"])
            first_val = {q: runs["train"][q] for q in val_q}
            alpha, _ = choose_alpha(ce_val, first_val, qrels_val)
            val_score = ndcg(qrels_val, interpolate_first_stage(ce_val, first_val, alpha))
        else:
            alpha, val_score = 0.0, float("nan")
        fused = ndcg(test.qrels, interpolate_first_stage(ce_test, runs["test"], alpha))
        say(f"| {name} | {base:.4f} | {alone:.4f} | {fused:.4f} | {alpha:.1f} | {fused - base:+.4f} |")
        if len(seeds) > 1:  # each seed's model alone, same alpha: how much of the figure is luck
            per_seed = [ndcg(test.qrels, interpolate_first_stage(r, runs["test"], alpha)) for r in ce_runs[name]["test"]]
            say(f"|   per seed | | | {', '.join(f'{v:.4f}' for v in per_seed)} | | |")
        if runs["train"] and (best is None or val_score > best[1]):
            best = (name, val_score, base, fused, alpha)
    say("")
    if best:
        name, val_score, base, fused, alpha = best
        say(f"HEADLINE (pipeline chosen on validation: {name}, val nDCG@10 {val_score:.4f}): "
            f"CE re-rank + interpolation nDCG@10 = {fused:.4f} vs first stage {base:.4f} ({fused - base:+.4f}); "
            f"target >= 0.76 and >= +0.02: {'MET' if fused >= 0.76 and fused - base >= 0.02 else 'NOT MET'}")
        strongest = max((n for n in first if first[n]["train"]), key=lambda n: ndcg(qrels_val, first[n]["train"]))
        say(f"strongest first stage on validation: {strongest} (test nDCG@10 {ndcg(test.qrels, first[strongest]['test']):.4f})")

    lat = latency(model, st, emb, test, test.queries, dev)
    say(f"latency on {dev} (100 candidates/query): cross-encoder {lat['ce_ms_per_query']:.1f} ms/query, "
        f"dual encoder {lat['dual_ms_per_query']:.1f} ms/query, ratio {lat['ratio']:.1f}x; "
        f"CE {lat['ce_pairs_per_s']:.0f} pairs/s; CE peak GPU memory {lat['ce_peak_mib']:.0f} MiB; "
        f"CE parameters {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M")
    try:
        cal = calibration(ce_runs["bm25"]["val"][-1], qrels_val, ce_runs["bm25"]["test"][-1], test.qrels, 10)
        say(f"calibration (top-10 of BM25, sigmoid of the logit): ECE {cal['ece_before']:.4f} -> "
            f"{cal['ece_after']:.4f} after temperature T={cal['temperature']:.2f}, -> {cal['ece_platt']:.4f} after "
            f"Platt a={cal['platt'][0]:.2f} b={cal['platt'][1]:.2f} (both fitted on validation)")
    except Exception as exc:  # noqa: BLE001
        say(f"calibration skipped: {exc!r}")
    if args.out:
        from lessonlib.core.io import atomic_write

        with atomic_write(args.out) as fh:
            fh.write("\n".join(LINES) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
