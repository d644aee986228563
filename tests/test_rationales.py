"""SciFact rationales: parsing by hand on a small folder, and the real files where present."""

from __future__ import annotations

import json

import pytest

from lessonlib.tasks.rationales import abstract_sentences, load_rationales


def test_rationales_parsed_by_hand(tmp_path):
    (tmp_path / "corpus.jsonl").write_text(json.dumps({"doc_id": 7, "title": "T", "abstract": ["A one.", " B two. "]}) + "\n")
    claims = [{"id": 1, "claim": "c", "evidence": {"7": [{"sentences": [1], "label": "SUPPORT"},
                                                         {"sentences": [0, 1], "label": "SUPPORT"}]}, "cited_doc_ids": [7]},
              {"id": 2, "claim": "d", "evidence": {}, "cited_doc_ids": [7]}]
    (tmp_path / "claims_dev.jsonl").write_text("\n".join(json.dumps(c) for c in claims) + "\n")
    assert load_rationales("test", tmp_path) == {"1": {"7": [0, 1]}}
    assert abstract_sentences(tmp_path) == {"7": ["A one.", "B two."]}
    with pytest.raises(ValueError):
        load_rationales("nope", tmp_path)


def test_missing_folder_gives_nothing(tmp_path):
    assert load_rationales("test", tmp_path / "none") == {} and abstract_sentences(tmp_path / "none") == {}


@pytest.mark.scifact
def test_real_rationales_point_at_judged_documents_and_existing_sentences(scifact):
    ev = load_rationales("test")
    if not ev:
        pytest.skip("SciFact original/ files not found")
    sents = abstract_sentences()
    assert 150 <= len(ev) <= 300
    for qid, docs in list(ev.items())[:50]:
        assert qid in scifact.qrels
        for d, idx in docs.items():
            assert scifact.qrels[qid].get(d, 0) > 0 and max(idx) < len(sents[d])
