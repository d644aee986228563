"""lessonlib.dual.samplers: positives never returned, filters, determinism, refresh schedule, FIFO memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.dual import samplers as S
from lessonlib.losses import InfoNCELoss

# ---------------------------------------------------------------- SciFact train fixtures


@pytest.fixture(scope="module")
def train(scifact_train):
    qids = sorted(scifact_train.queries)
    positives = [sorted(d for d, g in scifact_train.qrels[q].items() if g > 0) for q in qids]
    return scifact_train, qids, positives


@pytest.fixture(scope="module")
def bm25_run(train):
    ds, qids, _ = train
    try:
        from lessonlib.retrieval.bm25 import BM25

        return BM25().fit(ds.doc_texts(), ds.doc_ids).retrieve(ds, k=50)
    except ImportError:  # the library's BM25 not there yet: bm25s is the peer
        import bm25s

        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenize(ds.doc_texts(), stopwords="en"))
        docs, scores = retriever.retrieve(bm25s.tokenize([ds.queries[q] for q in qids], stopwords="en"), k=50)
        return {q: {ds.doc_ids[i]: float(s) for i, s in zip(docs[r], scores[r])} for r, q in enumerate(qids)}


def _no_positive(ds, qids, negs):
    for q, ns in zip(qids, negs):
        relevant = {d for d, g in ds.qrels[q].items() if g > 0}
        assert not relevant & set(ns), q
        assert set(ns) <= set(ds.corpus)
        assert len(ns) == len(set(ns)), f"duplicates for {q}: {ns}"


def test_random_negatives_on_scifact_never_positive_and_seeded(train):
    ds, qids, pos = train
    a = S.RandomNegatives(ds.doc_ids, seed=7).sample(qids, pos, n=8)
    _no_positive(ds, qids, a)
    assert all(len(x) == 8 for x in a)
    assert S.RandomNegatives(ds.doc_ids, seed=7).sample(qids, pos, n=8) == a
    assert S.RandomNegatives(ds.doc_ids, seed=8).sample(qids, pos, n=8) != a
    sampler = S.RandomNegatives(ds.doc_ids, seed=7)
    first = sampler.sample(qids[:5], pos[:5], 3)
    assert sampler.sample(qids[:5], pos[:5], 3) != first  # the stream moves on...
    sampler.reset()
    assert sampler.sample(qids[:5], pos[:5], 3) == first  # ...and restarts with reset()


def test_random_negatives_cover_the_corpus_roughly_uniformly(train):
    ds, _, _ = train
    draws = S.RandomNegatives(ds.doc_ids, seed=0).sample(["q"] * 2000, [[]] * 2000, n=5)
    counts = np.bincount([ds.doc_ids.index(d) for row in draws[:400] for d in row], minlength=len(ds.doc_ids))
    assert counts.max() <= 6  # 2,000 draws over 5,183 docs: no doc should come back often


def test_random_negatives_small_corpus_returns_everything_allowed():
    s = S.RandomNegatives(["a", "b", "c"], seed=0)
    assert sorted(s.sample(["q"], [["a"]], n=5)[0]) == ["b", "c"]


def test_bm25_negatives_are_the_top_non_positives(train, bm25_run):
    ds, qids, pos = train
    sampler = S.BM25Negatives(bm25_run, depth=50, qrels=ds.qrels)
    negs = sampler.sample(qids, pos, n=3)
    _no_positive(ds, qids, negs)
    for q, p, ns in zip(qids[:50], pos[:50], negs[:50]):
        ranking = sorted(bm25_run[q], key=lambda d: -bm25_run[q][d])
        assert ns == [d for d in ranking if d not in p][:3]
    # positives sit at the top of BM25 for SciFact claims: the filter had work to do
    assert sampler.stats_["positives"] > 0.5 * len(qids)


def test_bm25_skip_top_and_random_pick(train, bm25_run):
    ds, qids, pos = train
    top = S.BM25Negatives(bm25_run).sample(qids[:20], pos[:20], n=6)
    skipped = S.BM25Negatives(bm25_run, skip_top=2).sample(qids[:20], pos[:20], n=4)
    assert [t[2:6] for t in top] == skipped
    a = S.BM25Negatives(bm25_run, depth=20, pick="random", seed=1).sample(qids, pos, n=4)
    b = S.BM25Negatives(bm25_run, depth=20, pick="random", seed=1).sample(qids, pos, n=4)
    assert a == b
    _no_positive(ds, qids, a)
    for q, ns in zip(qids, a):
        top20 = set(sorted(bm25_run[q], key=lambda d: -bm25_run[q][d])[:20])
        assert set(ns) <= top20


def test_ranked_negatives_fill_from_corpus_when_the_run_runs_short():
    run = {"q1": {"p": 3.0, "a": 2.0}}
    s = S.BM25Negatives(run, doc_ids=["p", "a", "b", "c", "d"], seed=0)
    out = s.sample(["q1", "q2"], [["p"], ["b"]], n=3)
    assert out[0][0] == "a" and len(out[0]) == 3 and "p" not in out[0]
    assert len(out[1]) == 3 and "b" not in out[1]
    assert s.stats_["filled"] == 2 + 3
    with pytest.raises(KeyError, match="q2"):
        S.BM25Negatives(run).sample(["q2"], [["x"]], n=1)


# ---------------------------------------------------------------- dense hard negatives, denoising

RUN = {"q": {"p": 0.80, "a": 0.79, "b": 0.76, "c": 0.70, "d": 0.40, "e": 0.30}}


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, ["a", "b", "c", "d", "e"]),
        ({"skip_top": 2}, ["c", "d", "e"]),
        ({"margin": 0.05}, ["c", "d", "e"]),  # drop s > 0.80 - 0.05
        ({"max_ratio": 0.9}, ["c", "d", "e"]),  # drop s > 0.72
        ({"max_ratio": 0.85}, ["d", "e"]),  # drop s > 0.68
        ({"skip_top": 1, "margin": 0.02, "max_ratio": 0.6}, ["d", "e"]),
    ],
)
def test_dense_hard_negative_filters(kwargs, expected):
    s = S.DenseHardNegatives(RUN, **kwargs)
    assert s.sample(["q"], [["p"]], n=10) == [expected]


def test_dense_filter_counts_and_unknown_positive_score():
    s = S.DenseHardNegatives(RUN, margin=0.05)
    s.sample(["q"], [["p"]], n=2)
    assert s.stats_["margin"] == 2 and s.stats_["positives"] == 1
    # positive outside the run and no scorer: not score-filtered, counted
    s.sample(["q"], [["zz"]], n=2)
    assert s.stats_["unknown_positive_score"] == 1
    # with a scorer the positive's score is known again
    scored = S.DenseHardNegatives(RUN, margin=0.05, scorer=lambda q, d: 0.75)
    assert scored.sample(["q"], [["zz"]], n=10) == [["c", "d", "e"]]


def test_dense_from_embeddings_matches_brute_force():
    rng = np.random.default_rng(0)
    q, d = rng.normal(size=(4, 8)).astype(np.float32), rng.normal(size=(30, 8)).astype(np.float32)
    qids, dids = [f"q{i}" for i in range(4)], [f"d{i}" for i in range(30)]
    s = S.DenseHardNegatives.from_embeddings(qids, q, dids, d, "ip", depth=10)
    pos = [["d0"], ["d1"], ["d2"], ["d3"]]
    negs = s.sample(qids, pos, n=3)
    scores = q @ d.T
    for i, ns in enumerate(negs):
        order = [dids[j] for j in np.argsort(-scores[i]) if dids[j] != pos[i][0]]
        assert ns == order[:3]
    # positives out of the top-10 are scored from the embeddings: the margin filter applies
    s2 = S.DenseHardNegatives.from_embeddings(qids, q, dids, d, "ip", depth=10, margin=0.0)
    for i, ns in enumerate(s2.sample(qids, pos, n=10)):
        assert all(scores[i, dids.index(x)] <= scores[i, i] + 1e-5 for x in ns)
    assert s2.stats_["unknown_positive_score"] == 0


@pytest.mark.parametrize("similarity", ["ip", "cosine", "l2"])
def test_dense_from_embeddings_scores_with_each_similarity(similarity):
    rng = np.random.default_rng(1)
    q, d = rng.normal(size=(3, 8)).astype(np.float32), rng.normal(size=(25, 8)).astype(np.float32)
    d *= rng.uniform(0.2, 3.0, size=(25, 1)).astype(np.float32)  # unequal norms: the three rank differently
    qids, dids = [f"q{i}" for i in range(3)], [f"d{i}" for i in range(25)]
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    expected = {"ip": q @ d.T, "cosine": unit(q) @ unit(d).T,
                "l2": -((q[:, None, :] - d[None, :, :]) ** 2).sum(-1)}[similarity]
    s = S.DenseHardNegatives.from_embeddings(qids, q, dids, d, similarity, depth=25)
    for i, qid in enumerate(qids):
        np.testing.assert_allclose([s.run[qid][x] for x in dids], expected[i], rtol=1e-4, atol=1e-4)
        order = [dids[j] for j in np.argsort(-expected[i], kind="stable")]
        assert s.sample([qid], [[order[-1]]], n=5)[0] == order[:5]


# ---------------------------------------------------------------- in-batch


def test_in_batch_negatives_and_mask():
    sampler = S.InBatchNegatives()
    qids, pos = ["q1", "q2", "q3"], [["a"], ["b"], ["a", "c"]]
    assert sampler.sample(qids, pos) == [["b"], ["a"], ["b"]]
    mask = sampler.mask(qids, pos)
    assert mask.tolist() == [[True, True, False], [True, True, True], [False, True, True]]
    # plugged into InfoNCE: the masked (false-negative) column no longer enters the softmax
    emb = torch.eye(3)
    pos_emb = torch.stack([emb[0], emb[1], emb[0]])
    masked = InfoNCELoss(1.0, similarity="ip")(emb[[0, 1, 0]], pos_emb, mask=torch.as_tensor(mask))
    unmasked = InfoNCELoss(1.0, similarity="ip")(emb[[0, 1, 0]], pos_emb)
    assert masked < unmasked


def test_in_batch_mask_finds_shared_positives_in_scifact(train):
    ds, qids, pos = train
    first = [p[0] for p in pos]
    mask = S.in_batch_mask(first, pos)
    n_false = int((~mask).sum())
    shared = sum(first.count(d) * (first.count(d) - 1) for d in set(first))
    assert n_false >= shared > 0  # SciFact claims often cite the same abstract


# ---------------------------------------------------------------- cross-batch memory


def test_cross_batch_memory_is_fifo():
    mem = S.CrossBatchMemory(size=4)
    batches = [torch.full((2, 3), float(k)) for k in range(3)]
    for k, b in enumerate(batches):
        mem.enqueue(b, ids=[f"d{k}a", f"d{k}b"])
    assert len(mem) == 4 and mem.full
    assert mem.negatives()[:, 0].tolist() == [1.0, 1.0, 2.0, 2.0]
    assert mem.ids == ["d1a", "d1b", "d2a", "d2b"]
    assert mem.dequeue(1)[:, 0].tolist() == [1.0]
    assert mem.ids == ["d1b", "d2a", "d2b"]
    mem.enqueue(torch.full((1, 3), 9.0), ids=["d9"])
    assert mem.ids == ["d1b", "d2a", "d2b", "d9"]
    big = torch.arange(6.0).unsqueeze(1).repeat(1, 3)
    mem.enqueue(big, ids=list("uvwxyz"))
    assert mem.ids == list("wxyz") and mem.negatives()[:, 0].tolist() == [2.0, 3.0, 4.0, 5.0]


def test_cross_batch_memory_detaches_and_masks_positives():
    mem = S.CrossBatchMemory(size=8)
    x = torch.randn(3, 4, requires_grad=True)
    mem.enqueue(x * 2, ids=["a", "b", "c"])
    assert not mem.negatives().requires_grad
    mask = mem.mask([["b"], ["z"]])
    assert mask.tolist() == [[True, False, True], [True, True, True]]
    q, p = torch.randn(2, 4), torch.randn(2, 4)
    full = torch.cat([torch.ones(2, 2, dtype=torch.bool), mask], dim=1)
    loss = InfoNCELoss(0.1)(q, p, mem.negatives(), mask=full)
    assert torch.isfinite(loss)
    with pytest.raises(ValueError, match="dim"):
        mem.enqueue(torch.randn(1, 5))


# ---------------------------------------------------------------- dynamic (ANCE) and adversarial


def _toy_corpus():
    rng = np.random.default_rng(0)
    doc_ids = [f"d{i}" for i in range(20)]
    return doc_ids, [f"text {i}" for i in range(20)], {"q0": "query 0", "q1": "query 1"}, rng


def test_dynamic_hard_negatives_refresh_at_the_right_steps():
    doc_ids, texts, queries, rng = _toy_corpus()
    calls = []

    def encode_fn(batch, kind):
        calls.append(kind)
        return rng.normal(size=(len(batch), 6)).astype(np.float32)

    s = S.DynamicHardNegatives(queries, doc_ids, texts, refresh_every=3, depth=10)
    refreshed = [step for step in range(10) if s.step(step, encode_fn)]
    assert refreshed == [0, 3, 6, 9] == s.refresh_steps_
    assert calls == ["query", "doc"] * 4
    assert s.step(9, encode_fn) is False  # the same step twice does not refresh twice


def test_dynamic_hard_negatives_follow_the_current_model():
    doc_ids, texts, queries, _ = _toy_corpus()
    table = {"v": 0}

    def encode_fn(batch, kind):
        # the "model" at version v puts query q0 next to doc d{v+1} (d0 is the positive)
        if kind == "query":
            return np.eye(20, dtype=np.float32)[[table["v"] + 1, 5]]
        return np.eye(20, dtype=np.float32) + 0.01

    initial = S.RandomNegatives(doc_ids, seed=0)
    s = S.DynamicHardNegatives(queries, doc_ids, texts, refresh_every=2, initial=initial, similarity="ip")
    before = s.sample(["q0"], [["d0"]], n=1)
    assert before == S.RandomNegatives(doc_ids, seed=0).sample(["q0"], [["d0"]], n=1)  # initial sampler
    s.step(0, encode_fn)
    assert s.sample(["q0"], [["d0"]], n=1) == [["d1"]]
    table["v"] = 3
    s.step(1, encode_fn)  # not a refresh step: stale negatives remain
    assert s.sample(["q0"], [["d0"]], n=1) == [["d1"]]
    s.step(2, encode_fn)
    assert s.sample(["q0"], [["d0"]], n=1) == [["d4"]]
    with pytest.raises(ValueError, match="encode_fn"):
        s.step(4)


def test_dynamic_without_refresh_or_initial_raises():
    doc_ids, texts, queries, _ = _toy_corpus()
    with pytest.raises(RuntimeError, match="step"):
        S.DynamicHardNegatives(queries, doc_ids, texts).sample(["q0"], [["d0"]], 1)


def test_adversarial_negatives_are_the_current_top_wrong_documents():
    doc_ids = ["a", "b", "c", "d"]
    scores = {"v": np.array([[0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.95]])}
    s = S.AdversarialNegatives(doc_ids, lambda q: scores["v"])
    assert s.sample(["q0", "q1"], [["a"], ["d"]], n=2) == [["b", "c"], ["c", "b"]]
    scores["v"] = scores["v"][:, ::-1].copy()  # the model changed: negatives change at once
    assert s.sample(["q0", "q1"], [["a"], ["d"]], n=1) == [["d"], ["a"]]
    assert s.calls_ == 2
    with pytest.raises(ValueError, match="shape"):
        s.sample(["q0"], [["a"]], n=1)


def test_adversarial_softmax_pick_is_seeded_and_prefers_high_scores():
    doc_ids = [f"d{i}" for i in range(50)]
    row = np.linspace(1, 0, 50)[None, :]
    make = lambda: S.AdversarialNegatives(doc_ids, lambda q: np.repeat(row, len(q), 0), pick="softmax", temperature=0.1, seed=3)
    a, b = make().sample(["q"] * 200, [["d0"]] * 200, n=1), make().sample(["q"] * 200, [["d0"]] * 200, n=1)
    assert a == b
    picked = [doc_ids.index(x[0]) for x in a]
    assert 0 not in picked and np.mean(picked) < 12  # high scores favoured, positive never


# ---------------------------------------------------------------- curriculum


def test_curriculum_moves_from_easy_to_hard(train, bm25_run):
    ds, qids, pos = train
    easy = S.RandomNegatives(ds.doc_ids, seed=0)
    hard = S.BM25Negatives(bm25_run, depth=50)
    cur = S.CurriculumNegatives(easy, hard, total_steps=100)
    hard_sets = [set(bm25_run[q]) for q in qids[:40]]
    shares = []
    for step in (0, 50, 100):
        cur.step(step)
        negs = cur.sample(qids[:40], pos[:40], n=4)
        _no_positive(ds, qids[:40], negs)
        assert all(len(x) == 4 for x in negs)
        # the first round(h * n) negatives are BM25's
        n_hard = round(cur.hardness() * 4)
        assert all(set(x[:n_hard]) <= h for x, h in zip(negs, hard_sets))
        shares.append(n_hard)
    assert shares == [0, 2, 4]


@pytest.mark.parametrize("schedule, at_quarter", [("linear", 0.25), ("cosine", (1 - np.cos(np.pi / 4)) / 2), ("step", 0.0)])
def test_curriculum_schedules(schedule, at_quarter):
    cur = S.CurriculumNegatives(S.RandomNegatives(["a"]), S.RandomNegatives(["a"]), 100, schedule=schedule, start=0.0, end=1.0)
    assert cur.hardness(0.25) == pytest.approx(at_quarter)
    assert cur.hardness(0.0) == 0.0 and cur.hardness(1.0) == 1.0
    assert S.CurriculumNegatives(cur.easy, cur.hard, 10, schedule=lambda p: 0.3).hardness(0.9) == 0.3


# ---------------------------------------------------------------- protocol errors


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: S.RandomNegatives([]), "doc_ids"),
        (lambda: S.BM25Negatives({}, depth=0), "depth"),
        (lambda: S.BM25Negatives({}, pick="best"), "pick"),
        (lambda: S.DenseHardNegatives({}, skip_top=-1), "skip_top"),
        (lambda: S.CrossBatchMemory(size=0), "size"),
        (lambda: S.CurriculumNegatives(S.InBatchNegatives(), S.InBatchNegatives(), 10, schedule="exp"), "schedule"),
        (lambda: S.AdversarialNegatives(["a"], lambda q: None, pick="best"), "pick"),
    ],
)
def test_bad_knobs_name_the_argument(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_sample_checks_its_arguments():
    s = S.RandomNegatives(["a", "b"])
    with pytest.raises(ValueError, match="positive_ids"):
        s.sample(["q1", "q2"], [["a"]], 1)
    with pytest.raises(TypeError, match="query_ids"):
        s.sample("q1", [["a"]], 1)
    with pytest.raises(TypeError, match="positive_ids"):
        s.sample(["q1"], ["a"], 1)
    with pytest.raises(ValueError, match="n=-1"):
        s.sample(["q1"], [["a"]], -1)
