"""Exercise 1 (01_foundations §1.2-1.3): mean pooling with an attention mask, then cosine similarity."""

from __future__ import annotations

import numpy as np

from lessonlib.dual.encoders import Pooling, Similarity
from lessonlib.workbook.checks.cases import padding_mask, tensor
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    shapes = [(1, 1, 1, 3, False, "one query, one document, one token"), (2, 3, 5, 4, False, "padded batch 1"),
              (4, 6, 9, 8, False, "padded batch 2"), (3, 5, 7, 16, False, "padded batch 3"),
              (2, 4, 6, 4, True, "an all-padding document row"), (1, 3, 4, 5, True, "an all-padding row, one query")]
    for bq, bd, t, h, empty_row, name in shapes:
        q_mask = padding_mask(rng, bq, t)
        d_mask = padding_mask(rng, bd, t + 2, all_padding_row=empty_row)
        out.append(Case(name, {"q_hidden": tensor(rng.normal(size=(bq, t, h))), "q_mask": tensor(q_mask),
                               "d_hidden": tensor(rng.normal(size=(bd, t + 2, h))), "d_mask": tensor(d_mask)}))
    hidden = rng.normal(size=(2, 6, 4)) * 1000
    out.append(Case("a mask with holes, large values at padded positions",
                    {"q_hidden": tensor(hidden), "q_mask": tensor(np.array([[1, 0, 1, 0, 1, 0], [0, 1, 1, 1, 0, 0]])),
                     "d_hidden": tensor(rng.normal(size=(2, 6, 4))), "d_mask": tensor(np.ones((2, 6), dtype=np.int64))}))
    same = rng.normal(size=(1, 4, 3))
    out.append(Case("identical documents (tied scores)",
                    {"q_hidden": tensor(rng.normal(size=(1, 4, 3))), "q_mask": tensor(np.ones((1, 4), dtype=np.int64)),
                     "d_hidden": tensor(np.concatenate([same, same])), "d_mask": tensor(np.ones((2, 4), dtype=np.int64))}))
    return out


def reference(q_hidden, q_mask, d_hidden, d_mask):
    pool = Pooling("mean")
    q, d = pool(q_hidden, q_mask), pool(d_hidden, d_mask)
    return q, d, Similarity("cosine")(q, d)


def _masked_mean(hidden, mask):
    m = mask[:, :, None].to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def _cosine(q, d):
    import torch.nn.functional as F

    return F.normalize(q, dim=-1) @ F.normalize(d, dim=-1).T


def wrong_mean_over_padding(q_hidden, q_mask, d_hidden, d_mask):
    q, d = q_hidden.mean(1), d_hidden.mean(1)
    return q, d, _cosine(q, d)


def wrong_not_normalised(q_hidden, q_mask, d_hidden, d_mask):
    q, d = _masked_mean(q_hidden, q_mask), _masked_mean(d_hidden, d_mask)
    return q, d, q @ d.T


def wrong_normalised_embeddings(q_hidden, q_mask, d_hidden, d_mask):
    import torch.nn.functional as F

    q, d = F.normalize(_masked_mean(q_hidden, q_mask), dim=-1), F.normalize(_masked_mean(d_hidden, d_mask), dim=-1)
    return q, d, q @ d.T


def wrong_divides_by_length(q_hidden, q_mask, d_hidden, d_mask):
    q = (q_hidden * q_mask[:, :, None]).sum(1) / q_hidden.shape[1]
    d = (d_hidden * d_mask[:, :, None]).sum(1) / d_hidden.shape[1]
    return q, d, _cosine(q, d)


register(ExerciseCheck(
    id="mean_pooling_cosine", title="Mean pooling with an attention mask, then cosine similarity",
    practises="01_foundations — pooling and similarity (Day 10.1 §1.2-1.3)",
    cases=cases, reference=reference,
    hint="multiply the token vectors by the mask (B, T, 1) before summing and divide by the number of REAL "
         "tokens (clamped to >= 1e-9 so an all-padding row gives the zero vector); cosine = dot product of "
         "L2-normalised rows (a zero vector stays zero, F.normalize does this).",
    wrong={
        "you averaged over ALL positions, padding included: multiply by the mask before summing and divide by "
        "the number of real tokens.": wrong_mean_over_padding,
        "the scores are plain dot products: cosine divides by both norms (F.normalize the rows first).": wrong_not_normalised,
        "return the pooled embeddings themselves, not L2-normalised ones: normalise only to compute the scores.":
            wrong_normalised_embeddings,
        "you divided by the padded length T: divide by the number of real tokens, mask.sum(1).": wrong_divides_by_length,
    },
    blocks=(Pooling, Similarity),
    atol=1e-6,
))
