"""Retrieval collections: BEIR layout on disk, TREC run and qrels files, the course's datasets.

A collection is three plain-Python objects (the shapes pytrec_eval, ir_measures and BEIR use):

- corpus  ``dict[doc_id, {"title": str, "text": str}]``
- queries ``dict[query_id, str]``
- qrels   ``dict[query_id, dict[doc_id, grade]]`` (grade 0 = judged not relevant)

On disk (BEIR, Thakur et al. 2021): ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``
(a header line, then ``query-id  corpus-id  score``). Runs and qrels are also read and written in
the TREC formats that trec_eval uses (Voorhees & Harman 2005)::

    run:   qid Q0 docid rank score tag
    qrels: qid 0 docid grade

Every reader reports bad input as one line naming the file and the line number.

>>> ds = load_dataset("sample", split="test")
>>> small = ds.subset(n_docs=100, n_queries=20, seed=0)
>>> print("Data used:", small.describe())
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lessonlib.core import config, download
from lessonlib.core.io import atomic_write
from lessonlib.core.runs import ranked

# Datasets that `load_dataset` can fetch by name: official address and published checksum.
# The md5 is the one BEIR publishes in its README's dataset table.
KNOWN_DATASETS: dict[str, dict] = {
    "scifact": {
        "url": "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/scifact.zip",
        "md5": "5f7d1de60b170fc8027bb7898e2efca1",
        "title": "SciFact (Wadden et al. 2020), BEIR layout",
    },
}

# Fast-mode subset sizes of course_dataset (per split).
FAST_SIZES = {"test": {"n_queries": 60, "n_docs": 1000}, "train": {"n_queries": 200, "n_docs": 1500}}


# --------------------------------------------------------------------------------------------
# The Dataset object
# --------------------------------------------------------------------------------------------
@dataclass
class Dataset:
    """One split of a collection: ``corpus``, ``queries`` (only those judged in the split), ``qrels``.

    ``meta`` says which data this is (``source``, ``split``, ``path``, ``subset``); ``describe()``
    turns it into the line notebooks print as "Data used: ...".
    """

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

    @property
    def query_ids(self) -> list[str]:
        """Query ids in the order of ``queries``."""
        return list(self.queries)

    def doc_text(self, doc_id: str) -> str:
        """Title and text joined by one space, as BEIR and sentence-transformers do."""
        doc = self.corpus[doc_id]
        return f"{doc.get('title', '')} {doc.get('text', '')}".strip()

    def doc_texts(self) -> list[str]:
        """``doc_text`` of every document, in corpus order."""
        return [self.doc_text(d) for d in self.corpus]

    def query_texts(self) -> list[str]:
        """Query texts in the order of ``query_ids``."""
        return list(self.queries.values())

    def __len__(self) -> int:
        return len(self.corpus)

    def __repr__(self) -> str:
        return f"Dataset({self.describe()})"

    def describe(self) -> str:
        """One line: which data, which split, how big, and whether it is a subset."""
        title = self.meta.get("title", self.name)
        n_judg = sum(len(v) for v in self.qrels.values())
        line = f"{title}, {self.split} split: {len(self.queries):,} queries, {len(self.corpus):,} documents, {n_judg:,} judgments"
        sub = self.meta.get("subset")
        if sub:
            line += f" (subset of {sub['of_queries']:,} queries / {sub['of_docs']:,} documents, seed {sub['seed']})"
        carved = self.meta.get("carved")
        if carved:
            line += (f"; no train split in this collection, so its {carved['train'] + carved['test']:,} test queries were "
                     f"split {carved['train']:,} train / {carved['test']:,} test (seed {carved['seed']})")
        return line

    def split_validation(self, fraction: float = 0.15, seed: int = 0) -> tuple[Dataset, Dataset]:
        """(fit, validation): this split's judged queries cut by :func:`split_queries`; both keep the corpus.

        Use it on the *train* split: hyperparameters and the number of epochs are chosen on the
        validation part, and the test split is only used for the final report (notebook 02).
        """
        fit_ids, val_ids = split_queries([q for q in self.queries if q in self.qrels], fraction, seed)

        def part(keep: list[str], tag: str) -> Dataset:
            kept = set(keep)
            queries = {q: t for q, t in self.queries.items() if q in kept}
            qrels = {q: dict(self.qrels[q]) for q in queries}
            meta = dict(self.meta, split_of=self.split, part=tag, val_fraction=fraction, seed=seed)
            return Dataset(self.name, self.corpus, queries, qrels, f"{self.split}-{tag}", meta)

        return part(fit_ids, "train"), part(val_ids, "val")

    def subset(
        self,
        n_docs: int,
        n_queries: int,
        seed: int = 0,
        keep_docs: Iterable[str] = (),
    ) -> Dataset:
        """A smaller dataset: ``n_queries`` queries, and every judged document of those queries.

        Queries with at least one relevant judgment (grade > 0) are drawn at random (``seed``).
        The corpus is: the judged documents of the kept queries, then ``keep_docs``, then filler
        documents taken in a fixed order that depends only on ``seed`` and the corpus (not on the
        split), until ``n_docs`` is reached. Two splits of one collection subset with the same seed
        therefore share most of their documents, which lets embedding caches be reused. The corpus
        keeps its original order. If the judged documents alone exceed ``n_docs``, all are kept.

        >>> small = ds.subset(n_docs=1000, n_queries=60, seed=0)
        """
        if n_queries < 1:
            raise ValueError(f"subset(n_queries={n_queries}): n_queries must be >= 1")
        if n_docs < 1:
            raise ValueError(f"subset(n_docs={n_docs}): n_docs must be >= 1")
        candidates = sorted(q for q, docs in self.qrels.items() if q in self.queries and any(g > 0 for g in docs.values()))
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(candidates))
        kept_q = {candidates[i] for i in order[: min(n_queries, len(candidates))]}
        queries = {q: t for q, t in self.queries.items() if q in kept_q}
        qrels = {q: {d: g for d, g in self.qrels[q].items() if d in self.corpus} for q in queries}

        required = {d for docs in qrels.values() for d in docs} | {d for d in keep_docs if d in self.corpus}
        chosen = set(required)
        all_ids = self.doc_ids
        # Filler order: a permutation of the corpus seeded by (seed, corpus size) only.
        filler = np.random.default_rng([seed, len(all_ids)]).permutation(len(all_ids))
        for i in filler:
            if len(chosen) >= n_docs:
                break
            chosen.add(all_ids[i])
        corpus = {d: self.corpus[d] for d in all_ids if d in chosen}
        meta = dict(self.meta)
        meta["subset"] = {
            "n_docs": n_docs,
            "n_queries": n_queries,
            "seed": seed,
            "of_queries": len(self.queries),
            "of_docs": len(self.corpus),
        }
        return Dataset(self.name, corpus, queries, qrels, self.split, meta)


# --------------------------------------------------------------------------------------------
# Readers and writers
# --------------------------------------------------------------------------------------------
def _bad(path: Path, lineno: int, what: str) -> ValueError:
    return ValueError(f"{path}:{lineno}: {what}")


def _open_lines(path: str | os.PathLike) -> tuple[Path, list[str]]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Windows editors) is not part of the data
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return path, text.splitlines()


def _read_jsonl(path: str | os.PathLike, kind: str) -> dict[str, tuple[int, dict]]:
    """Rows of a BEIR jsonl file keyed by ``_id``, with their line numbers; duplicate or missing ids are errors."""
    path, lines = _open_lines(path)
    rows: dict[str, tuple[int, dict]] = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _bad(path, lineno, f"malformed JSON ({exc.msg})") from None
        if not isinstance(row, dict) or "_id" not in row:
            raise _bad(path, lineno, f'{kind} line has no "_id" field')
        doc_id = str(row["_id"])
        if doc_id in rows:
            raise _bad(path, lineno, f"duplicate {kind} id {doc_id!r} (first seen on line {rows[doc_id][0]})")
        text = row.get("text", "")
        if not isinstance(text, str):
            raise _bad(path, lineno, f'{kind} {doc_id!r}: "text" must be a string, got {type(text).__name__}')
        rows[doc_id] = (lineno, row)
    if not rows:
        raise ValueError(f"{path}: no {'queries' if kind == 'query' else kind + 's'} in the file")
    return rows


def read_corpus(path: str | os.PathLike) -> dict[str, dict]:
    """BEIR ``corpus.jsonl`` -> ``{doc_id: {"title", "text"}}`` (corpus order kept)."""
    rows = _read_jsonl(path, "document")
    return {d: {"title": str(r.get("title") or ""), "text": r.get("text") or ""} for d, (_, r) in rows.items()}


def read_queries(path: str | os.PathLike) -> dict[str, str]:
    """BEIR ``queries.jsonl`` -> ``{query_id: text}``; an empty query text is an error."""
    path = Path(path)
    rows = _read_jsonl(path, "query")
    out = {}
    for qid, (lineno, row) in rows.items():
        text = (row.get("text") or "").strip()
        if not text:
            raise _bad(path, lineno, f"query {qid!r} has empty text")
        out[qid] = text
    return out


def _parse_grade(path: Path, lineno: int, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _bad(path, lineno, f"grade {value!r} is not an integer") from None


def read_qrels(path: str | os.PathLike) -> dict[str, dict[str, int]]:
    """Relevance judgments from a TREC qrels file (``qid 0 docid grade``) or a BEIR tsv.

    The format is detected per file: a BEIR tsv has three tab-separated columns (its first line may
    be the header ``query-id corpus-id score``); a TREC qrels file has four whitespace-separated
    columns. A (query, document) pair judged twice and a non-integer grade are errors.
    """
    path, lines = _open_lines(path)
    qrels: dict[str, dict[str, int]] = {}
    seen: dict[tuple[str, str], int] = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        parts = [p.strip() for p in parts]
        if lineno == 1 and parts and parts[0].lower() in {"query-id", "query_id", "qid"}:
            continue  # BEIR header
        if len(parts) == 4:
            qid, _, doc_id, grade = parts
        elif len(parts) == 3:
            qid, doc_id, grade = parts
        else:
            raise _bad(path, lineno, f"expected 'qid 0 docid grade' (TREC) or 'qid<TAB>docid<TAB>grade' (BEIR), got {len(parts)} columns")
        if not qid or not doc_id:
            raise _bad(path, lineno, "empty query or document id")
        key = (qid, doc_id)
        if key in seen:
            raise _bad(path, lineno, f"query {qid!r} / document {doc_id!r} judged twice (first on line {seen[key]})")
        seen[key] = lineno
        qrels.setdefault(qid, {})[doc_id] = _parse_grade(path, lineno, grade)
    return qrels


def write_qrels(qrels: dict[str, dict[str, int]], path: str | os.PathLike, format: str = "trec") -> Path:
    """Write ``qrels`` as TREC (``qid 0 docid grade``) or BEIR tsv (``format="beir"``, with header)."""
    if format not in {"trec", "beir"}:
        raise ValueError(f"write_qrels(format={format!r}): format must be 'trec' or 'beir'")
    path = Path(path)
    with atomic_write(path) as handle:
        if format == "beir":
            handle.write("query-id\tcorpus-id\tscore\n")
        for qid, docs in qrels.items():
            for doc_id, grade in docs.items():
                if isinstance(grade, float) and not float(grade).is_integer():
                    raise ValueError(f"write_qrels: grade {grade!r} of {qid!r}/{doc_id!r} is not an integer")
                if format == "beir":
                    handle.write(f"{qid}\t{doc_id}\t{int(grade)}\n")
                else:
                    handle.write(f"{qid} 0 {doc_id} {int(grade)}\n")
    return path


def read_run(path: str | os.PathLike) -> dict[str, dict[str, float]]:
    """A TREC run file (``qid Q0 docid rank score tag``) -> ``{qid: {docid: score}}``.

    Scores are what matter (trec_eval re-sorts by score); ranks are checked to be integers.
    """
    path, lines = _open_lines(path)
    run: dict[str, dict[str, float]] = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 6:
            raise _bad(path, lineno, f"expected 6 columns 'qid Q0 docid rank score tag', got {len(parts)}")
        qid, _, doc_id, rank, score, _tag = parts
        try:
            int(rank)
        except ValueError:
            raise _bad(path, lineno, f"rank {rank!r} is not an integer") from None
        try:
            value = float(score)
        except ValueError:
            raise _bad(path, lineno, f"score {score!r} is not a number") from None
        if math.isnan(value):
            raise _bad(path, lineno, "score is NaN")
        docs = run.setdefault(qid, {})
        if doc_id in docs:
            raise _bad(path, lineno, f"document {doc_id!r} appears twice for query {qid!r}")
        docs[doc_id] = value
    return run


def write_run(run: dict[str, dict[str, float]], path: str | os.PathLike, tag: str = "lessonlib", k: int | None = None) -> Path:
    """Write ``run`` as a TREC run file in trec_eval's order (score descending, then doc id descending),
    optionally only the top ``k``. Ids must be non-empty and free of whitespace (a run line has six
    space-separated columns); scores must be numbers (NaN has no rank)."""
    if k is not None and k < 1:
        raise ValueError(f"write_run(k={k}): k must be >= 1")
    if not tag or any(c.isspace() for c in tag):
        raise ValueError(f"write_run(tag={tag!r}): tag must be one non-empty word")
    for qid, docs in run.items():
        for name in (qid, *docs):
            if not name or any(c.isspace() for c in str(name)):
                raise ValueError(f"write_run: id {str(name)!r} is empty or holds whitespace; a TREC run line has six "
                                 "space-separated columns")
        if any(math.isnan(float(v)) for v in docs.values()):
            raise ValueError(f"write_run: query {qid!r} has a score that is not a number (NaN)")
    path = Path(path)
    with atomic_write(path) as handle:
        for qid, docs in run.items():
            for rank, (doc_id, score) in enumerate(ranked({d: float(v) for d, v in docs.items()}, k), 1):
                handle.write(f"{qid} Q0 {doc_id} {rank} {score!r} {tag}\n")
    return path


# --------------------------------------------------------------------------------------------
# BEIR folders and dataset names
# --------------------------------------------------------------------------------------------
def is_beir_folder(folder: str | os.PathLike) -> bool:
    """True when ``folder`` has corpus.jsonl, queries.jsonl and a qrels/ folder."""
    folder = Path(folder)
    return (folder / "corpus.jsonl").is_file() and (folder / "queries.jsonl").is_file() and (folder / "qrels").is_dir()


def load_beir(folder: str | os.PathLike, split: str = "test", name: str | None = None, meta: dict | None = None) -> Dataset:
    """One split of a BEIR folder; ``queries`` keeps only the queries judged in that split.

    Errors: a missing file, qrels naming a query that queries.jsonl lacks. Judgments of documents
    missing from the corpus are dropped with a warning (some public collections have a few).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: dataset folder not found")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        have = sorted(p.stem for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
        raise FileNotFoundError(f"{qrels_path}: no qrels for split {split!r} (splits here: {', '.join(have) or 'none'})")
    corpus = read_corpus(folder / "corpus.jsonl")
    all_queries = read_queries(folder / "queries.jsonl")
    qrels = read_qrels(qrels_path)
    unknown_q = [q for q in qrels if q not in all_queries]
    if unknown_q:
        raise ValueError(f"{qrels_path}: {len(unknown_q)} judged queries are not in queries.jsonl, e.g. {unknown_q[0]!r}")
    missing = sum(1 for docs in qrels.values() for d in docs if d not in corpus)
    if missing:
        warnings.warn(f"{qrels_path}: dropped {missing} judgments of documents not in corpus.jsonl", stacklevel=2)
        qrels = {q: {d: g for d, g in docs.items() if d in corpus} for q, docs in qrels.items()}
        qrels = {q: docs for q, docs in qrels.items() if docs}
    queries = {q: all_queries[q] for q in all_queries if q in qrels}
    info = {"source": name or folder.name, "path": str(folder), "split": split, "title": name or folder.name}
    info.update(meta or {})
    return Dataset(name or folder.name, corpus, queries, qrels, split, info)


