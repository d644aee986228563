"""Teachers beyond one cross-encoder (notebook 04): BM25 and ensemble teachers, layer-truncated students,
temporal ensembling (saved EMA weights), self-training on pseudo-labels, synthetic queries."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lessonlib.data import Dataset, load_dataset
from lessonlib.dual import self_training as st
from lessonlib.dual import synthetic_queries as sq
from lessonlib.dual.distill import (
    BM25Teacher,
    CrossEncoderTeacher,
    EnsembleTeacher,
    PairTeacher,
    make_teacher,
    train_distilled,
    truncate_layers,
)
from lessonlib.dual.encoders import DualEncoder
from lessonlib.dual.recipe import DualRecipe
from lessonlib.retrieval.bm25 import BM25


@pytest.fixture(scope="module")
def small():
    return load_dataset("sample", "test").subset(n_docs=30, n_queries=8, seed=0)


def _pairs(ds, n_q=3, n_d=4):
    qids = sorted(ds.queries)[:n_q]
    return qids, [ds.doc_ids[i:i + n_d] for i in range(n_q)]


# --------------------------------------------------------------------------- teachers


def test_bm25_teacher_equals_the_bm25_score_matrix(small):
    qids, docs = _pairs(small)
    got = BM25Teacher().scores(small, qids, docs)
    ref = BM25().fit(small.doc_texts(), small.doc_ids).score_matrix([small.queries[q] for q in qids]).toarray()
    col = {d: i for i, d in enumerate(small.doc_ids)}
    want = np.array([[ref[i, col[d]] for d in ds] for i, ds in enumerate(docs)], dtype=np.float32)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert (got >= 0).all() and got.max() > 0


def test_ensemble_of_one_teacher_is_its_z_score_times_scale(small):
    qids, docs = _pairs(small)
    base = PairTeacher(lambda qs, ds_: np.array([len(d) for d in ds_], dtype=np.float32))
    ens = EnsembleTeacher([base], scale=0.5).calibrate(small, qids, docs)
    raw = base.scores(small, qids, docs)
    np.testing.assert_allclose(ens.scores(small, qids, docs), 0.5 * (raw - raw.mean()) / raw.std(), rtol=1e-5, atol=1e-6)


def test_ensemble_weights_average_the_normalised_teachers(small):
    qids, docs = _pairs(small)
    a = PairTeacher(lambda qs, ds_: np.array([len(d) for d in ds_], dtype=np.float32))
    b = PairTeacher(lambda qs, ds_: np.array([-3.0 * len(d) + 7 for d in ds_], dtype=np.float32))  # a, reversed
    ens = EnsembleTeacher([a, b], weights=[3.0, 1.0], scale=1.0).calibrate(small, qids, docs)
    za = (a.scores(small, qids, docs) - a.scores(small, qids, docs).mean()) / a.scores(small, qids, docs).std()
    np.testing.assert_allclose(ens.scores(small, qids, docs), (3 * za - za) / 4, rtol=1e-4, atol=1e-5)
    equal = EnsembleTeacher([a, b], scale=1.0).calibrate(small, qids, docs)
    np.testing.assert_allclose(equal.scores(small, qids, docs), 0.0, atol=1e-5)  # opposite teachers cancel
    with pytest.raises(ValueError, match="weights"):
        EnsembleTeacher([a, b], weights=[1.0])
    with pytest.raises(ValueError, match="at least one"):
        EnsembleTeacher([])


def test_make_teacher_parses_names():
    recipe = DualRecipe()
    ens = make_teacher("mix:0.25*bm25+0.75*bm25", recipe, "cpu")
    assert isinstance(ens, EnsembleTeacher) and ens.weights == [0.25, 0.75]
    assert all(isinstance(t, BM25Teacher) for t in ens.teachers)
    assert isinstance(make_teacher("bm25", recipe, "cpu"), BM25Teacher)
    assert make_teacher(None, recipe, "cpu") is None
    with pytest.raises(ValueError, match="not a number"):
        make_teacher("mix:x*bm25", recipe, "cpu")


def test_cross_teacher_reads_the_token_limit_of_a_workbook_folder(tmp_path):
    from lessonlib.dual.distill import _cross_limits

    (tmp_path / "training.json").write_text(json.dumps({"recipe": {"max_length": 96}}))
    assert _cross_limits(tmp_path) == {"max_length": 96, "overflow": "truncate"}
    assert _cross_limits(tmp_path / "nothing") == {}
    assert CrossEncoderTeacher.temperature == 1.0


# --------------------------------------------------------------------------- smaller students, EMA


def test_truncate_layers_matches_transformers_loading_fewer_layers():
    from transformers import AutoModel

    from lessonlib.core.hub import resolve_model

    model = DualEncoder.from_pretrained("sentence-transformers/all-MiniLM-L6-v2", max_length=32)
    truncate_layers(model, 2)
    tower = model.query_tower
    assert len(tower.model.encoder.layer) == 2 and tower.model.config.num_hidden_layers == 2
    ref = AutoModel.from_pretrained(str(resolve_model("sentence-transformers/all-MiniLM-L6-v2")), num_hidden_layers=2).eval()
    batch = tower.tokenizer(["a claim about vitamin D", "another one"], return_tensors="pt", padding=True)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(tower.model(**batch).last_hidden_state, ref(**batch).last_hidden_state, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="n_layers=7"):
        truncate_layers(model, 7)


def test_progressive_student_and_saved_ema(small, tmp_path):
    folder, history, model = train_distilled(
        small, out_dir=tmp_path / "s", teacher="mix:bm25", n_layers=2, ema_momentum=0.5, save_ema=True,
        negatives="bm25", n_negatives=1, batch_size=4, max_steps=2, max_length=32, query_max_length=16,
        progress=False, device="cpu",
    )  # fmt: skip
    assert [h for h in history if "kd" in h] and all(np.isfinite(h["kd"]) for h in history if "kd" in h)
    student, ema = DualEncoder.load(folder), DualEncoder.load(folder / "ema")
    assert len(student.query_tower.model.encoder.layer) == 2 == len(ema.query_tower.model.encoder.layer)
    s = dict(student.named_parameters())
    assert any(not torch.equal(p, s[n]) for n, p in ema.named_parameters())  # the EMA lags the student
    with pytest.raises(ValueError, match="save_ema"):
        train_distilled(small, teacher=None, save_ema=True, max_steps=1, progress=False, device="cpu")


# --------------------------------------------------------------------------- self-training


def _toy() -> Dataset:
    corpus = {f"d{i}": {"title": "", "text": f"doc {i}"} for i in range(6)}
    queries = {f"q{i}": f"query {i}" for i in range(4)}
    qrels = {"q0": {"d0": 1}, "q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 1}}
    return Dataset("toy", corpus, queries, qrels, "train", {})


def test_claim_roles_are_disjoint_and_cover():
    roles = st.claim_roles([f"q{i}" for i in range(20)], hidden=0.3, val=0.2, seed=1)
    assert [len(roles[k]) for k in ("hidden", "val", "gold")] == [6, 4, 10]
    assert sorted(sum(roles.values(), [])) == sorted(f"q{i}" for i in range(20))
    assert st.claim_roles([f"q{i}" for i in range(20)], 0.3, 0.2, seed=1) == roles
    with pytest.raises(ValueError, match="too few"):
        st.claim_roles(["a", "b"], hidden=0.3, val=0.2)


def test_pseudo_labels_take_the_teachers_best_of_the_top_k():
    ds = _toy()
    run = {"q0": {"d5": 9.0, "d0": 8.0, "d1": 7.0}, "q1": {"d4": 3.0, "d1": 3.0, "d2": 1.0}, "q2": {}}
    by_text = {"doc 0": 5, "doc 1": 9, "doc 2": 9, "doc 4": 1, "doc 5": 2}
    teacher = PairTeacher(lambda qs, docs: np.array([by_text[d.strip()] for d in docs], dtype=np.float32))
    labels = st.pseudo_labels(ds, ["q0", "q1", "q2"], teacher, run, k=2)
    assert labels["q0"] == st.PseudoLabel("d0", 5.0)  # d1 is ranked 3rd: outside k=2
    assert labels["q1"].doc_id == "d1"  # top 2 of a tie on 3.0: d4 then d1 (doc id descending)
    assert "q2" not in labels
    assert st.label_precision(labels, ds.qrels) == (1.0, 2)


def test_choose_threshold_is_the_lowest_score_reaching_the_precision():
    qrels = {f"q{i}": {"good": 1} for i in range(5)}
    labs = {"q0": st.PseudoLabel("good", 0.9), "q1": st.PseudoLabel("bad", 0.8), "q2": st.PseudoLabel("good", 0.7),
            "q3": st.PseudoLabel("good", 0.6), "q4": st.PseudoLabel("bad", 0.1)}
    # kept at 0.9: 1/1; 0.8: 1/2; 0.7: 2/3; 0.6: 3/4; 0.1: 3/5
    assert st.choose_threshold(labs, qrels, min_precision=0.75) == 0.6
    assert st.choose_threshold(labs, qrels, min_precision=1.0) == 0.9
    assert st.choose_threshold({"q1": labs["q1"]}, qrels, min_precision=0.5) == float("inf")
    assert st.label_precision(labs, qrels, 0.6) == (0.75, 4)
    with pytest.raises(ValueError, match="min_precision"):
        st.choose_threshold(labs, qrels, min_precision=0)


def test_with_pseudo_labels_adds_confident_labels_and_never_overrides_gold():
    ds = _toy()
    labs = {"q0": st.PseudoLabel("d5", 9.0), "q2": st.PseudoLabel("d4", 0.9), "q3": st.PseudoLabel("d3", 0.2)}
    mixed = st.with_pseudo_labels(ds, ["q0", "q1"], labs, threshold=0.5)
    assert mixed.qrels == {"q0": {"d0": 1}, "q1": {"d1": 1}, "q2": {"d4": 1}}
    assert set(mixed.queries) == {"q0", "q1", "q2"} and mixed.meta["pseudo_labels"] == 1
    assert st.with_pseudo_labels(ds, ["q0"]).qrels == {"q0": {"d0": 1}}
    with pytest.raises(ValueError, match="gold"):
        st.with_pseudo_labels(ds, ["nope"])


# --------------------------------------------------------------------------- synthetic queries


def test_extractive_queries_are_sentences_of_their_document(small):
    queries = sq.extractive_queries(small, max_docs=5, seed=0)
    assert 0 < len(queries) <= 5
    for did, (q,) in queries.items():
        assert q in small.corpus[did]["text"] and len(q.split()) >= 6
    syn = sq.synthetic_dataset(small, queries)
    assert all(syn.qrels[q] == {q.split(":")[1]: 1} for q in syn.queries) and syn.corpus is small.corpus


def test_round_trip_filter_keeps_queries_that_find_their_document():
    ds = _toy()
    syn = sq.synthetic_dataset(ds, {"d0": ["x"], "d1": ["y"]})
    run = {"syn:d0:0": {"d0": 1.0, "d2": 2.0}, "syn:d1:0": {"d3": 5.0, "d4": 4.0, "d1": 1.0}}
    assert set(sq.round_trip_filter(syn, run, k=2).queries) == {"syn:d0:0"}
    assert set(sq.round_trip_filter(syn, run, k=3).queries) == {"syn:d0:0", "syn:d1:0"}
    with pytest.raises(ValueError, match="no synthetic query"):
        sq.round_trip_filter(syn, {}, k=1)


def test_doc2query_generator_says_why_it_cannot_load_and_generates_with_a_seq2seq_model():
    with pytest.raises(sq.GeneratorUnavailable, match="not installed locally"):
        sq.Doc2QueryGenerator("nobody/no-such-doc2query-model").fit()
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    from lessonlib.core.hub import resolve_model

    gen = sq.Doc2QueryGenerator(n_queries=2, max_new_tokens=4)
    gen.tokenizer_ = AutoTokenizer.from_pretrained(str(resolve_model("sentence-transformers/all-MiniLM-L6-v2")))
    torch.manual_seed(0)
    gen.model_ = T5ForConditionalGeneration(T5Config(vocab_size=gen.tokenizer_.vocab_size, d_model=16, d_ff=32, d_kv=8,
                                                      num_layers=1, num_heads=2, decoder_start_token_id=0,
                                                      pad_token_id=0, eos_token_id=102)).eval()
    out = gen.generate(["the first abstract", "a second, longer abstract about cells"])
    assert len(out) == 2 and all(len(qs) == 2 and all(isinstance(q, str) for q in qs) for qs in out)
