"""ANN benchmark: our teaching indexes and the production libraries side by side, in one process.

    python bench/bench_ann.py --quick            # minutes: SciFact (fast subset), 50k synthetic
    python bench/bench_ann.py --full             # SciFact full, 1M x 384 synthetic (long: run once)
    python bench/bench_ann.py --full --only scale    # just the 1M scaling section

Sections: parity (teaching vs FAISS at equal knobs, recall@10 on SciFact MiniLM vectors),
sweep (recall vs QPS for every index + Pareto frontier, incl. Annoy/hnswlib/ScaNN), compress
(SQ/PQ/OPQ/IVF-PQ/PCA: bytes per vector vs recall vs nDCG@10), overhead (lessonlib FaissIndex vs
raw faiss), scale (corpus size 10k -> 1M, dim 64 -> 768, query threads). Each section's text goes
to bench/results/ann_<section>.txt; bench/results/ann.txt gathers all sections (a section not run
this time is included from its last saved file, marked with its date); figures to ann.png.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import faiss  # noqa: E402

from lessonlib.core import config  # noqa: E402
from lessonlib.index.benchmark import (Row, build_index, exact_neighbors, format_table, measure, ndcg_at_10, pareto,  # noqa: E402
                                recall_at_k, scifact_embeddings, sweep, thread_scaling)
from lessonlib.index import (AnnoyIndex, FaissIndex, FlatIndex, HNSWIndex, HnswlibIndex, IVFIndex, LSHIndex,  # noqa: E402
                             OPQIndex, PQIndex, ScannIndex, SQIndex, scann_available)
from lessonlib.data.synthetic import clustered_queries, write_clustered  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SECTIONS = ["parity", "sweep", "compress", "overhead", "lid", "scale"]
FIG: dict[str, object] = {}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


# -- sections --------------------------------------------------------------------------------------------
def section_parity(x, q, truth, args) -> str:
    d = x.shape[1]
    pairs = [
        ("IVF nlist=64 nprobe=4", IVFIndex(d, nlist=64, nprobe=4), FaissIndex("IVF64,Flat", d, nprobe=4)),
        ("PQ M=48 nbits=8", PQIndex(d, M=48, nbits=8, niter=10), FaissIndex("PQ48", d)),
        ("LSH nbits=768", LSHIndex(d, nbits=768), FaissIndex("LSH768", d)),
        ("SQ 8-bit", SQIndex(d, nbits=8), FaissIndex("SQ8", d)),
        ("HNSW M=16 efC=40 efS=32", HNSWIndex(d, M=16, efConstruction=40, efSearch=32),
         FaissIndex("HNSW16", d, efConstruction=40, efSearch=32)),
    ]
    lines = [f"{'structure (equal knobs)':<28}{'ours R@10':>10}{'FAISS R@10':>11}{'diff':>7}{'ours build s':>13}{'FAISS build s':>14}",]
    for name, ours, theirs in pairs:
        out = []
        for idx in (ours, theirs):
            idx, b = build_index(lambda idx=idx: idx.train(x).add(x))
            out.append((recall_at_k(idx.search(q, 10)[1], truth, 10), b))
        lines.append(f"{name:<28}{out[0][0]:>10.3f}{out[1][0]:>11.3f}{out[0][0] - out[1][0]:>+7.3f}{out[0][1]:>13.2f}{out[1][1]:>14.2f}")
        log(lines[-1])
    return "\n".join(lines)


def section_sweep(x, q, truth, args) -> str:
    d = x.shape[1]
    rows: list[Row] = []
    rows += sweep("exact (faiss Flat)", lambda: FaissIndex("Flat", d).add(x), q, truth)
    base_qps = rows[0].qps
    rows += sweep("ours IVF64", lambda: IVFIndex(d, nlist=64).train(x).add(x), q, truth, "nprobe", [1, 4, 16])
    rows += sweep("faiss IVF64,Flat", lambda: FaissIndex("IVF64,Flat", d).train(x).add(x), q, truth, "nprobe", [1, 2, 4, 8, 16])
    rows += sweep("ours HNSW16", lambda: HNSWIndex(d, M=16, efConstruction=40).add(x), q, truth, "efSearch", [16, 64])
    rows += sweep("faiss HNSW32", lambda: FaissIndex("HNSW32", d, efConstruction=40).add(x), q, truth, "efSearch", [8, 16, 32, 64, 128])
    rows += sweep("hnswlib M16", lambda: HnswlibIndex(d, M=16, efConstruction=100).add(x), q, truth, "efSearch", [10, 20, 40, 80])
    rows += sweep("annoy 50 trees", lambda: AnnoyIndex(d, n_trees=50).add(x).build(), q, truth, "search_k", [500, 2000, 8000, 20000])
    rows += sweep("ours LSH", lambda: LSHIndex(d, nbits=1536).add(x), q, truth)
    rows += sweep("faiss LSH1536", lambda: FaissIndex("LSH1536", d).add(x), q, truth)
    if scann_available():
        rows += sweep("scann", lambda: ScannIndex(d, num_leaves=64, reorder=100).add(x).build(), q, truth,
                      "num_leaves_to_search", [2, 4, 8, 16, 32])
    front = pareto(rows)
    FIG["sweep"] = rows
    return (format_table(rows, base_qps) + "\n\nPareto frontier (recall, QPS): "
            + "; ".join(f"{r.name} {r.params} {r.recall:.3f}@{r.qps:.0f}" for r in front))


def section_compress(x, q, truth, ds, args) -> str:
    d = x.shape[1]
    full = 4 * d
    exact_ndcg = ndcg_at_10(ds, FlatIndex(d).add(x).search(q, 10)[1])
    specs = [
        ("SQ8 (faiss)", lambda: FaissIndex("SQ8", d), d),
        ("SQ4 (faiss)", lambda: FaissIndex("SQ4", d), d // 2),
        ("PQ96 (faiss)", lambda: FaissIndex("PQ96", d), 96),
        ("PQ48 (faiss)", lambda: FaissIndex("PQ48", d), 48),
        ("OPQ48,PQ48 (faiss)", lambda: FaissIndex("OPQ48,PQ48", d), 48),
        ("ours PQ48", lambda: PQIndex(d, M=48, nbits=8, niter=10), 48),
        ("ours OPQ48", lambda: OPQIndex(d, M=48, nbits=8, niter=10, opq_iter=4), 48),
        ("IVF64,PQ96 nprobe=16", lambda: FaissIndex("IVF64,PQ96", d, nprobe=16), 96),
        ("IVF64,PQ96 nprobe=64", lambda: FaissIndex("IVF64,PQ96", d, nprobe=64), 96),
    ]
    lines = [f"exact (float32, {full} B/vector): nDCG@10 = {exact_ndcg:.4f}",
             f"{'method':<24}{'B/vector':>9}{'ratio':>7}{'R@10':>7}{'nDCG@10':>9}{'dNDCG':>8}"]
    pts = []
    for name, make, nbytes in specs:
        idx = make().train(x).add(x)
        _, ids = idx.search(q, 10)
        nd = ndcg_at_10(ds, ids)
        pts.append((name, full / nbytes, recall_at_k(ids, truth, 10), nd))
        lines.append(f"{name:<24}{nbytes:>9}{full / nbytes:>6.0f}x{pts[-1][2]:>7.3f}{nd:>9.4f}{nd - exact_ndcg:>+8.4f}")
        log(lines[-1])
    from lessonlib.core.vectors import l2_normalize
    from lessonlib.index.reduce import PCA

    for m in (192, 96, 48):
        pca = PCA(m).fit(x)
        xd, qd = l2_normalize(pca.transform(x)), l2_normalize(pca.transform(q))
        ids = FlatIndex(m).add(xd).search(qd, 10)[1]
        nd = ndcg_at_10(ds, ids)
        lines.append(f"{'PCA' + str(m) + ' float32':<24}{4 * m:>9}{d / m:>6.0f}x{recall_at_k(ids, truth, 10):>7.3f}{nd:>9.4f}{nd - exact_ndcg:>+8.4f}")
        pts.append((f"PCA{m}", d / m, recall_at_k(ids, truth, 10), nd))
    FIG["compress"] = (pts, exact_ndcg)
    return "\n".join(lines)


def section_overhead(x, q, args) -> str:
    d = x.shape[1]
    lines = [f"{'factory':<16}{'raw faiss ms':>13}{'lessonlib ms':>13}{'overhead':>10}"]
    for factory, kw in [("Flat", {}), ("HNSW32", {"efSearch": 64}), ("IVF64,PQ48", {"nprobe": 8})]:
        ours = FaissIndex(factory, d, **kw).train(x).add(x)
        raw = ours.index  # the very same FAISS object, called directly
        t_raw, t_ours = [], []
        for _ in range(7):  # interleaved, best of 7
            t = time.perf_counter(); raw.search(q, 10); t_raw.append(time.perf_counter() - t)
            t = time.perf_counter(); ours.search(q, 10); t_ours.append(time.perf_counter() - t)
        a, b = min(t_raw), min(t_ours)
        lines.append(f"{factory:<16}{a * 1e3:>13.2f}{b * 1e3:>13.2f}{(b / a - 1) * 100:>9.1f}%")
        log(lines[-1])
    return "\n".join(lines)


def section_lid(x) -> str:
    """Local intrinsic dimension of the real embeddings next to the synthetic generator's."""
    from lessonlib.data import synthetic
    from lessonlib.dual.geometry import local_intrinsic_dimension as lid

    n, d = x.shape
    lines = [f"local intrinsic dimension (Levina-Bickel MLE, k=10 / k=20; lessonlib.dual.geometry), n={n}, dim {d}",
             f"{'SciFact all-MiniLM-L6-v2':<36}{lid(x, k=10):>7.1f}{lid(x, k=20):>7.1f}"]
    for latent in (8, 12, 24):
        s = synthetic.clustered_vectors(n, d, seed=0, latent=latent)
        mark = "  <- lessonlib.data.synthetic default" if latent == synthetic.LATENT else ""
        lines.append(f"{f'synthetic, LATENT={latent}':<36}{lid(s, k=10):>7.1f}{lid(s, k=20):>7.1f}{mark}")
    return "\n".join(lines)


