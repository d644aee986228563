"""Exercise 8 (06_quantization_compression §3.2): product quantization, then asymmetric distance computation."""

from __future__ import annotations

import numpy as np

from lessonlib.index import PQIndex, ProductQuantizer
from lessonlib.index.kmeans import assign
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for n, m, ksub, dsub, metric, name in [(20, 2, 4, 2, "ip", "2 sub-spaces, inner product"),
                                           (50, 4, 8, 2, "ip", "4 sub-spaces, inner product"),
                                           (30, 3, 16, 4, "l2", "3 sub-spaces, L2"), (40, 1, 4, 6, "l2", "one sub-space, L2"),
                                           (1, 2, 4, 3, "ip", "one vector"), (0, 2, 4, 2, "ip", "no vectors")]:
        codebooks = rng.normal(size=(m, ksub, dsub)).astype(np.float32)
        x = rng.normal(size=(n, m * dsub)).astype(np.float32)
        out.append(Case(name, {"x": x, "query": rng.normal(size=m * dsub).astype(np.float32), "codebooks": codebooks, "metric": metric}))
    codebooks = rng.normal(size=(2, 4, 2)).astype(np.float32)
    codebooks[:, 3] = codebooks[:, 1]  # duplicate codewords: a tie, the first index wins
    out.append(Case("duplicate codewords: the first index wins",
                    {"x": codebooks[[0, 1], [1, 1]].reshape(1, 4).repeat(3, 0) + 0.01, "query": rng.normal(size=4).astype(np.float32),
                     "codebooks": codebooks, "metric": "l2"}))
    return out


def reference(x, query, codebooks, metric="ip"):
    codebooks = np.asarray(codebooks, np.float32)
    m, ksub, dsub = codebooks.shape
    pq = ProductQuantizer(m * dsub, m, nbits=max(1, int(np.ceil(np.log2(ksub)))))
    pq.codebooks_ = codebooks  # ksub = 2^nbits in every case
    codes = pq.encode(np.asarray(x, np.float32).reshape(-1, m * dsub))
    scores = pq.adc(pq.tables(np.asarray(query, np.float32)[None, :], metric), codes)[0]
    return codes.astype(np.int64), scores


def _codes(x, codebooks):
    m, ksub, dsub = codebooks.shape
    sub = x.reshape(len(x), m, dsub)
    return ((sub[:, :, None, :] - codebooks[None]) ** 2).sum(-1).argmin(-1).astype(np.int64)


def _adc(codes, query, codebooks, metric):
    m, ksub, dsub = codebooks.shape
    q = query.reshape(m, dsub)
    table = np.einsum("md,mkd->mk", q, codebooks) if metric == "ip" else -((q[:, None, :] - codebooks) ** 2).sum(-1)
    return table[np.arange(m), codes].sum(1).astype(np.float32) if len(codes) else np.zeros(0, np.float32)


def wrong_exact_scores(x, query, codebooks, metric="ip"):
    exact = x @ query if metric == "ip" else -((x - query) ** 2).sum(1)
    return _codes(x, codebooks), exact.astype(np.float32)


def wrong_l2_sign(x, query, codebooks, metric="ip"):
    codes = _codes(x, codebooks)
    scores = _adc(codes, query, codebooks, metric)
    return codes, (-scores if metric == "l2" else scores)


def wrong_codes_by_inner_product(x, query, codebooks, metric="ip"):
    m, ksub, dsub = codebooks.shape
    codes = np.einsum("nmd,mkd->nmk", x.reshape(len(x), m, dsub), codebooks).argmax(-1).astype(np.int64)
    return codes, _adc(codes, query, codebooks, metric)


register(ExerciseCheck(
    id="pq_adc", title="Product quantization: encode, then asymmetric distance computation",
    practises="06_quantization_compression — product quantization (Day 10.1 §3.2)",
    cases=cases, reference=reference,
    hint="split x into M sub-vectors; code_m = argmin_c ||x_m - codebooks[m, c]||^2 (first index on ties); "
         "table[m, c] = q_m . codebooks[m, c] for 'ip' or -||q_m - codebooks[m, c]||^2 for 'l2'; "
         "score(x) = sum_m table[m, code_m].",
    wrong={
        "you scored the ORIGINAL vectors: ADC scores the query against the quantised ones, sum_m table[m, code_m].":
            wrong_exact_scores,
        "for 'l2' the score is MINUS the squared distance (higher is better, like 'ip').": wrong_l2_sign,
        "a code is the NEAREST codeword (smallest squared L2 distance), not the one with the largest inner product.":
            wrong_codes_by_inner_product,
    },
    blocks=(ProductQuantizer, PQIndex, assign),
    atol=1e-4,
))
