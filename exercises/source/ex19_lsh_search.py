# exercise: lsh_search
# function: lsh_search
# practises: 05_ann_indexing — LSH: random hyperplanes, Hamming distance (Day 10.1 §3.1)
# title: LSH with random hyperplanes: signatures and Hamming search

# %% [markdown]
# # Exercise 19 — LSH with random hyperplanes: bit signatures and a Hamming-distance search
#
# **Practises:** notebook `05_ann_indexing`, section "LSH: random hyperplanes, Hamming distance" — Day 10.1 §3.1
# (vector databases, approximate search).
#
# Random-hyperplane LSH (Charikar, 2002, "Similarity estimation techniques from rounding algorithms") gives every
# vector an `nbits`-bit signature: bit j is 1 when the vector lies on the positive side of the random hyperplane
# with normal r_j,
#
# $$h_j(x) = [\,x \cdot r_j > 0\,], \qquad P\big[h_j(x) \ne h_j(y)\big] = \frac{\theta(x, y)}{\pi},$$
#
# so the **Hamming distance** between two signatures (the number of differing bits) estimates the angle between
# the vectors: LSH ranks by angle (cosine), not by length. This is FAISS's `IndexLSH`: it compares the query's
# signature with every stored one (XOR + popcount in C++) and returns the codes closest in Hamming distance.
#
# Write `lsh_search(query, vectors, planes, k)` → `(distances (k,), ids (k,))`:
# - `query` (d,), `vectors` (n, d) float32, `planes` (d, nbits): column j is r_j; bit j is 1 only for
#   x·r_j **> 0** (a projection of exactly 0 gives 0);
# - the k stored vectors whose signatures are nearest to the query's in Hamming distance, nearest first, ties by
#   the **smaller id**; `distances` as floats; when k > n, pad with distance `inf` and id `-1`.
#
# `check("lsh_search", lsh_search)` compares with `lessonlib.index.LSHIndex` given the same hyperplanes, on named
# hidden cases: 16 to 96 bits, "a bit count that is not a multiple of 8 (13 bits)", "4 bits: many ties, broken by the
# smaller id", "k larger than n: pad with inf / -1", "the zero vector: every projection is 0, so every bit is 0", "the
# query is stored itself: distance 0 first", "scaled copies share the query's signature; the negated copy differs in
# every bit". While your function runs, `LSHIndex` (every method), `random_hyperplanes` and `topk` cannot be called:
# the check stops them ("... is not available during this check"), because this exercise asks you to write it
# yourself. A failing case is shown by its name, with its inputs (summarised when large), the expected and your
# output, and a hint, the specific one when your output matches a classic mistake.

# %%
import numpy as np

from lessonlib.workbook.checks import check


def lsh_search(query: np.ndarray, vectors: np.ndarray, planes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    # BEGIN SOLUTION
    codes = vectors @ planes > 0  # (n, nbits) signatures
    q_code = query @ planes > 0  # (nbits,)
    hamming = (codes != q_code).sum(axis=1)
    order = np.argsort(hamming, kind="stable")[:k]  # stable: equal distances keep the smaller id first
    distances, ids = np.full(k, np.inf), np.full(k, -1, np.int64)
    distances[: len(order)], ids[: len(order)] = hamming[order], order
    return distances, ids
    # END SOLUTION


# %%
result = check("lsh_search", lsh_search)
