# exercise: ntn_score
# function: ntn_score
# practises: 18_tensor_interactions — Neural tensor networks and low-rank factorisations (Day 10.2 §4.2)
# title: A neural tensor network ranker: bilinear slices, max over the document, mean over the query

# %% [markdown]
# # Exercise 24 — A neural tensor network ranker: bilinear slices over every token pair
#
# **Practises:** notebook `18_tensor_interactions`, its opening section "Neural tensor networks and low-rank
# factorisations" (the layer written by hand) — Day 10.2 §4.2 (neural tensor networks: bilinear forms, tensor
# products).
#
# A neural tensor layer (Socher, Chen, Manning & Ng, 2013, "Reasoning With Neural Tensor Networks for Knowledge
# Base Completion") relates a query vector q and a document vector d through k bilinear **slices**: slice s
# computes qᵀW_s d, a learned similarity (W_s = I is the dot product; off-diagonal entries let query dimension a
# match document dimension b), plus a linear term:
#
# $$h(q, d) = \tanh\big(q^\top W^{[1:k]} d + V[q; d] + b\big) \in \mathbb{R}^k .$$
#
# `NTNRanker` (notebook 18) applies it to every (query token i, document token j) pair, keeps for each query token
# and slice the **best** document token (max over real document tokens), averages over the **real** query tokens,
# and scores with a linear layer u:
#
# $$\text{score} = u^\top \frac{1}{|\{i\ \text{real}\}|}\sum_{i\ \text{real}} \max_{j\ \text{real}} h(q_i, d_j).$$
#
# Write `ntn_score(q, d, q_mask, d_mask, W, V, b, u)` → scores (B,):
# - `q` (B, Lq, H), `d` (B, Ld, H) token vectors (already projected); masks (B, L), 1 = real; every document has a
#   real token; a query of padding only scores 0 (divide by max(#real, 1));
# - `W` (k, H, H), `V` (k, 2H) (its first H columns multiply q, the last H multiply d), `b` (k,), `u` (k,).
# Compute all pairs at once — `torch.einsum("bqi,kij,bdj->bqdk", q, W, d)` is qᵢᵀW_s dⱼ for every b, i, j, s.
#
# `check("ntn_score", ntn_score)` compares with `lessonlib.interaction.ntn.NTNRanker` on named hidden cases: "one
# pair, 4 slices", "a padded batch of 3", "one slice (k = 1)", "8 slices, longer documents", "a rank-1 tensor, W_s =
# u_s v_s^T (the low-rank layer's slices)", "W_s = 10 I: every slice a scaled dot product (how NTNRanker starts)", "a
# query of padding only: nothing to average, score 0". While your function runs, `NTNRanker` and `NeuralTensorLayer`
# cannot be called: the check stops them ("... is not available during this check"), because this exercise asks you to
# write it yourself. A failing case is shown by its name, with its inputs (summarised when large), the expected and
# your output, and a hint, the specific one when your output matches a classic mistake.

# %%
import torch

from lessonlib.workbook.checks import check


def ntn_score(q: torch.Tensor, d: torch.Tensor, q_mask: torch.Tensor, d_mask: torch.Tensor, W: torch.Tensor,
              V: torch.Tensor, b: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    # BEGIN SOLUTION
    h = q.shape[-1]
    bilinear = torch.einsum("bqi,kij,bdj->bqdk", q, W, d)  # q_i^T W_s d_j, (B, Lq, Ld, k)
    linear = (q @ V[:, :h].T)[:, :, None] + (d @ V[:, h:].T)[:, None] + b  # V [q_i; d_j] + b
    pairs = torch.tanh(bilinear + linear)
    best = pairs.masked_fill(d_mask[:, None, :, None] == 0, float("-inf")).max(dim=2).values  # (B, Lq, k)
    real = q_mask[:, :, None].to(best.dtype)
    return ((best * real).sum(dim=1) / real.sum(dim=1).clamp(min=1)) @ u
    # END SOLUTION


# %%
result = check("ntn_score", ntn_score)
