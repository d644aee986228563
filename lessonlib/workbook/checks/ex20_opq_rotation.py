"""Exercise 20 (06_quantization_compression §3.2): one OPQ step, encode x R then the Procrustes rotation."""

from __future__ import annotations

import numpy as np

from lessonlib.index import OPQIndex, PQIndex, ProductQuantizer
from lessonlib.index.opq import learn_rotation, procrustes_rotation
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def _rotation(rng: np.random.Generator, d: int) -> np.ndarray:
    return np.linalg.qr(rng.normal(size=(d, d)))[0].astype(np.float32)


def _correlated(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Correlated dimensions of unequal variance: what OPQ's rotation is for."""
    mix = rng.normal(size=(d, d)) * np.linspace(2.0, 0.2, d)[:, None]
    return (rng.normal(size=(n, d)) @ mix).astype(np.float32)


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for name, n, m, ksub, dsub, identity in [
            ("OPQ's first step: R = identity (plain PQ)", 200, 2, 8, 4, True),
            ("a random rotation, M=4 sub-spaces", 300, 4, 16, 2, False),
            ("M=1: one sub-space, one codebook", 100, 1, 8, 6, False),
            ("ksub=2: one bit per sub-space", 150, 3, 2, 3, False),
            ("n = d rows: the fewest with a unique rotation", 8, 2, 4, 4, False)]:
        d = m * dsub
        x = _correlated(rng, n, d)
        codebooks = (rng.normal(size=(m, ksub, dsub)) * x.std()).astype(np.float32)
        R = np.eye(d, dtype=np.float32) if identity else _rotation(rng, d)
        out.append(Case(name, {"x": x, "R": R, "codebooks": codebooks}))
    m, ksub, dsub = 2, 4, 3
    codebooks = rng.normal(size=(m, ksub, dsub)).astype(np.float32)
    codes = rng.integers(0, ksub, size=(40, m))
    y = np.concatenate([codebooks[j][codes[:, j]] for j in range(m)], axis=1)
    R = _rotation(rng, m * dsub)
    out.append(Case("the codewords reproduce x R exactly: R does not move (a fixed point)",
                    {"x": (y @ R.T).astype(np.float32), "R": R, "codebooks": codebooks}))
    codebooks = rng.normal(size=(2, 4, 2)).astype(np.float32)
    codebooks[:, 3] = codebooks[:, 1]
    out.append(Case("duplicate codewords: ties go to the first index",
                    {"x": _correlated(rng, 30, 4), "R": np.eye(4, dtype=np.float32), "codebooks": codebooks}))
    return out


def reference(x, R, codebooks):
    x, R, codebooks = (np.asarray(a, np.float32) for a in (x, R, codebooks))
    m, ksub, dsub = codebooks.shape
    pq = ProductQuantizer(m * dsub, m, nbits=max(1, int(np.ceil(np.log2(ksub)))))
    pq.codebooks_ = codebooks  # ksub = 2^nbits in every case
    codes = pq.encode(x @ R)  # OPQIndex encodes x R
    return codes.astype(np.int64), procrustes_rotation(x, pq.decode(codes))  # learn_rotation's step


def _step(x, R, codebooks, rotate=True, solve="procrustes"):
    m, _, dsub = codebooks.shape
    sub = ((x @ R) if rotate else x).reshape(len(x), m, dsub)
    codes = ((sub[:, :, None, :] - codebooks[None]) ** 2).sum(-1).argmin(-1)
    y = np.concatenate([codebooks[j][codes[:, j]] for j in range(m)], axis=1)
    if solve == "least_squares":
        return codes, np.linalg.lstsq(x, y, rcond=None)[0]
    u, _, vt = np.linalg.svd(x.T @ y)
    return codes, (u @ vt).T if solve == "transposed" else u @ vt


def wrong_transposed(x, R, codebooks):
    return _step(x, R, codebooks, solve="transposed")


def wrong_unrotated(x, R, codebooks):
    return _step(x, R, codebooks, rotate=False)


def wrong_least_squares(x, R, codebooks):
    return _step(x, R, codebooks, solve="least_squares")


register(ExerciseCheck(
    id="opq_rotation_step", title="One OPQ step: encode the rotated vectors, then the Procrustes rotation",
    practises="06_quantization_compression — Quantizers: bytes per vector vs quality (Day 10.1 §3.2)",
    cases=cases, reference=reference,
    hint="codes: rotate (x @ R), cut into M sub-vectors, nearest codeword of each (squared L2, first index on ties); "
         "Y = the codewords put back together; new R = U @ Vt from np.linalg.svd(x.T @ Y).",
    wrong={
        "R = U V^T with U, S, V^T = svd(X^T Y); you returned its transpose V U^T (the rotation the other way).":
            wrong_transposed,
        "encode the ROTATED vectors x @ R, not x: the codebooks live in the rotated space.": wrong_unrotated,
        "R must stay orthogonal (a rotation keeps inner products): solve the Procrustes problem with the SVD, not "
        "an unconstrained least-squares fit.": wrong_least_squares,
    },
    blocks=(ProductQuantizer, PQIndex, OPQIndex, learn_rotation, procrustes_rotation),
    atol=1e-4,
))
