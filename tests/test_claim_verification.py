"""lessonlib.tasks.claim_verification: SciFact metrics by hand, loader errors, selectors and label models on
toy vectors, passage units, and the loader on the real SciFact release."""

from __future__ import annotations

import json
import zlib
from dataclasses import replace

import numpy as np
import pytest

from lessonlib.tasks import claim_verification as cv
from lessonlib.tasks.claim_verification import Abstract, Candidate, Claim, ClaimSet, Evidence


# ----------------------------------------------------------------------------- helpers
def _abstract(doc_id: str, n: int, title: str = "") -> Abstract:
    return Abstract(doc_id, title or f"title {doc_id}", tuple(f"sentence {i} of {doc_id}" for i in range(n)))


def _worked_example() -> ClaimSet:
    """The scoring example of SciFact's doc/evaluation.md: claim 52, evidence in abstracts 11 and 15."""
    abstracts = {"11": _abstract("11", 14), "15": _abstract("15", 6), "16": _abstract("16", 21)}
    claim = Claim("52", "ALDH1 expression is associated with poorer prognosis for breast cancer primary tumors.",
                  {"11": Evidence(cv.SUPPORT, ((0, 1), (11,))), "15": Evidence(cv.SUPPORT, ((4,),))}, ("11", "15"))
    return ClaimSet({"52": claim}, abstracts, "dev")


WORKED_PREDICTION = {"52": {"11": {"sentences": [1, 11, 13], "label": "SUPPORT"},
                            "16": {"sentences": [18, 20], "label": "CONTRADICT"}}}


def _embed(texts):
    """A toy sentence encoder: hashed bag of words (deterministic, 128 dims)."""
    out = np.zeros((len(texts), 128), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().replace(".", " ").split():
            out[i, zlib.crc32(w.encode()) % 128] += 1.0
    return out + 1e-3


# ----------------------------------------------------------------------------- metrics by hand
def test_scifact_metrics_reproduce_the_official_worked_example():
    m = cv.scifact_metrics(_worked_example(), WORKED_PREDICTION)
    # abstract level: 2 predicted, 2 gold, abstract 11 correct (label SUPPORT and rationale {11} within [1, 11, 13])
    for key in ("abstract_label_only", "abstract_rationalized"):
        assert m[key] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5})
    # sentence level: 5 predicted, 4 gold (0, 1, 11 of abstract 11; 4 of abstract 15); only sentence 11 counts
    assert m["sentence_selection"] == pytest.approx({"precision": 1 / 5, "recall": 1 / 4, "f1": 2 / 9})
    assert m["sentence_label"] == pytest.approx({"precision": 1 / 5, "recall": 1 / 4, "f1": 2 / 9})


def test_wrong_label_keeps_selection_but_loses_label_credit():
    pred = {"52": {"11": {"sentences": [0, 1], "label": "CONTRADICT"}}}
    m = cv.scifact_metrics(_worked_example(), pred)
    assert m["sentence_selection"]["precision"] == 1.0  # the whole rationale {0, 1} is predicted
    assert m["sentence_selection"]["recall"] == pytest.approx(2 / 4)
    assert m["sentence_label"]["f1"] == 0.0
    assert m["abstract_label_only"]["f1"] == 0.0


def test_only_the_first_three_sentences_count_for_abstract_rationalized():
    late = {"52": {"15": {"sentences": [0, 1, 2, 4], "label": "SUPPORT"}}}
    m = cv.scifact_metrics(_worked_example(), late)
    assert m["abstract_label_only"]["precision"] == 1.0
    assert m["abstract_rationalized"]["precision"] == 0.0  # sentence 4 is the 4th predicted: not read
    assert m["sentence_selection"]["precision"] == pytest.approx(1 / 4)  # but sentence level reads all of them


def test_nei_predictions_and_missing_claims_count_nothing():
    nei = {"52": {"16": {"sentences": [1], "label": "NOT_ENOUGH_INFO"}}}
    for pred in (nei, {}):
        m = cv.scifact_metrics(_worked_example(), pred)
        assert m["abstract_label_only"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
        assert m["sentence_selection"]["f1"] == 0.0
    with pytest.raises(ValueError, match="REFUTES"):
        cv.scifact_metrics(_worked_example(), {"52": {"11": {"sentences": [1], "label": "REFUTES"}}})


def test_rationale_selection_f1_needs_whole_rationales():
    claims = _worked_example()
    cands = [Candidate("52", "11", (1, 11)), Candidate("52", "15", (4, 5))]
    m = cv.rationale_selection_f1(claims, cands)
    # correct: 11 (set {11}) and 4 (set {4}); sentence 1 lacks 0; 5 is no rationale -> 2 of 4 predicted, 2 of 4 gold
    assert m == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5})


