"""Legal search in miniature: statute look-up on the bundled sample collection's two legal topics
(fictional harbour bylaws and a fictional labour code, written for this workbook; see
data/sample/README.md). Day 10.2 §7 (legal), taught in notebook 23.

Statute retrieval is COLIEE's task 3 (Rabelo et al. 2022, "Overview and discussion of the
competition on legal information extraction/entailment (COLIEE) 2021"): a question in plain words
must find the article that answers it. The sample's legal queries are of the same two kinds:
*identifier* (a citation look-up: "harbour Bylaw 563-53") and *paraphrase* (the rule described in
other words), plus plain, near-duplicate and long ones. 40 passages and 36 queries: a miniature,
not an evaluation of legal search.

>>> ds = statute_collection()
>>> ds.describe()
"""

from __future__ import annotations

from collections.abc import Sequence

from lessonlib.data import Dataset, load_dataset
from lessonlib.data.datasets import sample_dir

LEGAL_TOPICS = ("harbour", "labour")


def statute_collection(topics: Sequence[str] = LEGAL_TOPICS) -> Dataset:
    """The sample collection restricted to ``topics``: their passages, and their queries of BOTH
    splits (nothing is trained on them here). ``meta["path"]`` still points at the sample folder,
    so :func:`lessonlib.evaluation.cost.query_types` reads the query types."""
    folder = sample_dir()
    topic_of = {}
    for line in (folder / "query_types.tsv").read_text().splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 3:
            topic_of[parts[0]] = parts[2]
    unknown = set(topics) - set(topic_of.values())
    if not topics or unknown:
        raise ValueError(f"statute_collection(topics={list(topics)}): unknown topics {sorted(unknown)}; "
                         f"the sample has {sorted(set(topic_of.values()))}")
    test, train = load_dataset("sample", "test"), load_dataset("sample", "train")
    corpus = {d: v for d, v in test.corpus.items() if d.split("-")[0] in topics}
    queries, qrels = {}, {}
    for ds in (test, train):
        for q, text in ds.queries.items():
            if topic_of.get(q) in topics:
                queries[q] = text
                qrels[q] = {d: g for d, g in ds.qrels.get(q, {}).items() if d in corpus}
    meta = {**test.meta, "title": f"statute look-up (bundled sample, fictional: {', '.join(topics)})", "split": "test+train"}
    return Dataset("sample-legal", corpus, queries, qrels, split="test+train", meta=meta)
