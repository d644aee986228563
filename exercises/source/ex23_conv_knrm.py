# exercise: conv_knrm_features
# function: conv_knrm_features
# practises: 17_kernel_models — Training K-NRM and Conv-KNRM (Day 10.2 §4.1)
# title: Conv-KNRM: n-gram convolutions and cross-matched kernel pooling

# %% [markdown]
# # Exercise 23 — Conv-KNRM: n-gram convolutions, then kernel pooling of every n-gram pair
#
# **Practises:** notebook `17_kernel_models`, section "Training K-NRM and Conv-KNRM" — Day 10.2 §4.1 (kernel-based
# interaction models: Conv-KNRM, n-gram interactions, cross-matching).
#
# K-NRM (exercise 12) matches single tokens. **Conv-KNRM** (Dai, Xiong, Callan & Liu, 2018, "Convolutional Neural
# Networks for Soft-Matching N-Grams in Ad-hoc Search") first turns each side's token embeddings into n-gram vectors
# with one 1-D convolution per size h = 1..H (F filters, ReLU), then **cross-matches** every query n-gram size with
# every document n-gram size (unigram-to-bigram, trigram-to-unigram, …) and kernel-pools each of the H² cosine
# matrices as K-NRM does:
#
# $$g_h(t) = \operatorname{relu}\big(W_h \,[e_t; \dots; e_{t+h-1}] + b_h\big), \qquad
#   M^{a,b}_{ij} = \cos\big(g_a(q)_i,\ g_b(d)_j\big), \qquad
#   \phi = \big[\,\operatorname{KernelPool}(M^{a,b})\,\big]_{a=1..H,\ b=1..H}$$
#
# KernelPool is exercise 12's: φ_k = 0.01 Σ_i log max(Σ_j exp(−(M_ij − μ_k)²/(2σ_k²)), 10⁻¹⁰), the sums over REAL
# n-grams only. An n-gram is real when **all** its h tokens are real; a side shorter than h tokens has no
# n-gram of that size (its blocks are 0 on the query side; on the document side each real query n-gram adds
# 0.01·log 10⁻¹⁰).
#
# Write `conv_knrm_features(q_emb, q_mask, d_emb, d_mask, conv_weights, conv_biases, mus, sigmas)` → φ (B, H·H·K):
# - `q_emb` (B, Lq, D), `d_emb` (B, Ld, D) token embeddings; masks (B, L), 1 = real token;
# - `conv_weights[h-1]` (F, D, h) and `conv_biases[h-1]` (F,): the size-h convolution in `torch.nn.Conv1d`'s layout
#   (`F.conv1d(x.transpose(1, 2), w, b)` takes x as (B, D, L));
# - `mus`, `sigmas` (K,); cosine with `F.normalize(..., eps=1e-8)`;
# - order of the H² blocks of K features: query size a outer, document size b inner (a=1,b=1; a=1,b=2; …).
#
# `check("conv_knrm_features", conv_knrm_features)` compares with `lessonlib.interaction.conv_knrm.ConvKNRM.features`
# on named hidden cases: "unigrams only (H = 1): K-NRM on convolved vectors", "uni- and bigrams: 4 cross-matched
# blocks", "n-grams up to 3, 5 kernels", "a query of 2 tokens has no trigram: its trigram blocks are 0", "padding
# inside a window: an n-gram is real only if all its tokens are", "a document of one real token". While your function
# runs, `ConvKNRM`, `ngram_mask`, `kernel_pooling`, `soft_tf` and `cosine_matrix` cannot be called: the check stops
# them ("... is not available during this check"), because this exercise asks you to write it yourself. A failing case
# is shown by its name, with its inputs (summarised when large), the expected and your output, and a hint, the
# specific one when your output matches a classic mistake.

# %%
import torch
import torch.nn.functional as F

from lessonlib.workbook.checks import check


def conv_knrm_features(q_emb: torch.Tensor, q_mask: torch.Tensor, d_emb: torch.Tensor, d_mask: torch.Tensor,
                       conv_weights: list[torch.Tensor], conv_biases: list[torch.Tensor], mus: torch.Tensor,
                       sigmas: torch.Tensor) -> torch.Tensor:
    # BEGIN SOLUTION
    def ngrams(emb: torch.Tensor, mask: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        out = []
        for w, b in zip(conv_weights, conv_biases):
            h = w.shape[2]
            if emb.shape[1] < h:  # shorter than the n-gram: none of this size
                out.append((emb.new_zeros(emb.shape[0], 0, w.shape[0]), mask.new_zeros(mask.shape[0], 0)))
                continue
            g = torch.relu(F.conv1d(emb.transpose(1, 2), w, b)).transpose(1, 2)  # (B, L-h+1, F)
            out.append((g, mask.unfold(1, h, 1).min(dim=-1).values))  # real only if all h tokens are real
        return out

    features = []
    for q, qm in ngrams(q_emb, q_mask):
        for d, dm in ngrams(d_emb, d_mask):  # cross-match: every query size with every document size
            M = F.normalize(q, dim=-1, eps=1e-8) @ F.normalize(d, dim=-1, eps=1e-8).transpose(1, 2)
            soft_tf = (torch.exp(-((M[..., None] - mus) ** 2) / (2 * sigmas**2)) * dm[:, None, :, None]).sum(dim=2)
            features.append((0.01 * torch.log(soft_tf.clamp(min=1e-10)) * qm[:, :, None]).sum(dim=1))
    return torch.cat(features, dim=-1)
    # END SOLUTION


# %%
result = check("conv_knrm_features", conv_knrm_features)
