"""lessonlib.index.additive: PQ, OPQ, RQ and LSQ (FAISS codecs) at equal bytes per vector, measured by quantizer_row."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.data import Dataset
from lessonlib.index.additive import QUANTIZERS, format_quantizer_rows, make_quantizer, quantizer_row
from lessonlib.index.benchmark import exact_neighbors

D = 32
RNG = np.random.default_rng(0)
# correlated clustered data: a low-rank part shared by all dimensions plus noise
X = (RNG.normal(size=(1500, 4)) @ RNG.normal(size=(4, D)) + 0.3 * RNG.normal(size=(1500, D))).astype(np.float32)
X /= np.linalg.norm(X, axis=1, keepdims=True)
Q = X[:20] + 0.05 * RNG.normal(size=(20, D)).astype(np.float32)
DS = Dataset("synthetic", {f"d{i}": {"text": f"doc {i}"} for i in range(len(X))}, {f"q{i}": "q" for i in range(20)},
             {f"q{i}": {f"d{i}": 1} for i in range(20)})
FAST = dict(beam=2, train_iters=1, encode_ils_iters=1, opq_iter=4)


def held_out_error(index, x):
    return float(((index.sa_decode(index.sa_encode(x)) - x) ** 2).sum(1).mean())


@pytest.mark.parametrize("method", QUANTIZERS)
@pytest.mark.parametrize("nbytes", [2, 4])
def test_every_method_stores_exactly_nbytes_per_vector(method, nbytes):
    index = make_quantizer(method, D, nbytes, **FAST)
    index.train(X[:600])
    assert index.sa_code_size() == nbytes
    assert index.sa_encode(X[:5]).shape == (5, nbytes)


def test_rq_with_more_bytes_reconstructs_better():
    errs = {}
    for nbytes in (1, 2, 4):
        rq = make_quantizer("RQ", D, nbytes, beam=2)
        rq.train(X[:1000])
        errs[nbytes] = held_out_error(rq, X[1000:])
    assert errs[1] > errs[2] > errs[4], errs


def test_additive_codes_beat_pq_on_correlated_data_at_equal_bytes():
    # PQ splits the dimensions the low-rank part couples; full-length additive codewords keep them together
    errs = {}
    for method in ("PQ", "RQ"):
        index = make_quantizer(method, D, 2, beam=4)
        index.train(X[:1000])
        errs[method] = held_out_error(index, X[1000:])
    assert errs["RQ"] < errs["PQ"], errs


def test_quantizer_row_reports_the_code_size_and_held_out_error():
    truth = exact_neighbors(X, Q, 10)
    rows = [quantizer_row(m, 4, X, Q, truth, DS, train_n=1000, **FAST) for m in QUANTIZERS]
    for r, m in zip(rows, QUANTIZERS):
        assert r["method"] == f"{m}4" and r["bytes"] == 4 and r["ratio"] == pytest.approx(4 * D / 4)
        assert r["errs"].shape == (500,) and r["recon_err"] == pytest.approx(r["errs"].mean())
        assert 0 <= r["recall"] <= 1 and 0 <= r["ndcg"] <= 1 and r["ndcg_q"].shape == (20,)
        assert r["train_s"] > 0 and r["encode_s"] > 0
    assert format_quantizer_rows(rows).count("\n") == len(rows) + 1


def test_no_held_out_documents_gives_nan_error():
    truth = exact_neighbors(X[:600], Q, 10)
    r = quantizer_row("PQ", 4, X[:600], Q, truth, DS, train_n=600)
    assert np.isnan(r["recon_err"]) and r["errs"].shape == (0,)


@pytest.mark.parametrize("kwargs, match", [(dict(method="AQ", nbytes=4), "one of"), (dict(method="PQ", nbytes=3), "divisible"),
                                           (dict(method="RQ", nbytes=3, nbits=5), "multiple")])
def test_bad_arguments_are_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_quantizer(dim=D, **kwargs)
