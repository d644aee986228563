"""Exercise 12 (17_kernel_models §4.1): KNRM kernel pooling, soft-TF and log-sum."""

from __future__ import annotations

import numpy as np

from lessonlib.interaction.knrm import KNRM, kernel_mus, kernel_pooling, kernel_sigmas, soft_tf
from lessonlib.workbook.checks.cases import padding_mask, tensor
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def _kernels(n_kernels: int) -> dict:
    import torch

    return {"mus": torch.tensor(kernel_mus(n_kernels), dtype=torch.float64),
            "sigmas": torch.tensor(kernel_sigmas(n_kernels), dtype=torch.float64)}


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for b, lq, ld, n_kernels, empty, name in [(1, 3, 5, 11, False, "one pair, 11 kernels"), (2, 4, 10, 11, False, "padded batch, 11 kernels"),
                                              (3, 5, 8, 5, False, "5 kernels"), (2, 3, 6, 21, False, "21 kernels"),
                                              (3, 4, 7, 11, True, "an all-padding query row")]:
        q_mask = padding_mask(rng, b, lq, all_padding_row=empty)
        d_mask = padding_mask(rng, b, ld)
        m = np.tanh(rng.normal(size=(b, lq, ld)))
        m[rng.random(size=m.shape) < 0.1] = 1.0  # some exact matches
        m = m * q_mask[:, :, None] * d_mask[:, None, :]  # padding entries are 0, as cosine_matrix gives
        out.append(Case(name, {"M": tensor(m), "q_mask": tensor(q_mask), "d_mask": tensor(d_mask), **_kernels(n_kernels)}))
    d_mask = np.zeros((1, 4), dtype=np.int64)  # every soft-TF is 0, clamped to 1e-10 before the log
    out.append(Case("a document of padding only (log of 0 clamped)",
                    {"M": tensor(np.zeros((1, 2, 4))), "q_mask": tensor(np.ones((1, 2), dtype=np.int64)), "d_mask": tensor(d_mask), **_kernels(5)}))
    return out


def reference(M, q_mask, d_mask, mus, sigmas):
    return kernel_pooling(M, q_mask, d_mask, mus, sigmas)


def _tf(M, d_mask, mus, sigmas, use_mask=True):
    k = (-((M[..., None] - mus) ** 2) / (2 * sigmas**2)).exp()
    if use_mask:
        k = k * d_mask[:, None, :, None]
    return k.sum(2)  # (B, Lq, K)


def wrong_counts_padded_doc_tokens(M, q_mask, d_mask, mus, sigmas):
    return (0.01 * _tf(M, d_mask, mus, sigmas, use_mask=False).clamp(min=1e-10).log() * q_mask[:, :, None]).sum(1)


def wrong_sums_padded_query_tokens(M, q_mask, d_mask, mus, sigmas):
    return (0.01 * _tf(M, d_mask, mus, sigmas).clamp(min=1e-10).log()).sum(1)


def wrong_no_log(M, q_mask, d_mask, mus, sigmas):
    return (0.01 * _tf(M, d_mask, mus, sigmas) * q_mask[:, :, None]).sum(1)


def wrong_log_of_sum(M, q_mask, d_mask, mus, sigmas):
    return 0.01 * (_tf(M, d_mask, mus, sigmas) * q_mask[:, :, None]).sum(1).clamp(min=1e-10).log()


register(ExerciseCheck(
    id="knrm_pooling", title="KNRM kernel pooling: soft-TF and log-sum",
    practises="17_kernel_models — K-NRM (Day 10.2 §4.1)",
    cases=cases, reference=reference,
    hint="soft_tf[b, i, k] = sum over REAL doc tokens j of exp(-(M_bij - mu_k)^2 / (2 sigma_k^2)); "
         "phi[b, k] = 0.01 * sum over REAL query tokens i of log(max(soft_tf, 1e-10)).",
    wrong={
        "padded DOCUMENT tokens have M = 0, which the kernel around mu = 0 counts: multiply by d_mask before summing over j.":
            wrong_counts_padded_doc_tokens,
        "sum the log soft-TF only over REAL query tokens (multiply by q_mask).": wrong_sums_padded_query_tokens,
        "take the log of each query token's soft-TF (clamped to 1e-10) before summing over query tokens.": wrong_no_log,
        "log first, then sum: phi = sum_i log(soft_tf_i), not log(sum_i soft_tf_i).": wrong_log_of_sum,
    },
    blocks=(kernel_pooling, soft_tf, KNRM),
    atol=1e-6,
))