def sample_dir() -> Path:
    """The bundled sample collection (``<repo>/data/sample``).

    Looked up beside the package (editable install), then under ``$LESSONLIB_DATA/sample``, then in
    ``./data/sample``.
    """
    candidates = [Path(__file__).resolve().parents[2] / "data" / "sample"]
    root = config.data_root()
    if root:
        candidates.append(root / "sample")
    candidates.append(Path.cwd() / "data" / "sample")
    for folder in candidates:
        if is_beir_folder(folder):
            return folder
    raise FileNotFoundError(f"the bundled sample collection was not found (looked in {', '.join(map(str, candidates))})")


def find_local(name: str) -> Path | None:
    """Where dataset ``name`` already is on this machine ($LESSONLIB_DATA, then the user cache), or None."""
    places = []
    root = config.data_root()
    if root:
        places.append(root / name)
    places.append(config.cache_dir("datasets") / name)
    for folder in places:
        if is_beir_folder(folder):
            return folder
    return None


def fetch(name: str) -> Path:
    """Download a known dataset into the user cache (checksum verified) and return its folder."""
    spec = KNOWN_DATASETS[name]
    target = config.cache_dir("datasets") / name
    hint = f"put the BEIR folder (corpus.jsonl, queries.jsonl, qrels/) at $LESSONLIB_DATA/{name} or {target}"
    try:
        folder = download.fetch_zip(spec["url"], target, md5=spec.get("md5"), desc=name)
    except (OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileNotFoundError(f"dataset {name!r}: could not download {spec['url']} ({reason}); {hint}") from None
    if not is_beir_folder(folder):
        raise FileNotFoundError(f"dataset {name!r}: the archive from {spec['url']} has no BEIR folder; {hint}")
    return folder


def locate_dataset(name_or_path: str | os.PathLike) -> tuple[Path, str | None, dict]:
    """Where a collection is: ``(folder, name, meta)`` for :func:`load_beir` (see :func:`load_dataset`).

    Fetches a known collection that is not on this machine; raises ``FileNotFoundError`` in one line
    for a folder that is not in BEIR layout or a name it does not know.
    """
    key = str(name_or_path)
    if key == "sample":
        return sample_dir(), "sample", {"title": "Workbook sample collection (data/sample)", "source": "sample"}
    path = Path(key).expanduser()
    if path.is_dir():
        if not is_beir_folder(path):
            raise FileNotFoundError(f"{path}: not a BEIR folder (needs corpus.jsonl, queries.jsonl and qrels/<split>.tsv)")
        return path, None, {}
    root = config.data_root()
    if key in KNOWN_DATASETS:
        return find_local(key) or fetch(key), key, {"title": KNOWN_DATASETS[key]["title"].split(",")[0], "source": key}
    if root and is_beir_folder(root / key):
        return root / key, key, {}
    known = ", ".join(["sample", *KNOWN_DATASETS])
    raise FileNotFoundError(f"load_dataset({key!r}): unknown dataset; expected one of {known} or a folder in BEIR layout")


def load_dataset(name_or_path: str | os.PathLike, split: str = "test") -> Dataset:
    """Load a collection by name or path.

    - ``"sample"``: the collection bundled with the workbook (data/sample).
    - ``"scifact"`` (any name in ``KNOWN_DATASETS``): ``$LESSONLIB_DATA/<name>``, then the user cache,
      then a download from its official address, checked against its published md5.
    - any folder in BEIR layout.
    """
    folder, name, meta = locate_dataset(name_or_path)
    return load_beir(folder, split, name, meta)


def course_dataset(split: str = "test", fast: bool | None = None) -> Dataset:
    """The data every notebook uses: the collection ``LESSONLIB_DATASET`` names, else SciFact when it
    is on this machine, else the bundled sample.

    ``LESSONLIB_DATASET`` (set by ``lessonlib workbook --data NAME_OR_PATH``) takes anything
    :func:`load_dataset` takes: ``sample``, ``scifact`` or a folder in BEIR layout. Never downloads
    unless it names a known collection that is not here.

    - A collection with no ``qrels/train.tsv`` gets a train split carved from its test queries
      (:func:`carve_train_split`: half of them, seed 0), and its test split is the other half, so no
      notebook trains on a query it reports; ``meta["carved"]`` says so and ``describe()`` prints it.
    - In fast mode (``fast=None`` reads ``LESSONLIB_FAST``) every collection but the sample is subset
      with seed 0 to ``FAST_SIZES[split]`` (test: 60 queries / 1,000 docs; train: 200 / 1,500). The
      train subset contains every document of the test subset, so a corpus encoded for one is mostly
      reused by the other. The sample collection is always used whole.
    """
    if split not in {"test", "train"}:
        raise ValueError(f"course_dataset(split={split!r}): split must be 'test' or 'train'")
    fast = config.is_fast() if fast is None else fast
    choice = config.dataset_choice()
    if choice is None:
        choice = "scifact" if find_local("scifact") is not None else "sample"
    if choice == "sample":
        return load_dataset("sample", split)
    folder, name, meta = locate_dataset(choice)
    has_train = (Path(folder) / "qrels" / "train.tsv").is_file()

    def split_of(which: str) -> Dataset:
        if has_train:
            return load_beir(folder, which, name, meta)
        return carve_train_split(load_beir(folder, "test", name, meta))[which]

    ds = split_of(split)
    if not fast:
        return ds
    sizes = FAST_SIZES.get(split, FAST_SIZES["test"])
    if split == "test":
        return ds.subset(seed=0, **sizes)
    test_docs = split_of("test").subset(seed=0, **FAST_SIZES["test"]).doc_ids
    return ds.subset(seed=0, keep_docs=test_docs, **sizes)


def relevant_pairs(qrels: Mapping[str, Mapping[str, int]], query_ids: Iterable[str] | None = None,
                   doc_ids: Iterable[str] | None = None, min_grade: int = 1) -> list[tuple[str, str]]:
    """Every (query id, relevant doc id) of ``qrels`` with grade >= ``min_grade``: the positives of training.

    ``query_ids`` / ``doc_ids`` keep only those queries / documents (e.g. a dataset's queries and corpus,
    or the fit half of a validation split). Pairs come in the order of ``qrels``.

    >>> relevant_pairs({"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}, query_ids=["q1"])
    [('q1', 'd1')]
    """
    keep_q = set(query_ids) if query_ids is not None else None
    keep_d = set(doc_ids) if doc_ids is not None else None
    return [(q, d) for q, docs in qrels.items() if keep_q is None or q in keep_q
            for d, g in docs.items() if g >= min_grade and (keep_d is None or d in keep_d)]


def split_queries(qids: Iterable[str], fraction: float = 0.15, seed: int = 0) -> tuple[list[str], list[str]]:
    """(fit ids, validation ids): a seeded validation split carved from TRAIN queries, both sorted.

    ``qids`` is any iterable of query ids (a qrels mapping gives its keys). The ids are sorted, permuted
    with ``seed``, and ``max(1, round(fraction * n))`` of them go to validation.

    >>> split_queries(["q1", "q2", "q3", "q4"], fraction=0.25, seed=0)
    (['q1', 'q2', 'q4'], ['q3'])
    """
    if not 0 < fraction < 1:
        raise ValueError(f"split_queries(fraction={fraction}): expected 0 < fraction < 1")
    ids = sorted(qids)
    order = np.random.default_rng(seed).permutation(len(ids))
    n_val = max(1, int(round(fraction * len(ids))))
    return sorted(ids[i] for i in order[n_val:]), sorted(ids[i] for i in order[:n_val])


def carve_train_split(test: Dataset, share: float = 0.5, seed: int = 0) -> dict[str, Dataset]:
    """``{"train": ..., "test": ...}``: a collection with no train split, its test queries split in two.

    ``share`` of the test queries (drawn with ``seed``; at least one each side) become the train
    split, the rest stay the test split; both keep the whole corpus. Training notebooks use the
    carved train split exactly as they would a real one, and the test queries they report on were
    never trained on. ``meta["carved"]`` records the counts.
    """
    if not 0 < share < 1:
        raise ValueError(f"carve_train_split(share={share}): must be in (0, 1)")
    qids = sorted(test.queries)
    if len(qids) < 2:
        raise ValueError(f"{test.meta.get('title', test.name)}: {len(qids)} test queries and no train split; "
                         "need at least 2 to carve a train split")
    order = np.random.default_rng(seed).permutation(len(qids))
    n_train = min(len(qids) - 1, max(1, round(share * len(qids))))
    train_q = {qids[i] for i in order[:n_train]}
    out = {}
    for split, keep in (("train", train_q), ("test", set(qids) - train_q)):
        meta = dict(test.meta, split=split, carved={"from": "test", "train": n_train, "test": len(qids) - n_train, "seed": seed})
        out[split] = Dataset(test.name, test.corpus, {q: t for q, t in test.queries.items() if q in keep},
                             {q: r for q, r in test.qrels.items() if q in keep}, split, meta)
    return out
