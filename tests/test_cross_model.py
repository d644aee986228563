"""CrossEncoder: input composition, scoring, long pairs, bad input, save/load, CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.cross import CrossEncoder
from lessonlib.cross.longdoc import aggregate, truncate_doc, windows


@pytest.fixture(scope="module")
def ce():
    torch.manual_seed(0)
    return CrossEncoder(device="cpu", max_length=64, max_query_length=16, stride=8)


def test_input_is_cls_q_sep_d_sep_with_segments(ce):
    enc = ce.encode_pairs(["heart attack"], ["aspirin helps"])
    ids = enc["input_ids"][0].tolist()
    tok = ce.tokenizer
    assert ids[0] == tok.cls_token_id and ids.count(tok.sep_token_id) == 2 and ids[-1] == tok.sep_token_id
    types = enc["token_type_ids"][0].tolist()
    first_sep = ids.index(tok.sep_token_id)
    assert set(types[: first_sep + 1]) == {0} and set(types[first_sep + 1:]) == {1}


def test_a_short_training_length_cuts_a_long_query_and_keeps_room_for_the_document(ce):
    query = " ".join(["aspirin"] * 40)  # 40 query tokens: more than max_query_length (16) and than 20 - 16
    enc = ce.encode_pairs([query], [" ".join(["document"] * 30)], max_length=20)
    ids = enc["input_ids"][0].tolist()
    first_sep = ids.index(ce.tokenizer.sep_token_id)
    assert len(ids) == 20 and first_sep - 1 == 4  # the query keeps max_length - 16 tokens, the document the rest
    assert ce.encode_pairs([query], ["doc"])["input_ids"].shape[1] == 1 + 16 + 1 + 1 + 1  # default: max_query_length


def test_score_forms_agree_and_batches_do_not_change_scores(ce):
    docs = ["aspirin lowers risk", "the cat sat on the mat today", "heart"]
    a = ce.score("heart attack", docs, batch_size=1)
    b = ce.score([("heart attack", d) for d in docs], batch_size=3)
    c = ce.score(["heart attack"] * 3, docs)
    assert a.shape == (3,) and np.allclose(a, b, atol=1e-5) and np.allclose(a, c, atol=1e-5)


def test_long_pairs_are_windowed_not_cut(ce):
    doc = "filler words here. " * 40 + "aspirin"
    w = windows(ce.tokenizer, doc, 20, 5)
    assert len(w) > 1 and w[-1].endswith("aspirin") and w[0].startswith("filler")
    maxp = ce.score("q", [doc], overflow="maxp")
    firstp = ce.score("q", [doc], overflow="firstp")
    trunc = ce.score("q", [doc], overflow="truncate")
    assert np.allclose(firstp, trunc, atol=1e-4)  # first window == head truncation
    assert maxp[0] >= firstp[0] - 1e-5


def test_aggregate_by_hand():
    s = np.array([1.0, 3.0, 2.0, 5.0])
    owner = np.array([0, 0, 0, 1])
    assert aggregate(s, owner, 2, "firstp").tolist() == [1.0, 5.0]
    assert aggregate(s, owner, 2, "maxp").tolist() == [3.0, 5.0]
    assert aggregate(s, owner, 2, "sump").tolist() == [6.0, 5.0]
    assert aggregate(s, owner, 2, "meanp").tolist() == [2.0, 5.0]


def test_truncation_strategies(ce):
    doc = "alpha beta gamma delta epsilon"
    assert truncate_doc(ce.tokenizer, doc, 2, "head") == "alpha beta"
    assert truncate_doc(ce.tokenizer, doc, 2, "tail") == "delta epsilon"
    assert truncate_doc(ce.tokenizer, doc, 2, "head+tail") == "alpha epsilon"
    with pytest.raises(ValueError, match="strategy"):
        truncate_doc(ce.tokenizer, doc, 2, "middle")


def test_bad_input_is_refused(ce):
    with pytest.raises(ValueError, match="query of pair 0 is empty"):
        ce.score("", ["doc"])
    with pytest.raises(ValueError, match="document of pair 1 is empty"):
        ce.score("q", ["doc", "  "])
    with pytest.raises(ValueError, match="equal lengths"):
        ce.score(["a", "b"], ["d"])
    with pytest.raises(ValueError, match="head="):
        CrossEncoder(head="ordinal", device="cpu")


def test_nan_weights_are_refused():
    broken = CrossEncoder(device="cpu", max_length=64, max_query_length=16)
    with torch.no_grad():
        broken.model.classifier.bias.fill_(float("nan"))
    with pytest.raises(ValueError, match="non-finite"):
        broken.score("q", ["d"])


def test_heads_graded_and_regression():
    g = CrossEncoder(head="graded", num_grades=3, device="cpu", max_length=64, max_query_length=16)
    s = g.score("q", ["a", "b"])
    assert ((s >= 0) & (s <= 2)).all()  # expected grade in [0, C-1]
    assert g.model.config.num_labels == 3


def test_save_load_roundtrip(ce, tmp_path):
    from transformers import AutoModelForSequenceClassification

    ce.save(tmp_path / "m")
    assert (tmp_path / "m" / "model.safetensors").exists()
    hf = AutoModelForSequenceClassification.from_pretrained(tmp_path / "m")
    assert hf.config.num_labels == 1
    again = CrossEncoder.load(tmp_path / "m", device="cpu", max_length=64, max_query_length=16)
    assert np.allclose(again.score("q", ["some doc"]), ce.score("q", ["some doc"]), atol=1e-5)


def test_rerank_refuses_unknown_documents(ce):
    from lessonlib.retrieval.rerank import rerank

    corpus = {"d1": {"title": "t", "text": "x"}}
    with pytest.raises(ValueError, match="not in the corpus"):
        rerank(ce, (corpus, {"q": "query"}), {"q": {"d1": 1.0, "zz": 0.5}}, show_progress=False)
    with pytest.raises(ValueError, match="not in the dataset"):
        rerank(ce, (corpus, {"q": "query"}), {"other": {"d1": 1.0}}, show_progress=False)


def test_interpolate_normalises_each_list_with_fusion_normalize():
    from lessonlib.retrieval.fusion import normalize
    from lessonlib.retrieval.rerank import interpolate_first_stage

    a = {"q": {"x": 1.0, "y": 3.0}}
    b = {"q": {"x": 10.0, "y": 0.0}}
    f = interpolate_first_stage(a, b, alpha=2.0, norm="minmax")
    assert f == {"q": {"x": 2.0, "y": 1.0}}
    assert interpolate_first_stage(a, b, alpha=0.0, norm="minmax") == {"q": normalize(a["q"], "minmax")}
    # a document the first stage missed gets the first stage's normalised minimum
    z = interpolate_first_stage({"q": {"x": 1.0, "new": 2.0}}, b, alpha=1.0, norm="zscore")
    assert z["q"]["new"] == pytest.approx(1.0 + min(normalize(b["q"], "zscore").values()))
