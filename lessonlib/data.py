"""Datasets in BEIR layout (minimal first version; the data issue extends this module)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from lessonlib import config


@dataclass
class Dataset:
    name: str
    corpus: dict[str, dict]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    split: str = "test"
    meta: dict = field(default_factory=dict)

    @property
    def doc_ids(self) -> list[str]:
        """Document ids in corpus order (the row order of every embedding matrix)."""
        return list(self.corpus)

    def doc_text(self, doc_id: str) -> str:
        """Title and text joined by one space, as BEIR and sentence-transformers do."""
        doc = self.corpus[doc_id]
        return f"{doc.get('title', '')} {doc.get('text', '')}".strip()

    def doc_texts(self) -> list[str]:
        return [self.doc_text(d) for d in self.corpus]


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_beir(folder: Path, split: str = "test", name: str | None = None) -> Dataset:
    corpus = {str(d["_id"]): {"title": d.get("title", ""), "text": d.get("text", "")} for d in _read_jsonl(folder / "corpus.jsonl")}
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        next(reader)
        for qid, did, score in reader:
            qrels.setdefault(qid, {})[did] = int(score)
    all_queries = {str(q["_id"]): q["text"] for q in _read_jsonl(folder / "queries.jsonl")}
    queries = {qid: all_queries[qid] for qid in qrels}
    return Dataset(name or folder.name, corpus, queries, qrels, split)


def load_dataset(name_or_path: str, split: str = "test") -> Dataset:
    path = Path(name_or_path)
    if path.is_dir():
        return load_beir(path, split)
    root = config.data_root()
    if root and (root / name_or_path).is_dir():
        return load_beir(root / name_or_path, split, name_or_path)
    raise FileNotFoundError(f"dataset {name_or_path!r} not found")