def section_scale(args) -> str:
    d, nq, k = 384, args.scale_queries, 10
    sizes = [10_000, 100_000, args.scale_n] if args.scale_n > 100_000 else [10_000, args.scale_n]
    ef_construction, ef_searches = 100, (16, 24, 32, 64, 128)
    path = config.cache_dir("ann") / f"synthetic_{args.scale_n}x{d}.npy"
    x_all = write_clustered(path, args.scale_n, d, seed=0)
    q = clustered_queries(nq, d, seed=0)
    lines = [f"synthetic clustered vectors (lessonlib.data.synthetic, seed 0), dim {d}, {nq} queries, k={k}, "
             f"faiss threads={faiss.omp_get_max_threads()}, HNSW32 efConstruction={ef_construction}",
             f"{'n':>9}{'exact QPS':>11}{'HNSW efS':>9}{'R@10':>7}{'HNSW QPS':>10}{'x exact':>9}{'p99 ms':>8}{'build s':>9}{'index MiB':>10}{'peak RSS GiB':>13}"]
    scale_pts = []
    for n in sizes:
        x = x_all[:n]
        truth = exact_neighbors(x, q, k)
        flat = faiss.IndexFlatIP(d)
        for s in range(0, n, 100_000):
            flat.add(np.ascontiguousarray(x[s:s + 100_000]))
        t = time.perf_counter(); flat.search(q, k); exact_qps = nq / (time.perf_counter() - t)
        del flat
        hn = FaissIndex("HNSW32", d, efConstruction=ef_construction)
        t = time.perf_counter()
        for s in range(0, n, 50_000):
            hn.add(np.ascontiguousarray(x[s:s + 50_000]))
            if n >= 100_000:
                log(f"  HNSW32 build {min(s + 50_000, n)}/{n}  {time.perf_counter() - t:.0f}s")
        build_s = time.perf_counter() - t
        for ef in ef_searches:
            r = measure("faiss HNSW32", hn.set(efSearch=ef), q, truth, k, build_s, {"efSearch": ef}, n_latency=200)
            lines.append(f"{n:>9}{exact_qps:>11.1f}{ef:>9}{r.recall:>7.3f}{r.qps:>10.0f}{r.qps / exact_qps:>9.1f}"
                         f"{r.p99_ms:>8.2f}{build_s:>9.0f}{r.memory_mb:>10.0f}{peak_rss_gib():>13.2f}")
            log(lines[-1])
            scale_pts.append((n, ef, r.recall, r.qps, exact_qps))
        if n == sizes[-1]:
            thr = thread_scaling(hn.set(efSearch=64), q, k, threads=(1, 2, 4))
            lines.append("query threads (one-query calls, HNSW32 efSearch=64): "
                         + ", ".join(f"{t} thr {v:.0f} QPS" for t, v in thr.items()))
        del hn
    # dimension sweep at 20k
    lines.append(f"\n{'dim':>5}{'exact QPS':>11}{'HNSW32 R@10':>12}{'HNSW QPS':>10}{'build s':>9}   (n=20000, efSearch=64)")
    for dim in (64, 128, 384, 768):
        from lessonlib.data.synthetic import clustered_vectors

        x = clustered_vectors(20_000, dim, seed=1)
        qq = clustered_queries(nq, dim, seed=1)
        truth = exact_neighbors(x, qq, k)
        ex = measure("flat", FaissIndex("Flat", dim).add(x), qq, truth, k, n_latency=0)
        idx, b = build_index(lambda: FaissIndex("HNSW32", dim, efConstruction=40, efSearch=64).add(x))
        r = measure("hnsw", idx, qq, truth, k, b, n_latency=0)
        lines.append(f"{dim:>5}{ex.qps:>11.0f}{r.recall:>12.3f}{r.qps:>10.0f}{b:>9.1f}")
        log(lines[-1])
    FIG["scale"] = scale_pts
    return "\n".join(lines)