def test_label_scores_match_scikit_learn():
    from sklearn.metrics import accuracy_score, f1_score

    gold = ["SUPPORT", "SUPPORT", "CONTRADICT", "NOT_ENOUGH_INFO", "NOT_ENOUGH_INFO", "CONTRADICT"]
    pred = ["SUPPORT", "CONTRADICT", "CONTRADICT", "NOT_ENOUGH_INFO", "SUPPORT", "NOT_ENOUGH_INFO"]
    s = cv.label_scores(gold, pred)
    assert s["accuracy"] == pytest.approx(accuracy_score(gold, pred))
    assert s["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro", labels=list(cv.LABELS)))
    assert s["f1_SUPPORT"] == pytest.approx(2 * 1 / (2 * 1 + 1 + 1))  # tp 1, fp 1, fn 1
    with pytest.raises(ValueError, match="unknown labels"):
        cv.label_scores(["SUPPORTS"], ["SUPPORT"])


# ----------------------------------------------------------------------------- loader errors
def _write(tmp_path, corpus_rows, claim_rows, split="dev"):
    (tmp_path / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in corpus_rows) + "\n")
    (tmp_path / f"claims_{split}.jsonl").write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in claim_rows) + "\n")
    return tmp_path


CORPUS = [{"doc_id": 1, "title": "A", "abstract": ["s0.", "s1.", "s2."], "structured": False},
          {"doc_id": 2, "title": "B", "abstract": ["t0.", "t1."], "structured": True}]


def test_loader_reads_claims_and_evidence(tmp_path):
    claim = {"id": 7, "claim": "c", "evidence": {"1": [{"sentences": [2], "label": "SUPPORT"}, {"sentences": [0, 1], "label": "SUPPORT"}]},
             "cited_doc_ids": [1, 2, 2]}
    dev = cv.load_claims("dev", _write(tmp_path, CORPUS, [claim]))
    c = dev.claims["7"]
    assert c.cited_doc_ids == ("1", "2")  # duplicate cited id dropped
    assert c.evidence["1"].rationales == ((2,), (0, 1)) and c.evidence["1"].sentences == (0, 1, 2)
    assert c.label_for("1") == "SUPPORT" and c.label_for("2") == "NOT_ENOUGH_INFO"
    assert dev.evidence_qrels() == {"7": {"1": 1}} and dev.cited_qrels() == {"7": {"1": 1, "2": 1}}
    assert dev.label_counts() == {"SUPPORT": 1, "CONTRADICT": 0, "NOT_ENOUGH_INFO": 1}
    assert dev.abstracts["2"].structured and dev.abstracts["1"].text() == "A s0. s1. s2."


@pytest.mark.parametrize("claim, message", [
    ('{"id": 1, "claim": "c",', r"claims_dev.jsonl:1: malformed JSON"),
    ({"id": 1, "claim": "c", "evidence": {"1": [{"sentences": [0], "label": "SUPPORTS"}]}, "cited_doc_ids": [1]}, "labels"),
    ({"id": 1, "claim": "c", "evidence": {"1": [{"sentences": [3], "label": "SUPPORT"}]}, "cited_doc_ids": [1]}, r"indices in \[0, 3\)"),
    ({"id": 1, "claim": "c", "evidence": {"2": [{"sentences": [0], "label": "SUPPORT"}]}, "cited_doc_ids": [1]}, "not among cited_doc_ids"),
    ({"id": 1, "claim": "c", "evidence": {}, "cited_doc_ids": [9]}, "not in the corpus"),
    ({"id": 1, "claim": " ", "evidence": {}, "cited_doc_ids": [1]}, "empty text"),
])
def test_loader_errors_name_file_line_and_problem(tmp_path, claim, message):
    folder = _write(tmp_path, CORPUS, [claim])
    with pytest.raises(ValueError, match=message):
        cv.load_claims("dev", folder)


