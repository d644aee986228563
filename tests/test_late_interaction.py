"""lessonlib.dual.late_interaction: MaxSim against loops and hand values, masks, the token index,
and token vectors of the real MiniLM (their pooled vectors equal lessonlib.dual.encode's)."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.dual.late_interaction import TokenIndex, TokenVectors, encode_tokens, maxsim, punctuation_ids, maxsim_rerank


def _unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _maxsim_loops(q, d):
    """The formula with Python loops: sum over query tokens of the best dot product."""
    if len(d) == 0:
        return 0.0
    return sum(max(float(np.dot(qi, dj)) for dj in d) for qi in q)


def test_maxsim_hand_value():
    q = np.eye(2, dtype=np.float32)            # two query tokens along the axes
    d = np.array([[1.0, 0.0], [0.6, 0.8]])     # doc tokens
    # token 1 matches [1, 0] fully (1.0); token 2 best matches [0.6, 0.8] (0.8)
    assert float(maxsim(q, d)) == pytest.approx(1.8)
    assert maxsim(q[None], d[None]).shape == (1, 1)


def test_maxsim_matches_loops_on_random_batches():
    rng = np.random.default_rng(0)
    q = _unit(rng.normal(size=(3, 5, 8)))
    d = _unit(rng.normal(size=(4, 7, 8)))
    got = maxsim(q, d)
    assert got.shape == (3, 4)
    want = np.array([[_maxsim_loops(q[a], d[b]) for b in range(4)] for a in range(3)])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_maxsim_masks_padding_on_both_sides():
    rng = np.random.default_rng(1)
    q = _unit(rng.normal(size=(2, 4, 6)))
    d = _unit(rng.normal(size=(2, 5, 6)))
    q_mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]])
    d_mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0]])
    d_poisoned = d.copy()
    d_poisoned[d_mask == 0] = 100.0            # a padded doc token must never win the max
    got = maxsim(q, d_poisoned, q_mask, d_mask)
    want = np.array([[_maxsim_loops(q[a][q_mask[a] == 1], d[b][d_mask[b] == 1]) for b in range(2)] for a in range(2)])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_maxsim_empty_document_scores_zero_and_bad_shapes_fail():
    q = np.ones((2, 3), np.float32)
    d = np.ones((1, 4, 3), np.float32)
    assert maxsim(q[None], d, d_mask=np.zeros((1, 4)))[0, 0] == 0.0
    with pytest.raises(ValueError, match="vector width"):
        maxsim(q, np.ones((4, 5)))
    with pytest.raises(ValueError, match="masks"):
        maxsim(q, d[0], q_mask=np.ones(5))


def _ragged(rng, n, h=8, empty=()):
    return [np.zeros((0, h), np.float32) if i in empty else _unit(rng.normal(size=(int(rng.integers(1, 9)), h)))
            for i in range(n)]


def test_token_index_score_equals_reference_for_any_candidate_order():
    rng = np.random.default_rng(2)
    docs = _ragged(rng, 12, empty={4})
    index = TokenIndex(dtype="float32").add(docs, ids=np.arange(100, 112))
    q = _unit(rng.normal(size=(5, 8)))
    cand = [111, 100, 104, 107]
    got = index.score(q, cand)
    want = [_maxsim_loops(q, docs[i - 100]) for i in cand]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(index.score(q), [_maxsim_loops(q, x) for x in docs], rtol=1e-5, atol=1e-5)
    assert got[2] == 0.0  # the empty document


def test_token_index_search_is_best_first_and_pads_like_faiss():
    rng = np.random.default_rng(3)
    docs = _ragged(rng, 6)
    index = TokenIndex().add(docs)
    queries = [_unit(rng.normal(size=(3, 8))), _unit(rng.normal(size=(2, 8)))]
    scores, ids = index.search(queries, k=8)
    assert scores.shape == ids.shape == (2, 8)
    assert (ids[:, 6:] == -1).all() and np.isneginf(scores[:, 6:]).all()
    for r, q in enumerate(queries):
        ref = np.array([_maxsim_loops(q, x.astype(np.float16).astype(np.float32)) for x in docs])
        assert ids[r, 0] == int(np.argmax(ref))
        assert (np.diff(scores[r, :6]) <= 1e-6).all()


def test_token_index_storage_checks_and_roundtrip(tmp_path):
    rng = np.random.default_rng(4)
    docs = _ragged(rng, 5)
    n_tok = sum(len(x) for x in docs)
    half = TokenIndex("float16").add(docs)
    full = TokenIndex("float32").add(docs)
    assert half.n_tokens == n_tok and half.ntotal == 5
    assert half.memory_bytes() == n_tok * 8 * 2 + 6 * 8 + 5 * 8  # vectors + offsets + ids
    assert full.memory_bytes() - half.memory_bytes() == n_tok * 8 * 2
    assert half.memory_bytes("float32") == full.memory_bytes() and half.bytes_per_doc() == half.memory_bytes() / 5
    with pytest.raises(ValueError, match="duplicate"):
        half.add(docs[:1], ids=[0])
    with pytest.raises(ValueError, match="dimension"):
        half.add([np.ones((2, 3), np.float32)])
    with pytest.raises(KeyError, match="not in the index"):
        half.score(docs[0], [42])
    with pytest.raises(RuntimeError, match="empty"):
        TokenIndex().score(docs[0])
    back = TokenIndex.load(half.save(tmp_path / "tok.npz"))
    q = _unit(rng.normal(size=(3, 8)))
    np.testing.assert_array_equal(back.score(q, [3, 1]), half.score(q, [3, 1]))


def test_token_vectors_select_and_transform():
    rng = np.random.default_rng(5)
    docs = _ragged(rng, 4)
    tv = TokenVectors.from_list(docs, pooled=np.eye(4, 8, dtype=np.float32))
    assert tv.lengths.tolist() == [len(x) for x in docs]
    sub = tv.select([2, 0])
    np.testing.assert_array_equal(sub[0], tv[2])
    np.testing.assert_array_equal(sub.pooled, tv.pooled[[2, 0]])
    small = tv.transform(lambda x: x[:, :3])
    assert small.dim == 3
    blocked = tv.transform(lambda x: x[:, :3], block=2)  # cutting into blocks changes nothing
    np.testing.assert_array_equal(blocked.vectors, small.vectors)
    np.testing.assert_allclose(np.linalg.norm(small.vectors.astype(np.float32), axis=1), 1.0, atol=2e-3)
    with pytest.raises(ValueError, match="offsets"):
        TokenVectors(np.zeros((3, 2)), np.array([0, 2]), np.zeros((0, 0)), np.zeros(1))


def test_rerank_rescores_the_top_k_of_a_run():
    rng = np.random.default_rng(6)
    docs = _ragged(rng, 4)
    index = TokenIndex().add(docs, ids=[10, 11, 12, 13])
    pos = {"a": 10, "b": 11, "c": 12, "d": 13}
    q = _unit(rng.normal(size=(3, 8)))
    run = {"q1": {"a": 4.0, "b": 3.0, "c": 2.0, "d": 1.0}}
    out = maxsim_rerank(index, {"q1": q}, run, pos, k=3)
    assert set(out["q1"]) == {"a", "b", "c"}
    np.testing.assert_allclose([out["q1"][d] for d in "abc"], index.score(q, [10, 11, 12]))


# ----------------------------------------------------------------------------- the real model
def test_encode_tokens_shapes_norms_and_pooled_equal_encode(minilm):
    from lessonlib.dual.encode import encode

    texts = ["Statins lower LDL cholesterol, and reduce heart attacks.", "A cat.", "x " * 300]
    tv = encode_tokens(minilm, texts, kind="doc", max_length=64, show_progress=False)
    assert len(tv) == 3 and tv.dim == 384 and tv.vectors.dtype == np.float16
    np.testing.assert_allclose(np.linalg.norm(tv.vectors.astype(np.float32), axis=1), 1.0, atol=2e-3)
    assert tv.n_input.tolist()[2] == 64  # truncated to max_length
    ref = encode(minilm, texts, kind="doc", max_length=64, cache=False, show_progress=False)
    np.testing.assert_allclose(tv.pooled, ref, atol=1e-5)


def test_encode_tokens_drops_punctuation_and_special_tokens(minilm):
    tok = minilm.tokenizer
    text = "cats, dogs; birds."
    n_all = len(tok(text)["input_ids"])  # [CLS] ... [SEP]
    n_punct = sum(1 for t in tok(text)["input_ids"] if t in punctuation_ids(tok))
    assert n_punct == 3 and tok.convert_tokens_to_ids("cats") not in punctuation_ids(tok)
    doc = encode_tokens(minilm, [text], kind="doc", show_progress=False)
    query = encode_tokens(minilm, [text], kind="query", show_progress=False)
    bare = encode_tokens(minilm, [text], kind="query", keep_special=False, show_progress=False)
    assert query.lengths[0] == n_all                 # queries keep punctuation (ColBERT)
    assert doc.lengths[0] == n_all - n_punct         # documents drop it
    assert bare.lengths[0] == n_all - 2              # no [CLS] / [SEP]
    # the same word vectors survive: the first kept doc token is [CLS] in both
    np.testing.assert_array_equal(doc[0][0], query[0][0])
    # the kept ids say which tokens they are
    assert tok.convert_ids_to_tokens(doc.ids_of(0).tolist()) == ["[CLS]", "cats", "dogs", "birds", "[SEP]"]
    assert tok.convert_ids_to_tokens(bare.ids_of(0).tolist()) == ["cats", ",", "dogs", ";", "birds", "."]


def test_encode_tokens_rejects_bad_input(minilm):
    with pytest.raises(TypeError, match="list of strings"):
        encode_tokens(minilm, "one string")
    with pytest.raises(ValueError, match="kind"):
        encode_tokens(minilm, ["a"], kind="passage")
