"""Dual-encoder fine-tuning: pairs, batches, negatives, weak supervision, a short real run, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lessonlib.data import Dataset, load_dataset, relevant_pairs
from lessonlib.dual.recipe import DualRecipe
from lessonlib.dual.samplers import BM25Negatives, DenseHardNegatives, RandomNegatives
from lessonlib.dual.train import (
    bm25_candidates,
    epoch_batches_fn,
    negative_sampler,
    no_duplicate_batches,
    train_dual,
    weak_supervision_dataset,
)


@pytest.fixture(scope="module")
def tiny() -> Dataset:
    """12 queries of the bundled sample with their judged docs + a few others (fast on CPU)."""
    return load_dataset("sample", "train" if False else "test").subset(n_docs=40, n_queries=12, seed=0)


def test_relevant_pairs_are_the_relevant_judgments(tiny):
    pairs = relevant_pairs(tiny.qrels, tiny.queries, tiny.corpus)
    expected = {(q, d) for q, docs in tiny.qrels.items() for d, g in docs.items() if g > 0}
    assert set(pairs) == expected and len(pairs) == len(expected)
    q0 = next(iter(tiny.qrels))
    assert {q for q, _ in relevant_pairs(tiny.qrels, [q0])} == {q0}
    assert relevant_pairs({"q": {"a": 1, "b": 2, "c": 0}}, min_grade=2) == [("q", "b")]
    assert relevant_pairs({"q": {"a": 1, "b": 1}}, doc_ids=["b"]) == [("q", "b")]


@pytest.mark.scifact
def test_split_validation_is_seeded_disjoint_and_sized(scifact_train):
    tr, va = scifact_train.split_validation(0.15, seed=0)
    tr2, va2 = scifact_train.split_validation(0.15, seed=0)
    _, va3 = scifact_train.split_validation(0.15, seed=1)
    assert set(va.queries) == set(va2.queries) != set(va3.queries)
    assert not set(tr.queries) & set(va.queries)
    assert len(tr.queries) + len(va.queries) == len(scifact_train.queries)
    assert abs(len(va.queries) - 0.15 * len(scifact_train.queries)) <= 1
    assert va.corpus is scifact_train.corpus


def test_no_duplicate_batches_cover_everything_once_without_repeats():
    rng = np.random.default_rng(0)
    examples = [(f"q{i % 7}", f"d{i % 5}") for i in range(40)]
    batches = no_duplicate_batches(examples, 4, rng)
    assert sorted(map(tuple, (e for b in batches for e in b))) == sorted(examples)
    for batch in batches:
        assert len({q for q, _ in batch}) == len(batch) == len({d for _, d in batch}) <= 4


def _ten_docs() -> Dataset:
    corpus = {f"d{i}": {"title": "", "text": f"document {i}"} for i in range(10)}
    return Dataset("ten", corpus, {"q": "a query"}, {"q": {"d0": 1, "d3": 1, "d5": 0}}, "train")


def test_training_negatives_come_from_the_taught_samplers_after_removing_positives():
    data = _ten_docs()
    ranking = {"q": {f"d{i}": 10.0 - i for i in range(10)}}
    recipe = DualRecipe(negatives="bm25", n_negatives=2, skip_top=2, depth=6)
    sampler = negative_sampler(recipe, data, ranking, seed=0)
    assert isinstance(sampler, BM25Negatives)
    negs = sampler.sample(["q"] * 50, [["d0"]] * 50, 2)
    # top 6 = d0..d5; positives d0, d3 removed -> d1 d2 d4 d5; skip 2 -> d4, d5 (d5 is judged 0: a true negative)
    assert all(sorted(row) == ["d4", "d5"] for row in negs)
    dense = negative_sampler(recipe.replace(negatives="dense"), data, ranking, seed=0)
    assert isinstance(dense, DenseHardNegatives)
    rand = negative_sampler(recipe.replace(negatives="random", n_negatives=3), data, None, seed=0)
    assert isinstance(rand, RandomNegatives)
    assert not {d for row in rand.sample(["q"] * 50, [["d0"]] * 50, 3) for d in row} & {"d0", "d3"}


def test_epoch_batches_are_a_function_of_seed_and_epoch(tiny):
    recipe = DualRecipe(negatives="bm25", n_negatives=2, batch_size=4, depth=20)
    run = bm25_candidates(tiny, depth=20)
    make = epoch_batches_fn(None, tiny, recipe, None, run)
    first, again, second = make(0), make(0), make(1)
    assert first == again and first != second  # a resumed run sees the interrupted run's batches
    for batch in first:
        for q, p, negs in batch:
            assert len(negs) == 2 and not set(negs) & {d for d, g in tiny.qrels[q].items() if g > 0}


def test_weak_supervision_pairs_need_no_labels(tiny):
    ict = weak_supervision_dataset(tiny, "ict", seed=0, keep_sentence=0.0)
    title = weak_supervision_dataset(tiny, "title", seed=0)
    assert ict.queries and title.queries
    for qid, query in ict.queries.items():
        (did,) = ict.qrels[qid]
        assert ict.corpus[did]["text"].count(query) == tiny.corpus[did]["text"].count(query) - 1
    for qid, query in title.queries.items():
        (did,) = title.qrels[qid]
        assert query == tiny.corpus[did]["title"] and title.corpus[did]["title"] == ""


def test_bad_recipe_names_the_argument():
    with pytest.raises(ValueError, match="negatives='hardest'"):
        DualRecipe(negatives="hardest")
    with pytest.raises(ValueError, match="loss='triplet'"):
        DualRecipe(loss="triplet", negatives="none")


def test_short_finetuning_run_saves_a_sentence_transformers_folder(tiny, tmp_path):
    from sentence_transformers import SentenceTransformer

    from lessonlib.dual.encoders import DualEncoder

    out, history, model = train_dual(
        tiny, out_dir=tmp_path / "ft", negatives="bm25", n_negatives=1, batch_size=4, max_steps=3,
        max_length=48, query_max_length=24, lr=5e-5, progress=False, device="cpu",
    )  # fmt: skip
    losses = [h["loss"] for h in history if "loss" in h]
    assert len(losses) == 3 and all(np.isfinite(losses))
    saved = json.loads((out / "training.json").read_text())
    assert saved["recipe"]["negatives"] == "bm25" and saved["history"][-1]["steps"] == 3
    texts = ["Statins lower LDL cholesterol.", "A second, longer text about retrieval models."]
    st = SentenceTransformer(str(out), device="cpu").encode(texts, convert_to_numpy=True)
    model.eval()
    with torch.no_grad():
        ours = DualEncoder.load(out).embed_docs(texts).numpy()
    np.testing.assert_allclose(st, ours, atol=1e-5)
    start = DualEncoder.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
    with torch.no_grad():
        assert not np.allclose(start.embed_docs(texts).numpy(), ours, atol=1e-4)  # it did train


class _Killed(RuntimeError):
    pass


def test_killed_run_resumes_to_the_same_model_and_metrics(tiny, tmp_path):
    from lessonlib.dual.train import dense_candidates, TokenCache
    from lessonlib.evaluation.metrics import evaluate

    knobs = dict(negatives="bm25", n_negatives=1, batch_size=4, max_steps=5, max_length=48, query_max_length=24,
                 lr=5e-5, progress=False, device="cpu")  # fmt: skip

    def kill_at_4(trainer):
        if trainer.state.step == 4:
            raise _Killed("killed at step 4")

    ckpt = tmp_path / "ckpt"
    with pytest.raises(_Killed):
        train_dual(tiny, checkpoint_dir=ckpt, checkpoint_every=2, callbacks=[kill_at_4], **knobs)
    assert sorted(p.name for p in ckpt.iterdir() if p.name.startswith("step-"))[-1] == "step-00000002"
    _, hist_resumed, resumed = train_dual(tiny, checkpoint_dir=ckpt, checkpoint_every=2, resume=True, **knobs)
    _, hist_ref, reference = train_dual(tiny, **knobs)
    for a, b in zip(resumed.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b)
    tail = [h["loss"] for h in hist_resumed if "loss" in h]
    assert tail and tail == [h["loss"] for h in hist_ref if "loss" in h][-len(tail):]

    def metrics(model):
        run = dense_candidates(model, tiny, TokenCache(model).add(tiny), 48, 24, depth=10)
        return evaluate(tiny.qrels, run, ["ndcg@10", "recall@10"])

    assert metrics(resumed) == metrics(reference)
    with pytest.raises(ValueError, match="needs checkpoint_dir"):
        train_dual(tiny, resume=True, **knobs)


def test_cnn_tower_from_scratch_learns_on_the_training_pairs(tiny):
    _, history, _ = train_dual(
        tiny, model_name="cnn", negatives="none", batch_size=8, epochs=25, lr=3e-3, max_length=64,
        weight_decay=0.0, warmup=0.0, progress=False, device="cpu",
    )  # fmt: skip
    losses = [h["loss"] for h in history if "loss" in h]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_cli_train_dual(tmp_path, tiny):
    from lessonlib.workbook.cli import main

    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    with open(folder / "corpus.jsonl", "w") as f:
        for did, doc in tiny.corpus.items():
            f.write(json.dumps({"_id": did, **doc}) + "\n")
    with open(folder / "queries.jsonl", "w") as f:
        for qid, text in tiny.queries.items():
            f.write(json.dumps({"_id": qid, "text": text}) + "\n")
    with open(folder / "qrels" / "train.tsv", "w") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for qid, docs in tiny.qrels.items():
            for did, g in docs.items():
                f.write(f"{qid}\t{did}\t{g}\n")
    out = tmp_path / "model"
    code = main(["train-dual", "--data", str(folder), "--out", str(out), "--max-steps", "2", "--batch-size", "4",
                 "--max-length", "32", "--negatives", "random", "--device", "cpu"])  # fmt: skip
    assert code == 0 and (out / "modules.json").exists()
    with pytest.raises(SystemExit):  # refused while the arguments are parsed
        main(["train-dual", "--data", str(folder), "--out", str(out), "--lr", "0"])
    assert main(["train-dual", "--data", str(folder), "--out", str(out), "--max-steps", "1"]) == 2, \
        "the saved model is not replaced without --overwrite"
