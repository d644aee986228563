"""SciFact's rationales: which sentences of a cited abstract are the evidence for a claim.

SciFact (Wadden et al. 2020) annotates, for each claim and each abstract it cites, the sentences
that support or contradict it. The files sit in ``<scifact>/original/`` (SciFact's own layout:
``corpus.jsonl`` with abstracts as sentence lists, ``claims_{train,dev}.jsonl`` with
``evidence: {doc_id: [{"sentences": [i, ...], "label": ...}]}``). BEIR's SciFact test split is
SciFact's dev set, and claim / document ids are the same numbers as BEIR's ids.

>>> evidence = load_rationales("test")          # {claim id: {doc id: [sentence indices]}}
>>> sentences = abstract_sentences()            # {doc id: [sentence, ...]}
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lessonlib.data import find_local

SPLIT_FILES = {"train": "claims_train.jsonl", "test": "claims_dev.jsonl", "dev": "claims_dev.jsonl"}


def original_dir(folder: str | os.PathLike | None = None) -> Path | None:
    """``<scifact>/original`` if it is on this machine (``lessonlib.data.find_local``), else None."""
    if folder is not None:
        path = Path(folder)
        return path if (path / "corpus.jsonl").exists() else None

    root = find_local("scifact")
    if root is None or not (root / "original" / "corpus.jsonl").exists():
        return None
    return root / "original"


def load_rationales(split: str = "test", folder: str | os.PathLike | None = None) -> dict[str, dict[str, list[int]]]:
    """``{claim id: {doc id: sorted evidence sentence indices}}`` for a split (BEIR ids as strings).

    Only claims with evidence appear. Returns ``{}`` when SciFact's original files are not here.
    """
    if split not in SPLIT_FILES:
        raise ValueError(f"load_rationales(split={split!r}): expected one of {sorted(SPLIT_FILES)}")
    base = original_dir(folder)
    if base is None or not (base / SPLIT_FILES[split]).exists():
        return {}
    out: dict[str, dict[str, list[int]]] = {}
    with open(base / SPLIT_FILES[split], encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            claim = json.loads(line)
            ev = {str(d): sorted({i for r in rs for i in r["sentences"]}) for d, rs in claim.get("evidence", {}).items()}
            ev = {d: s for d, s in ev.items() if s}
            if ev:
                out[str(claim["id"])] = ev
    return out


def abstract_sentences(folder: str | os.PathLike | None = None) -> dict[str, list[str]]:
    """``{doc id: [sentence, ...]}`` from SciFact's original corpus (``{}`` when it is not here)."""
    base = original_dir(folder)
    if base is None:
        return {}
    out = {}
    with open(base / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                doc = json.loads(line)
                out[str(doc["doc_id"])] = [s.strip() for s in doc["abstract"]]
    return out
