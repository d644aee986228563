# exercise: mean_pooling_cosine
# function: mean_pooling_cosine
# practises: 01_foundations — pooling and similarity (Day 10.1 §1.2-1.3)
# title: Mean pooling with an attention mask, then cosine similarity

# %% [markdown]
# # Exercise 1 — Mean pooling with an attention mask, then cosine similarity
#
# **Practises:** notebook `01_foundations`, Day 10.1 §1.2–1.3 (separate encoding, pooling, similarity).
#
# A transformer gives one vector per token, `hidden` of shape (B, T, h), and the tokenizer gives a padding
# `mask` (B, T) with 1 for real tokens and 0 for padding. Sentence-BERT (Reimers & Gurevych, 2019) turns the
# token vectors into ONE text vector by **mean pooling over the real tokens**:
#
# $$e = \frac{\sum_t m_t\, h_t}{\max(\sum_t m_t,\ 10^{-9})}$$
#
# (an all-padding row gives the zero vector), and a dual encoder scores every query against every document
# with the **cosine similarity** $s(q, d) = \frac{q \cdot d}{\lVert q\rVert\, \lVert d\rVert}$ (0 when either
# vector is zero).
#
# Write `mean_pooling_cosine(q_hidden, q_mask, d_hidden, d_mask)` returning the tuple
# `(q_emb (Bq, h), d_emb (Bd, h), scores (Bq, Bd))` as torch tensors. Inputs are torch tensors (float64 hidden
# states, int64 masks).
#
# `check("mean_pooling_cosine", mean_pooling_cosine)` compares with `lessonlib.dual.encoders.Pooling("mean")` and
# `Similarity("cosine")` on named hidden cases: "one query, one document, one token", padded batches, "an
# all-padding document row", "a mask with holes, large values at padded positions", "identical documents (tied
# scores)". While your function runs, `Pooling` and `Similarity` cannot be called: the check stops them ("... is not
# available during this check"), because this exercise asks you to write it yourself. A failing case is shown by its
# name, with its inputs (summarised when large), the expected and your output, and a hint, the specific one when
# your output matches a classic mistake.

# %%
import torch
import torch.nn.functional as F

from lessonlib.workbook.checks import check


def mean_pooling_cosine(q_hidden: torch.Tensor, q_mask: torch.Tensor, d_hidden: torch.Tensor,
                        d_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # BEGIN SOLUTION
    def pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)

    q_emb, d_emb = pool(q_hidden, q_mask), pool(d_hidden, d_mask)
    scores = F.normalize(q_emb, dim=-1) @ F.normalize(d_emb, dim=-1).T
    return q_emb, d_emb, scores
    # END SOLUTION


# %%
result = check("mean_pooling_cosine", mean_pooling_cosine)