def test_loader_rejects_unlabelled_splits_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="kept private"):
        cv.load_claims("test", tmp_path)
    with pytest.raises(cv.NoEvidenceLabels, match="not found"):
        cv.load_claims("dev", tmp_path / "nowhere")
    folder = _write(tmp_path, CORPUS, [{"id": 1, "claim": "c", "evidence": {}, "cited_doc_ids": []}])
    with pytest.raises(ValueError, match="no claim has evidence labels"):
        cv.load_claims("dev", folder)
    (tmp_path / "corpus.jsonl").write_text(json.dumps({"_id": "1", "title": "", "text": "beir"}) + "\n")
    with pytest.raises(ValueError, match="not BEIR"):
        cv.read_abstracts(tmp_path / "corpus.jsonl")


def test_claims_dataset_adds_the_cited_abstracts_to_a_corpus(tmp_path):
    from lessonlib.data import Dataset

    claims = _worked_example()
    base = Dataset("x", {"16": {"title": "t", "text": "u"}}, {}, {}, "test")
    ds = cv.claims_dataset(claims, base)
    assert ds.doc_ids == ["16", "11", "15"] and ds.queries == {"52": claims.claims["52"].text}
    assert ds.qrels == {"52": {"11": 1, "15": 1}} and ds.doc_text("11") == claims.abstracts["11"].text()


def test_claims_for_the_sample_collection_says_why_it_cannot():
    from lessonlib.data import load_dataset

    with pytest.raises(cv.NoEvidenceLabels, match="no claim-verification labels"):
        cv.claims_for(load_dataset("sample", "test"))


