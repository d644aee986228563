# exercise: knrm_pooling
# function: knrm_pooling
# practises: 17_kernel_models — K-NRM (Day 10.2 §4.1)
# title: KNRM kernel pooling: soft-TF and log-sum

# %% [markdown]
# # Exercise 12 — K-NRM kernel pooling: soft term frequencies and the log-sum
#
# **Practises:** notebook `17_kernel_models`, Day 10.2 §4.1 (kernel-based interaction models).
#
# K-NRM (Xiong, Dai, Callan, Liu & Power, 2017, "End-to-End Neural Ad-hoc Ranking with Kernel Pooling") starts
# from the cosine **interaction matrix** M (B, Lq, Ld) between query and document token embeddings. K Gaussian
# kernels with centres μ_k and widths σ_k count, for each query token i, how many document tokens are "about this
# similar" (a soft term frequency); the log of each count is summed over the query tokens:
#
# $$K_k(M_i) = \sum_{j \in \text{doc}} \exp\Big(-\frac{(M_{ij} - \mu_k)^2}{2\sigma_k^2}\Big), \qquad
#   \phi_k = 0.01 \sum_{i \in \text{query}} \log \max\big(K_k(M_i),\ 10^{-10}\big)$$
#
# The sums run over REAL tokens only (`q_mask` (B, Lq), `d_mask` (B, Ld): 1 = real, 0 = padding). The kernel at
# μ = 1 with σ = 10⁻³ counts exact matches; the 0.01 scale and the 10⁻¹⁰ floor follow the authors' code.
#
# Write `knrm_pooling(M, q_mask, d_mask, mus, sigmas)` → φ of shape (B, K) (torch; `mus`, `sigmas` are (K,)).
# `check("knrm_pooling", knrm_pooling)` compares with `lessonlib.interaction.knrm.kernel_pooling` on named hidden
# cases: 5, 11 and 21 kernels, padded batches, "an all-padding query row", "a document of padding only (log of 0
# clamped)". While your function runs, `kernel_pooling`, `soft_tf` and `KNRM` cannot be called: the check stops them
# ("... is not available during this check"), because this exercise asks you to write it yourself. A failing case is
# shown by its name, with its inputs (summarised when large), the expected and your output, and a hint, the specific
# one when your output matches a classic mistake.

# %%
import torch

from lessonlib.workbook.checks import check


def knrm_pooling(M: torch.Tensor, q_mask: torch.Tensor, d_mask: torch.Tensor, mus: torch.Tensor,
                 sigmas: torch.Tensor) -> torch.Tensor:
    # BEGIN SOLUTION
    kernels = torch.exp(-((M[..., None] - mus) ** 2) / (2 * sigmas**2))  # (B, Lq, Ld, K)
    soft_tf = (kernels * d_mask[:, None, :, None].to(M.dtype)).sum(dim=2)  # (B, Lq, K)
    logs = 0.01 * torch.log(soft_tf.clamp(min=1e-10))
    return (logs * q_mask[:, :, None].to(M.dtype)).sum(dim=1)
    # END SOLUTION


# %%
result = check("knrm_pooling", knrm_pooling)
