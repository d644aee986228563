# exercise: coattention_maps
# function: coattention_maps
# practises: 16_attention_interaction — Train the models: co-attention (Day 10.2 §4.3)
# title: Co-attention: query-to-document and document-to-query attention maps

# %% [markdown]
# # Exercise 25 — Co-attention: the query→document and document→query attention maps
#
# **Practises:** notebook `16_attention_interaction`, section "Train the models" (the co-attention model and its
# `match_attention` term) — Day 10.2 §4.3 (attention-based interaction: co-attention, bidirectional attention).
#
# Co-attention (BiDAF: Seo, Kembhavi, Farhadi & Hajishirzi, 2017; DCN: Xiong, Zhong & Socher, 2017) scores every
# (query token i, document token j) pair with one **similarity matrix** S and normalises it in both directions.
# With the tokens projected, qᵢ = tanh(P e(qᵢ) + p) and dⱼ = tanh(P e(dⱼ) + p), lessonlib's `CoAttentionRanker` uses
# the trilinear similarity plus a match channel on the raw embeddings:
#
# $$S_{ij} = w_1^\top q_i + w_2^\top d_j + w_3^\top (q_i \odot d_j) + w_0 + c_a\,\cos\big(e(q_i), e(d_j)\big)$$
#
# $$A^{qd} = \operatorname{softmax}_j(S) \quad\text{(each query row sums to 1 over document tokens)},\qquad
#   A^{dq} = \operatorname{softmax}_i(S^\top) \quad\text{(each document row sums to 1 over query tokens)}.$$
#
# `w = [w₁; w₂; w₃]` (3H,), `w₀` = `w_bias`, c_a = `match_attention` (0 gives plain BiDAF). Padding tokens get no
# attention: mask them (score −∞) before each softmax. Padded positions of the embeddings are zero vectors, whose
# cosine with anything is 0 (`F.normalize(..., eps=1e-8)`); every row of both masks has a real token.
#
# Write `coattention_maps(q_emb, q_mask, d_emb, d_mask, P, p, w, w_bias, match_attention)` →
# `(A_qd (B, Lq, Ld), A_dq (B, Ld, Lq))`: `q_emb` (B, Lq, E), `d_emb` (B, Ld, E), masks (B, L) with 1 = real,
# `P` (H, E), `p` (H,), `w` (3H,), floats `w_bias` and `match_attention`.
#
# `check("coattention_maps", coattention_maps)` compares with
# `lessonlib.interaction.coattention.CoAttentionRanker.attention` on named hidden cases: "one pair, no padding", "a
# padded batch of 3", "match_attention = 0: plain trilinear (BiDAF) attention", "a strong match channel (20):
# attention follows the exact match", "a one-token query: every row of A_dq is [1]", "a repeated document token gets
# equal attention", "padding inside both sides". While your function runs, `CoAttentionRanker`, `masked_softmax` and
# `cosine_matrix` cannot be called: the check stops them ("... is not available during this check"), because this
# exercise asks you to write it yourself. A failing case is shown by its name, with its inputs (summarised when
# large), the expected and your output, and a hint, the specific one when your output matches a classic mistake.

# %%
import torch
import torch.nn.functional as F

from lessonlib.workbook.checks import check


def coattention_maps(q_emb: torch.Tensor, q_mask: torch.Tensor, d_emb: torch.Tensor, d_mask: torch.Tensor,
                     P: torch.Tensor, p: torch.Tensor, w: torch.Tensor, w_bias: float,
                     match_attention: float) -> tuple[torch.Tensor, torch.Tensor]:
    # BEGIN SOLUTION
    q, d = torch.tanh(q_emb @ P.T + p), torch.tanh(d_emb @ P.T + p)  # projected tokens (B, L, H)
    h = q.shape[-1]
    S = (q @ w[:h])[:, :, None] + (d @ w[h:2 * h])[:, None, :] + (q * w[2 * h:]) @ d.transpose(1, 2) + w_bias
    S = S + match_attention * (F.normalize(q_emb, dim=-1, eps=1e-8) @ F.normalize(d_emb, dim=-1, eps=1e-8).transpose(1, 2))
    A_qd = torch.softmax(S.masked_fill(d_mask[:, None, :] == 0, float("-inf")), dim=2)  # over document tokens
    A_dq = torch.softmax(S.transpose(1, 2).masked_fill(q_mask[:, None, :] == 0, float("-inf")), dim=2)  # over query tokens
    return A_qd, A_dq
    # END SOLUTION


# %%
result = check("coattention_maps", coattention_maps)