# ----------------------------------------------------------------------------- selectors and label models
def _toy_claimset(n_claims: int = 40, seed: int = 0) -> ClaimSet:
    """Claims whose rationale is always the LAST sentence (written in the claim's words, plus noise)."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(100)]
    abstracts, claims = {}, {}
    for c in range(n_claims):
        words = list(rng.choice(vocab, 6, replace=False))
        label = cv.SUPPORT if c % 2 else cv.CONTRADICT
        sents = [" ".join(rng.choice(vocab, 8)) for _ in range(5)]
        polarity = ["raises", "elevates", "increases"] if label == cv.SUPPORT else ["lowers", "reduces", "decreases"]
        sents[-1] = " ".join(words[:4] + polarity)
        d = f"d{c}"
        abstracts[d] = Abstract(d, "t", tuple(sents))
        claims[str(c)] = Claim(str(c), " ".join(words), {d: Evidence(label, ((4,),))}, (d,))
    return ClaimSet(claims, abstracts, "train")


def test_selectors_pick_the_rationale_and_respect_threshold_and_cap():
    cs = _toy_claimset()
    store = cv.SentenceStore(cs.abstracts, _embed)
    store.encode_docs(cs.abstracts)
    store.encode_claims(cs.texts())
    cands = cv.oracle_candidates(cs, gold_rationales=False)
    cos_sel = cv.RationaleSelector("cosine", threshold=-1.0, max_sentences=1).select(store, cands)
    hit_cos = np.mean([c.sentences == (4,) for c in cos_sel])
    assert hit_cos > 0.9  # the rationale shares 4-5 words with the claim
    assert all(len(c.sentences) == 1 for c in cos_sel)
    none = cv.RationaleSelector("cosine", threshold=2.0).select(store, cands)
    assert all(c.sentences == () for c in none)  # no cosine reaches 2
    assert all(len(c.sentences) == 1 for c in cv.RationaleSelector("cosine", threshold=2.0).select(store, cands, at_least=1))
    train, test = cs.subset([str(i) for i in range(30)]), cs.subset([str(i) for i in range(30, 40)])
    lr = cv.RationaleSelector("logistic", threshold=0.5).fit(store, train)
    picked = lr.select(store, cv.oracle_candidates(test, gold_rationales=False))
    f1 = cv.rationale_selection_f1(test, picked)["f1"]
    assert f1 > 0.8 and lr.n_train_ == 30 * 5
    with pytest.raises(ValueError, match="fit"):
        cv.RationaleSelector("logistic").scores(store, "0", "d0")


def test_label_predictor_and_verify_drop_nei_and_empty_selections():
    cs = _toy_claimset(60)
    store = cv.SentenceStore(cs.abstracts, _embed)
    store.encode_docs(cs.abstracts)
    store.encode_claims(cs.texts())
    train, test = cs.subset([str(i) for i in range(40)]), cs.subset([str(i) for i in range(40, 60)])
    sel = cv.RationaleSelector("cosine", threshold=-1.0, max_sentences=1)
    negatives = {c.id: [f"d{(int(c.id) + 1) % 40}"] for c in train}  # another claim's abstract: NEI
    cands, labels = cv.labelled_pairs(store, train, sel, negatives)
    assert labels.count(cv.NEI) == 40 and len(cands) == 80
    lp = cv.LabelPredictor(C=1.0).fit(store, cands, labels)
    p = lp.predict_proba(store, cv.oracle_candidates(test))
    assert p.shape == (20, 3) and np.allclose(p.sum(1), 1.0)
    acc = cv.label_scores([c.label_for(f"d{c.id}") for c in test], lp.predict(store, cv.oracle_candidates(test)))["accuracy"]
    assert acc >= 0.8  # "increase" / "decrease" in the rationale decides the label
    mixed = [Candidate("40", "d40", (4,)), Candidate("41", "d41", ())]
    preds = cv.verify(store, mixed, lp)
    assert "41" not in preds  # empty selection -> NEI without asking the model
    assert set(preds.get("40", {})) <= {"d40"}
    always_nei = type("Always", (), {"predict": lambda self, store, c: [cv.NEI] * len(c)})()
    assert cv.verify(store, mixed, always_nei) == {}
    counting = type("Counting", (), {"n": 0, "predict": lambda self, store, c: (setattr(self, "n", self.n + len(c)), [cv.SUPPORT] * len(c))[1]})()
    memo = cv.CachedLabels(counting)
    assert memo.predict(store, mixed[:1]) == memo.predict(store, [replace(mixed[0], score=3.0)]) == [cv.SUPPORT]
    assert counting.n == 1  # the second call was served from the cache


def test_pool_docs_collects_cited_top_k_and_negatives():
    claims = _worked_example()
    run = {"52": {"16": 0.9, "17": 0.8, "11": 0.1}}
    assert cv.pool_docs(claims, [run], k=2, negatives={"52": ["18"]}) == ["11", "15", "16", "17", "18"]
    assert cv.pool_docs(claims) == ["11", "15"]


def test_candidates_from_run_and_hard_negatives():
    run = {"52": {"11": 0.5, "15": 0.9, "16": 0.5, "17": 0.1}}
    top = cv.candidates_from_run(run, 3)
    assert [c.doc_id for c in top] == ["15", "16", "11"]  # trec_eval: ties by doc id descending
    assert cv.hard_negatives(run, _worked_example(), n=2) == {"52": ["16", "17"]}
    with pytest.raises(ValueError, match="k must be"):
        cv.candidates_from_run(run, 0)


def test_sentence_store_errors():
    store = cv.SentenceStore({"a": _abstract("a", 2)}, _embed)
    with pytest.raises(KeyError, match="not encoded"):
        store.sentences("a")
    with pytest.raises(KeyError, match="not abstracts"):
        store.encode_docs(["zz"])
    assert store.encode_docs(["a", "a"]) == 2 and store.n_sentences == 2
    assert np.allclose(np.linalg.norm(store.sentences("a"), axis=1), 1.0)


# ----------------------------------------------------------------------------- passage boundaries
def test_passage_units_windows_titles_and_whole_abstracts():
    abstracts = {"x": Abstract("x", "T", ("a.", "b.", "c.")), "y": Abstract("y", "U", ("d.",))}
    texts, owner = cv.passage_units(abstracts, ["x", "y"], size=2)
    assert texts == ["a. b.", "b. c.", "d."] and owner.tolist() == [0, 0, 1]
    texts, _ = cv.passage_units(abstracts, ["x"], size=1, stride=2, with_title=True)
    assert texts == ["T a.", "T c."]
    assert cv.passage_units(abstracts, ["x", "y"], size=None)[0] == ["T a. b. c.", "U d."]
    with pytest.raises(ValueError, match="size"):
        cv.passage_units(abstracts, ["x"], size=0)


def test_bm25_passage_run_is_maxp_of_unit_scores_and_plain_bm25_for_whole_abstracts():
    from lessonlib.retrieval.bm25 import BM25

    abstracts = {"x": Abstract("x", "", ("cats purr loudly.", "dogs bark.")), "y": Abstract("y", "", ("cats and dogs.",)),
                 "z": Abstract("z", "", ("fish swim.",))}
    ids, queries = ["x", "y", "z"], {"q": "cats dogs"}
    whole = cv.bm25_passage_run(abstracts, ids, queries, size=None)
    ref = BM25().fit([abstracts[d].text() for d in ids], ids).search(["cats dogs"], k=3)
    assert whole["q"] == pytest.approx({ids[j]: float(s) for s, j in zip(*ref) for s, j in zip(s, j) if j >= 0})
    sent = cv.bm25_passage_run(abstracts, ids, queries, size=1)
    texts, owner = cv.passage_units(abstracts, ids, size=1)
    unit = BM25().fit(texts).score_matrix(["cats dogs"]).toarray()[0]
    assert sent["q"]["x"] == pytest.approx(max(unit[owner == 0]))
    assert "z" not in sent["q"]  # no shared term: not retrieved


def test_rationale_token_offsets_by_hand():
    abstracts = {"d": Abstract("d", "two words", ("one.", "three more words.", "x y."))}
    claims = ClaimSet({"c": Claim("c", "q", {"d": Evidence(cv.SUPPORT, ((2,), (1,)))}, ("d",))}, abstracts, "dev")
    words = lambda texts: [len(t.split()) for t in texts]
    # title 2 words, sentence 0: 1 word, sentence 1: 3 words -> sentence 1 starts at 3, sentence 2 at 6
    assert cv.rationale_token_offsets(claims, words).tolist() == [3, 6]


def test_best_setting_takes_the_first_best():
    best, table = cv.best_setting([1, 2, 3], lambda x: -abs(x - 2.5))
    assert best == 2 and table[3] == table[2]


# ----------------------------------------------------------------------------- the cross-encoder head
def test_cross_encoder_nli_trains_and_returns_probabilities():
    cs = _toy_claimset(6)
    store = cv.SentenceStore(cs.abstracts, _embed)
    store.encode_docs(cs.abstracts)
    store.encode_claims(cs.texts())
    cands = cv.oracle_candidates(cs)
    labels = [cs.claims[c.claim_id].label_for(c.doc_id) for c in cands]
    nli = cv.CrossEncoderNLI(max_length=48, max_steps=2, batch_size=3, progress=False, device="cpu").fit(store, cands, labels)
    p = nli.predict_proba(store, cands)
    assert p.shape == (6, 3) and np.allclose(p.sum(1), 1.0, atol=1e-5)
    assert len(nli.history_) == 2 and all(np.isfinite(h["loss"]) for h in nli.history_)
    assert set(nli.predict(store, cands)) <= set(cv.LABELS)


# ----------------------------------------------------------------------------- the real release
@pytest.mark.scifact
def test_loader_on_the_real_release_matches_beir(scifact):
    dev = cv.claims_for(scifact)
    assert len(dev) == 300 and len(dev.abstracts) == 5183 and dev.split == "dev"
    assert dev.texts() == dict(scifact.queries)  # same claims, same ids as BEIR's test split
    assert dev.cited_qrels() == {q: {d: 1 for d in docs} for q, docs in scifact.qrels.items()}
    assert dev.label_counts() == {"SUPPORT": 138, "CONTRADICT": 71, "NOT_ENOUGH_INFO": 130}
    assert sum(1 for c in dev if not c.evidence) == 112
    for d in list(dev.abstracts)[:200]:
        assert dev.abstracts[d].text() == scifact.doc_text(d)
    for c in dev:
        for d, ev in c.evidence.items():
            assert all(0 <= i < len(dev.abstracts[d].sentences) for i in ev.sentences)


@pytest.mark.scifact
def test_loader_on_train_claims(scifact_train):
    train = cv.claims_for(scifact_train)
    full = cv.load_claims("train")
    assert len(full) == 809 and set(train.claims) <= set(full.claims)
    assert sum(len(c.evidence) for c in full) == 564
    assert {ev.label for c in full for ev in c.evidence.values()} == {"SUPPORT", "CONTRADICT"}
