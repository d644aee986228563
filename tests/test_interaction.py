"""Interaction models: shapes, masks, kernel pooling by hand, NTN factorisation, co-attention, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lessonlib.interaction import (
    KNRM,
    CoAttentionRanker,
    ConvKNRM,
    HierarchicalAttentionRanker,
    NeuralTensorLayer,
    NTNRanker,
    TokenEmbedding,
    cosine_matrix,
    kernel_mus,
    kernel_pooling,
)
from lessonlib.interaction.conv_knrm import ngram_mask
from lessonlib.interaction.hierarchical import sentence_index

VOCAB, DIM = 60, 16


def _embedding(seed: int = 0, freeze: bool = True) -> TokenEmbedding:
    g = torch.Generator().manual_seed(seed)
    return TokenEmbedding(torch.randn(VOCAB, DIM, generator=g), freeze=freeze)


def _models(emb: TokenEmbedding) -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {
        "knrm": KNRM(emb),
        "conv_knrm": ConvKNRM(emb, n_filters=8),
        "ntn": NTNRanker(emb, hidden=8, k=3),
        "ntn_lowrank": NTNRanker(emb, hidden=8, k=3, rank=2),
        "coattention": CoAttentionRanker(emb, hidden=8),
        "hierarchical": HierarchicalAttentionRanker(emb, hidden=8, sentence_ids=[5]),
    }


def _batch(seed: int = 0, B: int = 3, Lq: int = 5, Ld: int = 12):
    g = torch.Generator().manual_seed(seed)
    q = torch.randint(6, VOCAB, (B, Lq), generator=g)
    d = torch.randint(5, VOCAB, (B, Ld), generator=g)
    d[:, 0] = q[:, 0]  # at least one exact match
    qm = torch.ones(B, Lq)
    dm = torch.ones(B, Ld)
    qm[0, 3:] = 0  # ragged lengths
    dm[1, 7:] = 0
    return q * qm.long(), qm, d * dm.long(), dm


def _prefers(model: torch.nn.Module, q: torch.Tensor, better: torch.Tensor, worse: torch.Tensor) -> bool:
    """Does ``model`` (no padding, no gradients) score document ``better`` above ``worse`` for query ``q``?"""
    ones_q = torch.ones(q.shape)
    with torch.no_grad():
        return bool(model(q, ones_q, better, torch.ones(better.shape)) > model(q, ones_q, worse, torch.ones(worse.shape)))


MODEL_NAMES = ["knrm", "conv_knrm", "ntn", "ntn_lowrank", "coattention", "hierarchical"]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_scores_have_shape_B_and_are_finite(name):
    model = _models(_embedding())[name].eval()
    scores = model(*_batch())
    assert scores.shape == (3,)
    assert torch.isfinite(scores).all()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_extra_padding_does_not_change_scores(name):
    model = _models(_embedding())[name].eval()
    q, qm, d, dm = _batch()
    with torch.no_grad():
        before = model(q, qm, d, dm)
        # Pad both sides with 4 more positions holding *non-zero* ids: the mask alone must hide them.
        q2 = torch.cat([q, torch.full((3, 4), 7)], 1)
        qm2 = torch.cat([qm, torch.zeros(3, 4)], 1)
        d2 = torch.cat([d, torch.full((3, 4), 9)], 1)
        dm2 = torch.cat([dm, torch.zeros(3, 4)], 1)
        after = model(q2, qm2, d2, dm2)
    torch.testing.assert_close(before, after, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_scores_do_not_depend_on_the_other_items_of_the_batch(name):
    model = _models(_embedding())[name].eval()
    q, qm, d, dm = _batch()
    with torch.no_grad():
        full = model(q, qm, d, dm)
        one = model(q[1:2], qm[1:2], d[1:2], dm[1:2])
    torch.testing.assert_close(full[1:2], one, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_gradients_reach_every_trainable_parameter(name):
    emb = _embedding(freeze=False)
    model = _models(emb)[name].train()
    model(*_batch()).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not torch.isfinite(p.grad).all())]
    assert not missing, f"no/invalid gradient for {missing}"
    assert emb.weight.grad.abs().sum() > 0


def test_frozen_embeddings_get_no_gradient():
    emb = _embedding(freeze=True)
    model = KNRM(emb)
    model(*_batch()).sum().backward()
    assert emb.weight.grad is None
    assert model.dense.weight.grad is not None


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_same_seed_same_model_same_scores(name):
    a = _models(_embedding())[name].eval()
    b = _models(_embedding())[name].eval()
    with torch.no_grad():
        torch.testing.assert_close(a(*_batch()), b(*_batch()))


def test_cosine_matrix_matches_numpy_and_zeroes_padding():
    emb = _embedding()
    q, qm, d, dm = _batch()
    M = cosine_matrix(emb(q, qm), qm, emb(d, dm), dm)
    E = emb.weight.detach().numpy()
    qv, dv = E[q[2].numpy()], E[d[2].numpy()]
    ref = (qv / np.linalg.norm(qv, axis=1, keepdims=True)) @ (dv / np.linalg.norm(dv, axis=1, keepdims=True)).T
    np.testing.assert_allclose(M[2].numpy(), ref, atol=1e-5)
    assert (M[1, :, 7:] == 0).all() and (M[0, 3:, :] == 0).all()


def test_kernel_pooling_equals_a_hand_computation():
    # One query of 2 tokens (+1 padding), one doc of 3 tokens (+1 padding), 2 kernels.
    M = torch.tensor([[[1.0, 0.5, 0.0, 0.9], [0.2, 0.4, -0.3, 0.9], [0.7, 0.7, 0.7, 0.7]]])
    qm = torch.tensor([[1.0, 1.0, 0.0]])
    dm = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    mus, sigmas = torch.tensor([1.0, 0.5]), torch.tensor([0.1, 0.3])
    phi = kernel_pooling(M, qm, dm, mus, sigmas, scale=1.0)
    expected = []
    for mu, s in [(1.0, 0.1), (0.5, 0.3)]:
        total = 0.0
        for row in ([1.0, 0.5, 0.0], [0.2, 0.4, -0.3]):
            tf = sum(math.exp(-((m - mu) ** 2) / (2 * s * s)) for m in row)
            total += math.log(max(tf, 1e-10))
        expected.append(total)
    np.testing.assert_allclose(phi[0].numpy(), expected, rtol=1e-5)


def test_kernel_mus_put_exact_match_first_and_spread_the_rest():
    mus = kernel_mus(11)
    assert mus[0] == 1.0
    np.testing.assert_allclose(mus[1:], np.linspace(0.9, -0.9, 10), atol=1e-9)


def test_knrm_prefers_the_document_with_more_exact_matches():
    emb = _embedding()
    model = KNRM(emb).eval()
    q = torch.tensor([[10, 11, 12]])
    many = torch.tensor([[10, 11, 12, 30, 31, 32]])
    few = torch.tensor([[10, 40, 41, 30, 31, 32]])
    assert _prefers(model, q, many, few)


def test_ngram_mask_keeps_only_windows_of_real_tokens():
    mask = torch.tensor([[1.0, 1, 1, 1, 0, 0]])
    assert ngram_mask(mask, 2).tolist() == [[1, 1, 1, 0, 0]]
    assert ngram_mask(mask, 3).tolist() == [[1, 1, 0, 0]]


def test_lowrank_ntn_equals_full_ntn_with_W_equal_UVt():
    low = NeuralTensorLayer(6, 5, k=3, rank=2, seed=1)
    full = NeuralTensorLayer(6, 5, k=3, rank=None, seed=2)
    with torch.no_grad():
        full.W.copy_(torch.einsum("kir,kjr->kij", low.U, low.Vf))
        full.V.load_state_dict(low.V.state_dict())
    q, d = torch.randn(4, 6), torch.randn(4, 5)
    torch.testing.assert_close(low(q, d), full(q, d), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(low.bilinear_weight(), full.W)
    qs, ds = torch.randn(2, 3, 6), torch.randn(2, 4, 5)
    torch.testing.assert_close(low.pairwise(qs, ds), full.pairwise(qs, ds), atol=1e-5, rtol=1e-5)


def test_full_rank_factorisation_represents_any_W():
    # rank = min(dq, dd): an SVD of any W gives U, V with U V^T = W exactly.
    torch.manual_seed(0)
    full = NeuralTensorLayer(4, 4, k=2, rank=None, seed=0)
    low = NeuralTensorLayer(4, 4, k=2, rank=4, seed=0)
    with torch.no_grad():
        for i in range(2):
            u, s, vt = torch.linalg.svd(full.W[i])
            low.U[i].copy_(u * s.sqrt())
            low.Vf[i].copy_(vt.T * s.sqrt())
        low.V.load_state_dict(full.V.state_dict())
    q, d = torch.randn(5, 4), torch.randn(5, 4)
    torch.testing.assert_close(low(q, d), full(q, d), atol=1e-5, rtol=1e-5)


def test_ntn_bilinear_is_q_W_d_by_hand():
    layer = NeuralTensorLayer(3, 2, k=2, activation=False, seed=0)
    q, d = torch.randn(1, 3), torch.randn(1, 2)
    with torch.no_grad():
        expected = torch.stack([q[0] @ layer.W[i] @ d[0] for i in range(2)]) + layer.V(torch.cat([q, d], -1))[0]
        torch.testing.assert_close(layer(q, d)[0], expected)


@pytest.mark.parametrize("rank", [None, 2])
def test_identity_plus_correction_is_q_W_d_with_W_alpha_I_plus_correction(rank):
    layer = NeuralTensorLayer(5, 5, k=3, rank=rank, activation=False, seed=0, identity=2.0)
    with torch.no_grad():
        layer.alpha.copy_(torch.tensor([2.0, -1.0, 0.5]))
    base = layer.W if rank is None else torch.einsum("kir,kjr->kij", layer.U, layer.Vf)
    W = base + torch.tensor([2.0, -1.0, 0.5])[:, None, None] * torch.eye(5)
    torch.testing.assert_close(layer.bilinear_weight(), W)
    q, d = torch.randn(4, 5), torch.randn(4, 5)
    expected = torch.einsum("ni,kij,nj->nk", q, W, d) + layer.V(torch.cat([q, d], -1))
    torch.testing.assert_close(layer(q, d), expected, atol=1e-5, rtol=1e-5)
    qs, ds = torch.randn(2, 3, 5), torch.randn(2, 4, 5)
    pair = layer.pairwise(qs, ds)
    torch.testing.assert_close(pair[1, 2, 3], layer(qs[1, 2][None], ds[1, 3][None])[0], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="dq == dd"):
        NeuralTensorLayer(5, 4, identity=1.0)


def test_ntn_ranker_starts_as_a_similarity():
    # With identity slices and equal positive output weights, the untrained ranker scores a
    # document holding the query's tokens above one that does not.
    model = NTNRanker(_embedding(), hidden=8, k=3).eval()
    q = torch.tensor([[10, 11, 12]])
    match = torch.tensor([[30, 10, 31, 11, 32, 12]])
    other = torch.tensor([[30, 40, 31, 41, 32, 42]])
    assert _prefers(model, q, match, other)


def test_lowrank_has_fewer_parameters():
    full = NeuralTensorLayer(64, 64, k=8)
    low = NeuralTensorLayer(64, 64, k=8, rank=4)
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(low) < n(full) / 4


def test_coattention_rows_sum_to_one_and_ignore_padding():
    model = CoAttentionRanker(_embedding(), hidden=8).eval()
    q, qm, d, dm = _batch()
    with torch.no_grad():
        A_qd, A_dq = model.attention(q, qm, d, dm)
    assert A_qd.shape == (3, 5, 12) and A_dq.shape == (3, 12, 5)
    torch.testing.assert_close(A_qd.sum(-1), torch.ones(3, 5))
    torch.testing.assert_close(A_dq.sum(-1), torch.ones(3, 12))
    assert A_qd[1, :, 7:].abs().max() < 1e-6  # padded doc tokens get no attention
    assert A_dq[0, :, 3:].abs().max() < 1e-6  # padded query tokens get no attention


def test_coattention_is_query_focused_from_the_start():
    # Untrained: each query token's attention peaks on the document position holding the same token
    # (the c_a * cos term), and a different query moves the attention mass over the document.
    model = CoAttentionRanker(_embedding(), hidden=8).eval()
    q = torch.tensor([[10, 20, 30]])
    d = torch.tensor([[40, 30, 41, 10, 42, 43, 20, 44]])
    ones_q, ones_d = torch.ones(1, 3), torch.ones(1, 8)
    with torch.no_grad():
        A_qd, _ = model.attention(q, ones_q, d, ones_d)
        other, _ = model.attention(torch.tensor([[41, 42, 43]]), ones_q, d, ones_d)
        flat, _ = CoAttentionRanker(_embedding(), hidden=8, match_attention=0.0).eval().attention(q, ones_q, d, ones_d)
    assert A_qd[0].argmax(-1).tolist() == [3, 6, 1]
    assert A_qd[0, 0, 3] > 0.5  # most of token 10's attention goes to its exact match
    tv = 0.5 * float((A_qd[0].mean(0) - other[0].mean(0)).abs().sum())
    assert tv > 0.3, tv
    assert float(flat[0].max()) < 0.5  # plain trilinear attention at init is close to uniform (1/8)


def test_hierarchical_attention_splits_sentences_and_normalises_both_levels():
    ids = torch.tensor([[7, 8, 5, 9, 10, 11, 5, 12, 0]])
    mask = torch.tensor([[1.0] * 8 + [0.0]])
    assert sentence_index(ids, mask, [5], max_sentences=8).tolist() == [[0, 0, 0, 1, 1, 1, 1, 2, 0]]
    model = HierarchicalAttentionRanker(_embedding(), hidden=8, sentence_ids=[5], max_sentences=4).eval()
    q = torch.tensor([[8, 11]])
    with torch.no_grad():
        word, sent, index = model.attention(q, torch.ones(1, 2), ids, mask)
    torch.testing.assert_close(sent.sum(-1), torch.ones(1))
    assert sent[0, 3] == 0  # the empty 4th sentence gets nothing
    torch.testing.assert_close(word.sum(-1)[0, :3], torch.ones(3))
    assert word[0, :, 8].abs().max() == 0  # padding


def test_minilm_embeddings_load_and_exact_matches_give_cosine_one():
    from lessonlib.interaction import interaction_matrix, load_tokenizer

    emb = TokenEmbedding.from_minilm()
    assert emb.weight.shape == (30522, 384) and not emb.weight.requires_grad
    M, qt, dt = interaction_matrix("protein heart", "protein lowers heart risk", load_tokenizer(), emb)
    assert M.shape == (len(qt), len(dt))
    assert M[qt.index("protein"), dt.index("protein")] == pytest.approx(1.0, abs=1e-5)
    assert M.max() <= 1.0 + 1e-5


@pytest.mark.parametrize("name", ["knrm", "coattention", "hierarchical"])
def test_rerank_batches_across_queries_without_changing_scores(name):
    # rerank_candidates() packs pairs of several queries into one forward pass; the scores must be those of
    # score_pairs(), which scores one query's candidates at a time.
    from lessonlib.interaction.train import Setup, TokenStore, rerank_candidates, score_pairs

    g = torch.Generator().manual_seed(1)
    queries, docs = TokenStore(None, 8), TokenStore(None, 12)
    for i in range(3):
        ids = torch.randint(6, VOCAB, (3 + i,), generator=g)
        queries._ids[f"test:q{i}"], queries._tensors[f"test:q{i}"] = ids.tolist(), ids
    for j in range(7):
        ids = torch.randint(5, VOCAB, (4 + j,), generator=g)
        docs._ids[f"d{j}"], docs._tensors[f"d{j}"] = ids.tolist(), ids
    run = {f"q{i}": {f"d{j}": float(-j - i) for j in range(i, 7)} for i in range(3)}
    setup = Setup(None, None, None, queries, docs, {}, run, [], [])
    model = _models(_embedding())[name]
    batched = rerank_candidates(model, setup, run, k=5, batch_size=4)
    for q, cands in run.items():
        top = sorted(cands, key=lambda d: -cands[d])[:5]
        assert list(batched[q]) == top
        np.testing.assert_allclose([batched[q][d] for d in top], score_pairs(model, setup, f"test:{q}", top), rtol=1e-5, atol=1e-6)


def test_random_order_ndcg10_is_the_expectation_over_shuffles():
    # One relevant of two candidates: rank 1 half the time (nDCG 1), rank 2 otherwise (1/log2(3)).
    from lessonlib.interaction.train import random_order_ndcg10

    value = random_order_ndcg10({"q": {"a": 1}}, {"q": {"a": 2.0, "b": 1.0}}, n_draws=2000, seed=0)
    assert value == pytest.approx((1 + 1 / math.log2(3)) / 2, abs=0.02)
    # A single candidate that is relevant: every order is perfect.
    assert random_order_ndcg10({"q": {"a": 1}}, {"q": {"a": 0.5}}, n_draws=3) == pytest.approx(1.0)


def test_torch_threads_sets_and_restores_the_thread_count():
    from lessonlib.interaction.train import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before


def _tiny_setup():
    """A Setup with a hand-made test split: q1 judges d1 relevant (and d0 not), q2 judges d3; q3 is not judged."""
    from lessonlib.data import Dataset
    from lessonlib.interaction.train import Setup

    test = Dataset("tiny", {f"d{i}": {"text": ""} for i in range(4)}, {"q1": "", "q2": "", "q3": ""},
                   {"q2": {"d3": 1}, "q1": {"d0": 0, "d1": 2}})
    test_run = {"q1": {"d0": 3.0, "d1": 2.0, "d2": 1.0}, "q2": {"d2": 2.0, "d3": 1.0}, "q3": {"d0": 1.0}}
    return Setup(None, test, None, None, None, {}, test_run, [], [])


def test_per_query_ndcg10_are_the_runs_behind_evaluate_models_means():
    from lessonlib.evaluation.metrics import ndcg10
    from lessonlib.interaction.train import per_query_ndcg10
    from lessonlib.retrieval.rerank import interpolate_first_stage

    setup = _tiny_setup()
    model_run = {"q1": {"d0": 0.0, "d1": 5.0, "d2": 1.0}, "q2": {"d2": 0.0, "d3": 1.0}, "q3": {"d0": 0.0}}
    result = {"run": model_run, "w": 4.0}
    pq = per_query_ndcg10(setup, result)
    assert set(pq) == {"bm25", "model", "interpolated"} and all(v.shape == (2,) for v in pq.values())  # q1, q2: judged only
    np.testing.assert_allclose(pq["bm25"], [1 / math.log2(3), 1 / math.log2(3)])  # BM25 ranks each relevant document 2nd
    np.testing.assert_allclose(pq["model"], [1.0, 1.0])
    base = {q: setup.test_run[q] for q in model_run}
    for key, run in (("bm25", base), ("model", model_run), ("interpolated", interpolate_first_stage(model_run, base, 4.0))):
        assert pq[key].mean() == pytest.approx(ndcg10(setup.test.qrels, run))  # the means evaluate_model reports


def test_example_pair_is_the_first_judged_query_and_its_first_relevant_document():
    setup = _tiny_setup()
    assert setup.example_pair() == ("q1", "d1")  # sorted ids; d0 is judged but not relevant
    assert setup.example_pair(1) == ("q2", "d3")


def test_course_setup_is_prepare_with_the_modes_sizes():
    from lessonlib.data import course_dataset
    from lessonlib.interaction.train import course_setup, prepare

    setup = course_setup(fast=True, fast_train_queries=5)
    assert setup.meta == {"k": 30, "max_doc_len": 96, "fast": True}
    assert max(len(r) for r in setup.test_run.values()) <= 30
    assert max(len(setup.docs.ids(d)) for run in setup.test_run.values() for d in run) <= 96
    ref = prepare(course_dataset("train"), course_dataset("test"), max_doc_len=96, k=30, seed=0, tokenizer=setup.tokenizer)
    assert setup.train_qids == ref.train_qids[:5] and setup.val_qids == ref.val_qids and setup.test_run == ref.test_run
    assert setup.describe() == f"train 5 queries, validation {len(ref.val_qids)}, test {len(ref.test_run)}; rerank BM25 top-30; fast=True"
