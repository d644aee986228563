"""Exercise 16 (04_advanced_training §2.3): one Margin-MSE distillation step, loss and gradient."""

from __future__ import annotations

import numpy as np

from lessonlib.losses import MarginMSELoss
from lessonlib.losses.ranking import margin_mse
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for b, n, name in [(1, 1, "one query, one negative"), (2, 1, "two queries"), (4, 3, "4 queries, 3 negatives"),
                       (8, 7, "8 queries, 7 negatives"), (3, 5, "more negatives than queries")]:
        out.append(Case(name, {"student_pos": rng.normal(size=b), "student_neg": rng.normal(size=(b, n)),
                               "teacher_pos": 5 + 3 * rng.normal(size=b), "teacher_neg": 3 * rng.normal(size=(b, n))}))
    s_pos, s_neg = rng.normal(size=3), rng.normal(size=(3, 2))
    out.append(Case("same margins as the teacher (shifted scores): loss 0",
                    {"student_pos": s_pos, "student_neg": s_neg, "teacher_pos": s_pos + 10, "teacher_neg": s_neg + 10}))
    out.append(Case("all-zero student, all-one teacher", {"student_pos": np.zeros(2), "student_neg": np.zeros((2, 2)),
                                                          "teacher_pos": np.ones(2), "teacher_neg": np.ones((2, 2))}))
    return out


def reference(student_pos, student_neg, teacher_pos, teacher_neg):
    import torch

    # With the dot product and a 1-d "query" of 1, a 1-d document embedding IS its score:
    # s(q, d) = 1 * d. So gradients wrt these embeddings are gradients wrt the student scores.
    s_pos = torch.tensor(np.asarray(student_pos, np.float64)[:, None], requires_grad=True)  # (B, 1)
    s_neg = torch.tensor(np.asarray(student_neg, np.float64)[:, :, None], requires_grad=True)  # (B, n, 1)
    teacher_margin = torch.tensor(np.asarray(teacher_pos, np.float64)[:, None] - np.asarray(teacher_neg, np.float64))
    loss = MarginMSELoss(similarity="ip")(torch.ones_like(s_pos), s_pos, s_neg, teacher_margin)
    loss.backward()
    return {"loss": float(loss.detach()), "grad_pos": s_pos.grad[:, 0].numpy(), "grad_neg": s_neg.grad[:, :, 0].numpy()}


def _diff(student_pos, student_neg, teacher_pos, teacher_neg):
    return (student_pos[:, None] - student_neg) - (teacher_pos[:, None] - teacher_neg)


def wrong_no_mean_in_gradient(student_pos, student_neg, teacher_pos, teacher_neg):
    diff = _diff(student_pos, student_neg, teacher_pos, teacher_neg)
    return {"loss": float((diff**2).mean()), "grad_pos": 2 * diff.sum(1), "grad_neg": -2 * diff}


def wrong_gradient_sign(student_pos, student_neg, teacher_pos, teacher_neg):
    diff = _diff(student_pos, student_neg, teacher_pos, teacher_neg)
    scale = 2 / diff.size
    return {"loss": float((diff**2).mean()), "grad_pos": -scale * diff.sum(1), "grad_neg": scale * diff}


def wrong_mean_over_queries_only(student_pos, student_neg, teacher_pos, teacher_neg):
    diff = _diff(student_pos, student_neg, teacher_pos, teacher_neg)
    b = len(diff)
    return {"loss": float((diff**2).sum() / b), "grad_pos": 2 * diff.sum(1) / b, "grad_neg": -2 * diff / b}


register(ExerciseCheck(
    id="margin_mse_step", title="One Margin-MSE distillation step: loss and gradient",
    practises="04_advanced_training — knowledge distillation (Day 10.1 §2.3)",
    cases=cases, reference=reference,
    hint="diff_ij = (s_pos_i - s_neg_ij) - (t_pos_i - t_neg_ij); loss = mean over all B*n of diff^2; "
         "dloss/ds_pos_i = sum_j 2 diff_ij / (B n); dloss/ds_neg_ij = -2 diff_ij / (B n).",
    wrong={
        "the loss is a MEAN over the B*n pairs, so its gradient carries the factor 1 / (B n) too.": wrong_no_mean_in_gradient,
        "check the gradients' signs: raising s_pos raises diff (dloss/ds_pos = +2 diff / (B n)), raising s_neg lowers it.":
            wrong_gradient_sign,
        "average over ALL B*n (query, negative) pairs, not only over the B queries.": wrong_mean_over_queries_only,
    },
    blocks=(MarginMSELoss, margin_mse),
    atol=1e-9,
))
