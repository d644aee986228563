"""Exercise 21 (04_advanced_training §2.3): KL distillation over each query's candidates, with a temperature."""

from __future__ import annotations

import numpy as np

from lessonlib.losses import KLDistillationLoss
from lessonlib.losses.ranking import kl_distill
from lessonlib.workbook.checks.cases import tensor
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for name, b, n, tau, scale in [("one query, 2 candidates, T = 1", 1, 2, 1.0, 1.0),
                                   ("4 queries, 5 candidates, T = 1", 4, 5, 1.0, 2.0),
                                   ("T = 2 softens both distributions (and the loss is scaled by T^2)", 3, 8, 2.0, 3.0),
                                   ("T = 0.5 sharpens them", 3, 6, 0.5, 1.0),
                                   ("a cross-encoder teacher on another scale (logits ~ 10), T = 3", 2, 10, 3.0, 10.0)]:
        teacher = rng.normal(size=(b, n)) * scale
        student = 0.5 * teacher / scale + rng.normal(size=(b, n))
        out.append(Case(name, {"student_scores": tensor(student), "teacher_scores": tensor(teacher), "temperature": tau}))
    s = rng.normal(size=(2, 4))
    out.append(Case("the student equals the teacher: KL = 0", {"student_scores": tensor(s), "teacher_scores": tensor(s.copy()), "temperature": 1.0}))
    out.append(Case("the same scores shifted by a constant: softmax ignores shifts, KL = 0",
                    {"student_scores": tensor(s + 7.0), "teacher_scores": tensor(s), "temperature": 1.0}))
    out.append(Case("a teacher whose softmax is one-hot (0 log 0 = 0)",
                    {"student_scores": tensor(rng.normal(size=(2, 5))),
                     "teacher_scores": tensor(np.array([[800.0, 0, 0, 0, 0], [0, 0, 900.0, 1.0, 0]])), "temperature": 1.0}))
    out.append(Case("student scores of +-1000: log_softmax, not log(softmax)",
                    {"student_scores": tensor(np.array([[1000.0, 0.0, -1000.0], [0.0, 50.0, 800.0]])),
                     "teacher_scores": tensor(rng.normal(size=(2, 3))), "temperature": 1.0}))
    out.append(Case("a small temperature, T = 0.05: sharp, and no overflow",
                    {"student_scores": tensor(rng.normal(size=(3, 4))), "teacher_scores": tensor(rng.normal(size=(3, 4))), "temperature": 0.05}))
    out.append(Case("a uniform teacher (all scores equal)",
                    {"student_scores": tensor(rng.normal(size=(2, 6))), "teacher_scores": tensor(np.zeros((2, 6))), "temperature": 1.0}))
    return out


def reference(student_scores, teacher_scores, temperature):
    return KLDistillationLoss(temperature)(student_scores, teacher_scores)


def _terms(student, teacher, tau, naive_log=False):
    """p^T (log p^T - log p^S), elementwise (B, N)."""
    import torch
    import torch.nn.functional as F

    p_t = F.softmax(teacher / tau, dim=1)
    log_p_s = torch.log(F.softmax(student / tau, dim=1)) if naive_log else F.log_softmax(student / tau, dim=1)
    return torch.xlogy(p_t, p_t) - p_t * log_p_s


def wrong_no_t_squared(student_scores, teacher_scores, temperature):
    return _terms(student_scores, teacher_scores, temperature).sum(1).mean()


def wrong_student_first(student_scores, teacher_scores, temperature):
    return _terms(teacher_scores, student_scores, temperature).sum(1).mean() * temperature**2


def wrong_mean_over_all(student_scores, teacher_scores, temperature):
    return _terms(student_scores, teacher_scores, temperature).mean() * temperature**2


def wrong_log_of_softmax(student_scores, teacher_scores, temperature):
    return _terms(student_scores, teacher_scores, temperature, naive_log=True).sum(1).mean() * temperature**2


register(ExerciseCheck(
    id="kl_distillation_loss", title="KL distillation: match the teacher's softmax over the candidates",
    practises="04_advanced_training — 2. Distillation from a teacher: Margin-MSE and KL (Day 10.1 §2.3)",
    cases=cases, reference=reference,
    hint="p_T = softmax(teacher / T), log p_S = log_softmax(student / T) along the candidates (dim 1); per query "
         "sum_j p_T (log p_T - log p_S) with 0 log 0 = 0; average over the B queries; multiply by T^2.",
    wrong={
        "multiply the KL by T^2 (Hinton et al.): without it the gradients shrink as 1/T^2 when T grows.": wrong_no_t_squared,
        "you computed KL(student || teacher): the expectation is over the TEACHER's distribution, "
        "sum_j p^T_j (log p^T_j - log p^S_j).": wrong_student_first,
        "sum over the N candidates, then average over the B queries ('batchmean'), not a mean over all B*N terms.":
            wrong_mean_over_all,
        "log(softmax(s)) underflows to log 0 = -inf for scores far apart: use log_softmax.": wrong_log_of_softmax,
    },
    blocks=(KLDistillationLoss, kl_distill),
    atol=1e-6,
))
