"""Published retrieval results (NQ, MS MARCO, TREC-COVID, SciFact), held as cited data.

Every row is one number copied from one table of one paper, with the paper (authors, year, venue),
the table and how the number was checked. Notebook 08 (§8, "Against the published baselines") prints
these rows next to the figures it measures itself, and never types a published figure by hand:
everything it prints about the literature comes from :data:`PUBLISHED`.

Scales are kept as the papers print them: DPR and ColBERT report percentages (top-k accuracy,
MRR@10 x 100), BEIR reports nDCG@10 as a fraction. :func:`as_fraction` puts them on one scale.

``checked`` says what the value was compared with when it was entered:

- ``"paper text"``: the table as it appears in a text rendering of the paper itself;
- ``"table transcriptions"``: several independent transcriptions of the paper's table that agree
  with each other (the paper's own text could not be opened offline); treat as one step removed.

Numbers that could not be checked either way (e.g. ANCE's own MS MARCO table, Nogueira & Cho's
eval-set MRR@10, which is printed as 35.8 in one source and 35.9 in another) are left out.

>>> [r.value for r in rows(dataset="NQ", metric="top-20 accuracy", system="DPR (single)")]
[78.4]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SCALES = ("percent", "fraction")
CHECKS = ("paper text", "table transcriptions")


@dataclass(frozen=True)
class Paper:
    """A cited paper: first authors, year, title and venue (as published)."""

    authors: str
    year: int
    title: str
    venue: str

    def cite(self) -> str:
        """``Authors (year), venue``."""
        return f"{self.authors} ({self.year}), {self.venue}"


@dataclass(frozen=True)
class PublishedResult:
    """One published figure: ``system`` on ``dataset`` (``split``) scored ``value`` in ``metric``.

    ``scale`` is ``"percent"`` (as DPR and ColBERT print) or ``"fraction"`` (as BEIR prints);
    ``table`` names the table of ``paper`` the value was copied from; ``note`` says what the setup is.
    """

    system: str
    dataset: str
    split: str
    metric: str
    value: float
    scale: str
    paper: Paper
    table: str
    checked: str
    note: str = ""

    def as_fraction(self) -> float:
        """The value on a 0-1 scale."""
        return self.value / 100.0 if self.scale == "percent" else self.value


DPR = Paper("Karpukhin, Oğuz, Min, Lewis, Wu, Edunov, Chen & Yih", 2020,
            "Dense Passage Retrieval for Open-Domain Question Answering", "EMNLP 2020")
COLBERT = Paper("Khattab & Zaharia", 2020,
                "ColBERT: Efficient and Effective Passage Search via Contextualized Late Interaction over BERT", "SIGIR 2020")
BEIR = Paper("Thakur, Reimers, Rücklé, Srivastava & Gurevych", 2021,
             "BEIR: A Heterogeneous Benchmark for Zero-shot Evaluation of Information Retrieval Models",
             "NeurIPS 2021 Datasets and Benchmarks")

_DPR_NOTE = "21M 100-word Wikipedia passages; share of test questions with an answer-bearing passage in the top k"
_DPR_ROWS = [  # Table 2, Natural Questions column (NQ test set)
    ("BM25", 59.1, 73.7, "Lucene BM25, no training"),
    ("DPR (single)", 78.4, 85.4, "BERT-base dual encoder trained on NQ alone"),
    ("BM25 + DPR (single)", 76.6, 83.8, "linear combination of the two scores"),
    ("DPR (multi)", 79.4, 86.0, "trained on NQ, TriviaQA, WQ and TREC together"),
    ("BM25 + DPR (multi)", 78.0, 83.9, "linear combination of the two scores"),
]
_COLBERT_ROWS = [  # (system, MRR@10 x 100 on MS MARCO passage dev, table, note)
    ("BM25 (official)", 16.7, "Table 1", "the official BM25 top 1000 every re-ranker of Table 1 re-ranks"),
    ("monoBERT-base (Nogueira & Cho 2019)", 34.7, "Table 1", "cross-encoder re-ranking BM25's top 1000"),
    ("monoBERT-large (Nogueira & Cho 2019)", 36.5, "Table 1", "cross-encoder re-ranking BM25's top 1000"),
    ("ColBERT (re-rank)", 34.9, "Table 1", "late interaction over BERT-base, re-ranking BM25's top 1000"),
    ("BM25 (Anserini)", 18.7, "Table 2", "full retrieval from 8.8M passages"),
    ("ColBERT (end-to-end)", 36.0, "Table 2", "full retrieval with a FAISS index, then MaxSim"),
]
_BEIR_SYSTEMS = ["BM25", "DPR", "ANCE", "TAS-B", "ColBERT", "BM25+CE"]
_BEIR_ROWS = {  # Table 2, nDCG@10; in-domain for MS MARCO-trained systems on MS MARCO, zero-shot elsewhere
    "TREC-COVID": [0.656, 0.332, 0.654, 0.481, 0.677, 0.757],
    "SciFact": [0.665, 0.318, 0.507, 0.643, 0.671, 0.688],
    "NQ": [0.329, 0.474, 0.446, 0.463, 0.524, 0.533],
    "MS MARCO": [0.228, 0.177, 0.388, 0.408, 0.401, 0.413],
}
_BEIR_SPLIT = {"TREC-COVID": "test (50 topics)", "SciFact": "test (300 claims)", "NQ": "test", "MS MARCO": "dev"}
_BEIR_NOTE = {"BM25": "Elasticsearch BM25", "DPR": "DPR (multi), trained on NQ and other QA sets",
              "ANCE": "trained on MS MARCO", "TAS-B": "trained on MS MARCO", "ColBERT": "trained on MS MARCO",
              "BM25+CE": "BM25 top 100 re-ranked by the MS MARCO MiniLM-L6 cross-encoder"}

PUBLISHED: list[PublishedResult] = (
    [PublishedResult(s, "NQ", "test", f"top-{k} accuracy", v, "percent", DPR, "Table 2", "paper text", f"{n}; {_DPR_NOTE}")
     for s, v20, v100, n in _DPR_ROWS for k, v in ((20, v20), (100, v100))]
    + [PublishedResult(s, "MS MARCO passage", "dev", "MRR@10", v, "percent", COLBERT, t, "paper text", n)
       for s, v, t, n in _COLBERT_ROWS]
    + [PublishedResult(s, d, _BEIR_SPLIT[d], "nDCG@10", v, "fraction", BEIR, "Table 2", "table transcriptions", _BEIR_NOTE[s])
       for d, values in _BEIR_ROWS.items() for s, v in zip(_BEIR_SYSTEMS, values)]
)


def rows(dataset: str | None = None, metric: str | None = None, system: str | None = None,
         results: Iterable[PublishedResult] | None = None) -> list[PublishedResult]:
    """The published rows matching every filter given (exact names), in :data:`PUBLISHED` order."""
    pool = PUBLISHED if results is None else list(results)
    out = [r for r in pool if (dataset is None or r.dataset == dataset) and (metric is None or r.metric == metric)
           and (system is None or r.system == system)]
    if not out:
        raise ValueError(f"rows(dataset={dataset!r}, metric={metric!r}, system={system!r}): no published row matches; "
                         f"datasets are {sorted({r.dataset for r in pool})}")
    return out


def validate(results: Iterable[PublishedResult] = PUBLISHED) -> None:
    """Raise ValueError on the first malformed row: scale, range, check, table name, citation, duplicate key."""
    seen = set()
    for r in results:
        key = (r.system, r.dataset, r.split, r.metric)
        if key in seen:
            raise ValueError(f"validate: duplicate published row {key}")
        seen.add(key)
        if r.scale not in SCALES or r.checked not in CHECKS:
            raise ValueError(f"validate: row {key} has scale {r.scale!r} / checked {r.checked!r}; expected one of {SCALES} / {CHECKS}")
        top = 100.0 if r.scale == "percent" else 1.0
        if not 0.0 <= r.value <= top:
            raise ValueError(f"validate: row {key} value {r.value} is outside [0, {top}] for scale {r.scale!r}")
        if not r.table.startswith("Table ") or not r.table[6:].isdigit():
            raise ValueError(f"validate: row {key} table {r.table!r} must read 'Table <number>'")
        if not (r.paper.authors and r.paper.venue and 1990 < r.paper.year < 2100 and str(r.paper.year) in r.paper.venue):
            raise ValueError(f"validate: row {key} has an incomplete citation {r.paper}")


def to_markdown(results: Iterable[PublishedResult], measured: dict[str, float] | None = None, measured_label: str = "measured here") -> str:
    """A Markdown table of published rows (value as printed in the paper, citation, table, check).

    ``measured`` maps a system name to this project's own figure on the same metric (fraction
    scale); those rows are added at the top, labelled ``measured_label``, with no citation.
    """
    lines = ["| system | dataset (split) | metric | value | paper | table | checked against |",
             "| --- | --- | --- | ---: | --- | --- | --- |"]
    results = list(results)
    if measured:
        ref = results[0] if results else None
        for name, value in measured.items():
            where = f"{ref.dataset} ({measured_label})" if ref else measured_label
            lines.append(f"| **{name}** | {where} | {ref.metric if ref else ''} | **{value:.3f}** | this notebook | – | measured |")
    for r in results:
        shown = f"{r.value:.1f}" if r.scale == "percent" else f"{r.value:.3f}"
        lines.append(f"| {r.system} | {r.dataset} ({r.split}) | {r.metric} | {shown} | {r.paper.cite()} | {r.table} | {r.checked} |")
    return "\n".join(lines)
