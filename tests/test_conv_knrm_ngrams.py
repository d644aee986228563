"""lessonlib.interaction.conv_knrm: the n-gram match matrices, the final layer's weight per n-gram pair, ablation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.interaction import ConvKNRM, TokenEmbedding, kernel_pooling
from lessonlib.interaction.conv_knrm import drop_ngrams, ngram_weight_share


def _model_and_batch(cross_match: bool = True):
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = ConvKNRM(TokenEmbedding(torch.randn(50, 16, generator=g)), n_filters=8, cross_match=cross_match).eval()
    q = torch.randint(1, 50, (2, 5), generator=g)
    d = torch.randint(1, 50, (2, 9), generator=g)
    qm, dm = torch.ones(2, 5), torch.ones(2, 9)
    dm[1, 6:] = 0
    return model, (q, qm, d * dm.long(), dm)


def test_match_matrices_are_the_cosines_behind_the_features():
    model, batch = _model_and_batch()
    with torch.no_grad():
        mats = model.match_matrices(*batch)
        feats = model.features(*batch)
    assert list(mats) == model.pairs() == [(a, b) for a in (1, 2, 3) for b in (1, 2, 3)]
    for (a, b), M in mats.items():
        assert M.shape == (2, 5 - a + 1, 9 - b + 1)
        assert float(M.abs().max()) <= 1 + 1e-5
    assert float(mats[(1, 3)][1, :, 4:].abs().max()) == 0.0  # doc trigrams 5.. touch padding (real tokens 0..5)
    qs, ds = model.ngrams(batch[0], batch[1]), model.ngrams(batch[2], batch[3])
    K = len(model.mus)
    for i, (a, b) in enumerate(model.pairs()):
        phi = kernel_pooling(mats[(a, b)], qs[a - 1][1], ds[b - 1][1], model.mus, model.sigmas)
        torch.testing.assert_close(feats[:, i * K : (i + 1) * K], phi)
    assert ConvKNRM(model.embedding, n_filters=8, cross_match=False).pairs() == [(1, 1), (2, 2), (3, 3)]


def test_drop_ngrams_zeroes_exactly_the_blocks_with_that_size_and_restores():
    model, batch = _model_and_batch()
    K = len(model.mus)
    with torch.no_grad():
        full = model.features(*batch)
        with drop_ngrams(model, {2}):
            dropped = model.features(*batch)
        with drop_ngrams(model, {1, 2, 3}):
            nothing = model(*batch)
        again = model.features(*batch)
    for i, (a, b) in enumerate(model.pairs()):
        block = dropped[:, i * K : (i + 1) * K]
        if 2 in (a, b):
            assert float(block.abs().max()) == 0.0
        else:
            torch.testing.assert_close(block, full[:, i * K : (i + 1) * K])
    torch.testing.assert_close(again, full)
    torch.testing.assert_close(nothing, model.dense.bias.expand(2))  # no evidence left: every score is the bias
    with pytest.raises(ValueError, match="1..3"):
        with drop_ngrams(model, {4}):
            pass


def test_ngram_weight_share_sums_to_one_and_starts_equal():
    model, _ = _model_and_batch()
    share = ngram_weight_share(model)
    assert share.shape == (3, 3) and share.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(share, np.full((3, 3), 1 / 9), atol=1e-6)  # the prior spreads w equally over the pairs
    with torch.no_grad():
        model.dense.weight[0, :11] *= 10  # the (1, 1) block
    assert ngram_weight_share(model).argmax() == 0
    diag = ngram_weight_share(_model_and_batch(cross_match=False)[0])
    assert diag.sum() == pytest.approx(1.0) and diag[0, 1] == 0 and diag[1, 1] > 0


class _Store:
    def __init__(self, seqs: dict[str, list[int]]):
        self.seqs = seqs

    def ids(self, key: str) -> list[int]:
        return self.seqs[key]

    def pad(self, keys):
        n = max(len(self.seqs[k]) for k in keys)
        ids = torch.tensor([self.seqs[k] + [0] * (n - len(self.seqs[k])) for k in keys])
        return ids, (ids > 0).float()


def test_ngram_ablation_equals_reranking_with_the_sizes_dropped():
    from types import SimpleNamespace

    from lessonlib.evaluation.metrics import per_query_array
    from lessonlib.interaction.conv_knrm import ngram_ablation
    from lessonlib.interaction.train import rerank_candidates

    model, _ = _model_and_batch()
    g = torch.Generator().manual_seed(1)
    rand = lambda n: torch.randint(1, 50, (n,), generator=g).tolist()  # noqa: E731
    qids = [f"q{i}" for i in range(4)]
    docs = {f"d{j}": rand(4 + j % 5) for j in range(10)}
    queries = {f"train:{q}": rand(3 + i % 3) for i, q in enumerate(qids)}
    run = {q: {f"d{j}": float(10 - j + i) for j in range(10)} for i, q in enumerate(qids)}
    qrels = {q: {f"d{(3 * i + 2) % 10}": 1} for i, q in enumerate(qids)}
    setup = SimpleNamespace(val_qids=qids, train=SimpleNamespace(qrels=qrels), train_run=run, queries=_Store(queries), docs=_Store(docs))
    out = ngram_ablation(model, setup, k=10, batch_size=7)
    assert list(out) == ["all", "no 1-grams", "no 2-grams", "no 3-grams"] and all(v.shape == (4,) for v in out.values())
    for name, sizes in [("all", set()), ("no 2-grams", {2}), ("no 3-grams", {3})]:
        with drop_ngrams(model, sizes):
            ref = rerank_candidates(model, setup, run, split="train", qids=qids, k=10, num_threads=None)
        np.testing.assert_allclose(out[name], per_query_array(qrels, ref, "ndcg@10", sorted(qids)))