# -- figures ----------------------------------------------------------------------------------------------
def figures(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(18, 5))
    if "sweep" in FIG:
        ax = axes[0]
        by: dict[str, list[Row]] = {}
        for r in FIG["sweep"]:
            by.setdefault(r.name, []).append(r)
        for name, rs in by.items():
            ax.plot([r.recall for r in rs], [r.qps for r in rs], "o-", label=name)
        ax.set(yscale="log", xlabel="recall@10", ylabel="queries per second (log)", title="SciFact MiniLM: recall vs QPS")
        ax.legend(fontsize=7)
    if "compress" in FIG:
        pts, exact = FIG["compress"]
        ax = axes[1]
        for name, ratio, rec, nd in pts:
            ax.scatter(ratio, nd)
            ax.annotate(name, (ratio, nd), fontsize=7)
        ax.axhline(exact, ls="--", c="k", label="exact float32")
        ax.set(xscale="log", xlabel="compression ratio (x, log)", ylabel="nDCG@10", title="SciFact: compression vs quality")
        ax.legend()
    if "scale" in FIG:
        ax = axes[2]
        for n in sorted({p[0] for p in FIG["scale"]}):
            ps = [p for p in FIG["scale"] if p[0] == n]
            ax.plot([p[2] for p in ps], [p[3] / p[4] for p in ps], "o-", label=f"n={n:,}")
        ax.set(yscale="log", xlabel="recall@10", ylabel="speed-up over exact search (x, log)", title="FAISS HNSW32 on synthetic 384-d")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="fast subset of SciFact, 50k synthetic (default)")
    mode.add_argument("--full", action="store_true", help="all of SciFact, 1M synthetic")
    ap.add_argument("--only", nargs="*", choices=SECTIONS, help="run only these sections")
    ap.add_argument("--skip", nargs="*", choices=SECTIONS, default=[], help="skip these sections")
    ap.add_argument("--scale-n", type=int, default=None, help="largest synthetic corpus (default 50k quick, 1M full)")
    ap.add_argument("--scale-queries", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=None, help="FAISS OpenMP threads (default: all cores)")
    args = ap.parse_args(argv)
    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    args.scale_n = args.scale_n or (1_000_000 if args.full else 50_000)
    todo = [s for s in (args.only or SECTIONS) if s not in args.skip]
    if not args.full:
        os.environ["LESSONLIB_FAST"] = "1"
    RESULTS.mkdir(parents=True, exist_ok=True)
    header = (f"bench_ann.py {'--full' if args.full else '--quick'} | {dt.datetime.now():%Y-%m-%d %H:%M} | "
              f"{os.cpu_count()} CPU cores (shared machine) | faiss {faiss.__version__} threads {faiss.omp_get_max_threads()}")
    texts = {}
    if set(todo) & {"parity", "sweep", "compress", "overhead", "lid"}:
        x, q, ds = scifact_embeddings()
        truth = exact_neighbors(x, q, 10)
        log(f"SciFact vectors: {x.shape}, queries {q.shape}")
        for name in ("parity", "sweep", "compress", "overhead", "lid"):
            if name in todo:
                log(f"== {name}")
                body = {"parity": lambda: section_parity(x, q, truth, args), "sweep": lambda: section_sweep(x, q, truth, args),
                        "compress": lambda: section_compress(x, q, truth, ds, args),
                        "overhead": lambda: section_overhead(x, q, args), "lid": lambda: section_lid(x)}[name]()
                texts[name] = f"[{name}] SciFact {ds.name} test: {x.shape[0]} docs x {x.shape[1]}, {len(q)} queries\n{body}"
    if "scale" in todo:
        log("== scale")
        texts["scale"] = f"[scale]\n{section_scale(args)}"
    for name, body in texts.items():
        (RESULTS / f"ann_{name}.txt").write_text(f"{header}\n{body}\n")
    out = [header, f"peak RSS this run: {peak_rss_gib():.2f} GiB", ""]
    for name in SECTIONS:
        if name in texts:
            out += [texts[name], ""]
        elif (RESULTS / f"ann_{name}.txt").exists():
            out += [f"(from an earlier run) {(RESULTS / f'ann_{name}.txt').read_text()}", ""]
    (RESULTS / "ann.txt").write_text("\n".join(out))
    if FIG:
        figures(RESULTS / "ann.png")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
