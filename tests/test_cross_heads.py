"""Regression targets and the multi-task head (lessonlib.cross.heads); augmentation views (lessonlib.cross.augmentation)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.cross import CrossEncoder
from lessonlib.cross.augmentation import with_documents, with_queries
from lessonlib.cross.data import Group
from lessonlib.cross.heads import (
    LABEL_IDS,
    MultiTaskCrossEncoder,
    claim_label_groups,
    multitask_loss_fn,
    soft_target_groups,
    train_multitask,
)
from lessonlib.losses.ranking import bce
from lessonlib.tasks.claim_verification import (
    CONTRADICT,
    SUPPORT,
    Claim,
    ClaimSet,
    Evidence,
)


def _group(qid="q1", query="vitamin d prevents fractures"):
    return Group(qid, query, ["Vitamin D cut fractures. It was a trial.", "Cats purr.", "Bone density rose.", "Rain fell."],
                 [1.0, 0.0, 0.0, 0.0], meta={"doc_ids": ["p", "n1", "n2", "n3"]})


def test_soft_targets_by_hand():
    run = {"q1": {"p": 9.0, "n1": 2.0, "n2": 6.0}}  # n3 missing -> the list's minimum
    g = soft_target_groups([_group()], run, beta=0.5)[0]
    assert g.labels == pytest.approx([1.0, 0.0, 0.5 * (6 - 2) / (9 - 2), 0.0])
    assert _group().labels == [1.0, 0.0, 0.0, 0.0]  # the input is not changed
    flat = soft_target_groups([_group()], {"q1": {}}, beta=0.5)[0]
    assert flat.labels == [1.0, 0.0, 0.0, 0.0]


def test_soft_targets_errors():
    with pytest.raises(ValueError):
        soft_target_groups([_group()], {}, beta=1.0)
    g = _group()
    g.meta = {}
    with pytest.raises(ValueError):
        soft_target_groups([g], {}, beta=0.5)


def _claims():
    claim = Claim("q1", "vitamin d prevents fractures", {"p": Evidence(SUPPORT, ((0,),)), "n2": Evidence(CONTRADICT, ((0,),))},
                  ("p", "n2"))
    return ClaimSet({"q1": claim}, {}, "train")


def test_claim_labels():
    g = claim_label_groups([_group()], _claims())[0]
    assert g.meta["claim_labels"] == [LABEL_IDS["SUPPORT"], LABEL_IDS["NOT_ENOUGH_INFO"], LABEL_IDS["CONTRADICT"],
                                      LABEL_IDS["NOT_ENOUGH_INFO"]]
    with pytest.raises(ValueError):
        claim_label_groups([_group(qid="other")], _claims())


def test_query_and_document_views():
    groups = [_group(), _group("q2", "bone loss")]
    extra = with_queries(groups, {"q1": ["vitamin d stops fractures", "vitamin d prevents fractures", ""]}, "paraphrase")
    assert [g.query for g in extra] == ["vitamin d stops fractures"]  # unchanged and empty variants dropped
    assert extra[0].docs == groups[0].docs and extra[0].labels == groups[0].labels and extra[0].meta["augmented"] == "paraphrase"
    views = with_documents(groups, lambda d: d.split(". ")[0], "lead")
    assert len(views) == 2 and views[0].docs[0] == "Vitamin D cut fractures" and views[0].docs[1] == "Cats purr."
    assert with_documents(groups, lambda d: d, "same") == []


@pytest.fixture(scope="module")
def mt():
    torch.manual_seed(0)
    try:
        return MultiTaskCrossEncoder(device="cpu", max_length=64, max_query_length=16, overflow="truncate")
    except (FileNotFoundError, OSError) as exc:  # pragma: no cover - model not installed
        pytest.skip(f"MiniLM not available: {exc}")


def test_multitask_shapes_and_scores_are_the_relevance_logit(mt):
    feats = mt.encode_pairs(["claim a", "claim a"], ["doc one", "doc two"])
    s = mt(**feats)
    assert s.shape == (2,) and mt.label_logits().shape == (2, 3)
    assert np.allclose(mt.score("claim a", ["doc one", "doc two"]), mt.model(**feats).logits[:, 0].detach().numpy(), atol=1e-5)
    assert set(mt.predict_labels([("claim a", "doc one")])) <= {"SUPPORT", "CONTRADICT", "NOT_ENOUGH_INFO"}


def test_multitask_loss_without_label_weight_is_bce(mt):
    groups = claim_label_groups([_group()], _claims())
    mt.model.eval()
    value, logs = multitask_loss_fn(0.0)(mt, groups)
    feats = mt.encode_pairs([groups[0].query] * 4, groups[0].docs)
    ref = bce(mt(**feats).view(1, 4), torch.tensor([groups[0].labels]))
    assert float(value.detach()) == pytest.approx(float(ref.detach()), rel=1e-5)
    assert logs["label_loss"] > 0
    with pytest.raises(ValueError):
        multitask_loss_fn(1.0)(mt, [_group()])  # no claim labels
    with pytest.raises(ValueError):
        multitask_loss_fn(-1.0)


def test_training_moves_the_label_head_and_save_load_round_trip(mt, tmp_path):
    groups = claim_label_groups([_group()], _claims()) * 4
    before = mt.label_head.weight.detach().clone()
    hist = train_multitask(mt, groups, label_weight=1.0, max_steps=3, batch_size=2, lr=1e-3)
    assert sum("loss" in h for h in hist) == 3
    assert not torch.allclose(before, mt.label_head.weight)
    mt.save(tmp_path / "m")
    back = CrossEncoder.load(tmp_path / "m", device="cpu", max_length=64, max_query_length=16, overflow="truncate")
    assert isinstance(back, MultiTaskCrossEncoder)
    assert torch.allclose(back.label_head.weight, mt.label_head.weight)
    pairs = [("claim a", "doc one"), ("claim b", "doc two")]
    assert np.allclose(back.score(pairs), mt.score(pairs), atol=1e-5)
    assert back.predict_labels(pairs) == mt.predict_labels(pairs)
