"""lessonlib.evaluation.published: the cited rows are well formed, and notebook 08 prints them from the module."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from lessonlib.evaluation import published as P

NB08 = Path(__file__).resolve().parents[1] / "notebooks" / "08_dense_qa_scifact.ipynb"


def test_every_row_is_well_formed():
    P.validate()
    assert {r.dataset for r in P.PUBLISHED} >= {"NQ", "MS MARCO passage", "TREC-COVID", "SciFact"}
    for r in P.PUBLISHED:
        assert r.system and r.split and r.metric and r.note
        assert r.paper.title and r.paper.cite().startswith(r.paper.authors)


def test_validate_rejects_each_kind_of_bad_row():
    good = P.rows(dataset="SciFact", system="BM25")[0]
    bad = [dataclasses.replace(good, value=66.5),  # a percentage on the fraction scale
           dataclasses.replace(good, scale="ratio"),
           dataclasses.replace(good, checked="memory"),
           dataclasses.replace(good, table="Tab. 2"),
           dataclasses.replace(good, paper=dataclasses.replace(good.paper, venue="NeurIPS"))]  # year missing from the venue
    for row in bad:
        with pytest.raises(ValueError):
            P.validate([row])
    with pytest.raises(ValueError, match="duplicate"):
        P.validate([good, good])


def test_known_rows_and_their_tables():
    dpr = {r.system: r.value for r in P.rows(dataset="NQ", metric="top-20 accuracy")}
    assert dpr["BM25"] < dpr["DPR (single)"] <= dpr["DPR (multi)"]  # DPR Table 2: the paper's headline gap
    assert all(r.table == "Table 2" and r.paper is P.DPR for r in P.rows(dataset="NQ", metric="top-100 accuracy"))
    beir = P.rows(dataset="SciFact")
    assert [r.system for r in beir] == ["BM25", "DPR", "ANCE", "TAS-B", "ColBERT", "BM25+CE"]
    assert all(r.scale == "fraction" and r.paper is P.BEIR for r in beir)
    marco = P.rows(dataset="MS MARCO passage", system="monoBERT-large (Nogueira & Cho 2019)")[0]
    assert marco.as_fraction() == pytest.approx(0.365) and marco.table == "Table 1"
    for r in P.PUBLISHED:  # a fraction view is on [0, 1] whatever the paper printed
        assert 0 <= r.as_fraction() <= 1


def test_rows_filters_and_rejects_unknown():
    assert len(P.rows(dataset="TREC-COVID")) == 6
    assert P.rows(dataset="TREC-COVID", system="BM25+CE")[0].value == max(r.value for r in P.rows(dataset="TREC-COVID"))
    with pytest.raises(ValueError, match="no published row"):
        P.rows(dataset="Robust04")


def test_markdown_prints_every_value_and_citation_from_the_rows():
    rows = P.rows(dataset="SciFact") + P.rows(dataset="NQ")
    text = P.to_markdown(rows, measured={"BM25": 0.6123}, measured_label="test, here")
    lines = text.splitlines()
    assert len(lines) == 2 + 1 + len(rows)
    assert "**0.612**" in lines[2] and "measured" in lines[2]
    for r, line in zip(rows, lines[3:]):
        shown = f"{r.value:.1f}" if r.scale == "percent" else f"{r.value:.3f}"
        assert f"| {shown} |" in line and r.table in line and r.paper.cite() in line and r.checked in line


def _source(nb: Path) -> str:
    return "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code")


def test_notebook_08_takes_published_numbers_from_the_module():
    code = _source(NB08)
    assert "published.to_markdown(" in code and "published.validate()" in code
    # no published figure of this module is typed into a code cell of notebook 08
    typed = set(re.findall(r"(?<![\d.])\d+\.\d+(?![\d])", code))
    shown = {f"{r.value:.3f}" if r.scale == "fraction" else f"{r.value:.1f}" for r in P.PUBLISHED}
    assert not (typed & shown), f"published values typed by hand in notebook 08: {sorted(typed & shown)}"
