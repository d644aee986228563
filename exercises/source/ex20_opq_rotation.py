# exercise: opq_rotation_step
# function: opq_rotation_step
# practises: 06_quantization_compression — Quantizers: bytes per vector vs quality (Day 10.1 §3.2)
# title: One OPQ step: encode the rotated vectors, then the Procrustes rotation

# %% [markdown]
# # Exercise 20 — One OPQ step: encode the rotated vectors, then solve for the best rotation
#
# **Practises:** notebook `06_quantization_compression`, section "Quantizers: bytes per vector vs quality" (its
# OPQ rows) — Day 10.1 §3.2 (quantization and compression).
#
# Product quantization cuts a vector into M sub-vectors and replaces each by the nearest of its sub-space's ksub
# codewords. It loses least when the M sub-spaces carry similar variance and are independent — rarely true of raw
# embeddings. **Optimized PQ** (Ge, He, Ke & Sun, 2013, "Optimized Product Quantization") first rotates the space,
# x ↦ xR with R orthogonal (so inner products and distances are unchanged), and learns R by alternating two steps:
#
# 1. fix R: encode every row of XR with the codebooks and reconstruct it, Y = decode(encode(XR));
# 2. fix Y: the rotation that brings XR closest to Y is the **orthogonal Procrustes** solution
#
# $$R^\star = \arg\min_{R^\top R = I} \lVert XR - Y\rVert_F = U V^\top, \qquad U \Sigma V^\top = \operatorname{svd}(X^\top Y).$$
#
# (FAISS's `OPQMatrix` and `lessonlib.index.opq.learn_rotation` repeat these steps, re-training the codebooks in
# between; here the codebooks are given.)
#
# Write `opq_rotation_step(x, R, codebooks)` → `(codes (n, M) int, new_R (d, d))`:
# - `x` (n, d) float32, `R` (d, d) orthogonal, `codebooks` (M, ksub, d/M) float32 — sub-space m is the columns
#   `m·d/M … (m+1)·d/M - 1` of xR;
# - `codes[i, m]` = the index of the codeword nearest (squared L2) to sub-vector m of row i of xR (the first index
#   on ties); `new_R` = UVᵀ from the SVD of Xᵀ Y.
#
# `check("opq_rotation_step", opq_rotation_step)` compares with `lessonlib.index.ProductQuantizer` (encode, decode)
# and `lessonlib.index.opq.procrustes_rotation` on named hidden cases: "OPQ's first step: R = identity (plain PQ)", "a
# random rotation, M=4 sub-spaces", "M=1: one sub-space, one codebook", "ksub=2: one bit per sub-space", "n = d rows:
# the fewest with a unique rotation", "the codewords reproduce x R exactly: R does not move (a fixed point)",
# "duplicate codewords: ties go to the first index". While your function runs, `ProductQuantizer`, `PQIndex`,
# `OPQIndex`, `learn_rotation` and `procrustes_rotation` cannot be called: the check stops them ("... is not available
# during this check"), because this exercise asks you to write it yourself. A failing case is shown by its name, with
# its inputs (summarised when large), the expected and your output, and a hint, the specific one when your output
# matches a classic mistake.

# %%
import numpy as np

from lessonlib.workbook.checks import check


def opq_rotation_step(x: np.ndarray, R: np.ndarray, codebooks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # BEGIN SOLUTION
    m, _, dsub = codebooks.shape
    sub = (x @ R).reshape(len(x), m, dsub)  # rotate, then cut into M sub-vectors
    dist = ((sub[:, :, None, :] - codebooks[None]) ** 2).sum(-1)  # (n, M, ksub)
    codes = dist.argmin(axis=-1)  # argmin keeps the first index on ties
    y = np.concatenate([codebooks[j][codes[:, j]] for j in range(m)], axis=1)  # the reconstruction of x R
    u, _, vt = np.linalg.svd(x.T @ y)  # Procrustes: argmin over rotations of ||x R - y||
    return codes, u @ vt
    # END SOLUTION


# %%
result = check("opq_rotation_step", opq_rotation_step)
