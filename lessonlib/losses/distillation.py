"""Distillation losses: learn a teacher's scores (margins, distributions) or embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessonlib.losses._similarity import check_loss_similarity, pairwise_similarity


class MarginMSELoss(nn.Module):
    r"""Margin-MSE: regress the student's score margin onto the teacher's.

        loss = mean_{i, j} ( [s(q_i, p_i) − s(q_i, n_ij)] − [t(q_i, p_i) − t(q_i, n_ij)] )²

    The student only has to reproduce the teacher's *gap* between the positive and each negative,
    not its absolute scores, so a dual encoder can learn from a cross-encoder whose scores live on
    another scale. Teacher margins are computed once, offline.

    Paper: Hofstätter et al. 2020, "Improving Efficient Neural Ranking Models with Cross-Architecture
    Knowledge Distillation". Equals ``sentence_transformers.losses.MarginMSELoss`` (inner product).

    Args:
        similarity: the student score; ``"ip"`` (inner product: default, as in the paper and ST) |
            ``"cosine"`` | ``"l2"`` (see :mod:`lessonlib.core.similarity`).

    Inputs: ``q`` (B, d), ``pos`` (B, d), ``neg`` (B, d) or (B, n, d), ``teacher_margin`` (B,) or
    (B, n), or teacher scores (B, n + 1) [positive first] from which the margins are taken.
    Output: scalar.

    Example:
        >>> MarginMSELoss()(torch.randn(4, 8), torch.randn(4, 8), torch.randn(4, 8), torch.randn(4)).ndim
        0
    """

    def __init__(self, similarity: str = "ip") -> None:
        super().__init__()
        self.similarity = check_loss_similarity(type(self).__name__, similarity)

    def forward(self, q: Tensor, pos: Tensor, neg: Tensor, teacher_margin: Tensor) -> Tensor:
        if neg.dim() == 2:
            neg = neg.unsqueeze(1)
        b, n = q.shape[0], neg.shape[1]
        teacher_margin = torch.as_tensor(teacher_margin, dtype=q.dtype, device=q.device).detach()
        if teacher_margin.shape == (b, n + 1):  # teacher scores: positive first, then the negatives
            teacher_margin = teacher_margin[:, :1] - teacher_margin[:, 1:]
        teacher_margin = teacher_margin.reshape(b, -1) if teacher_margin.numel() == b * n else teacher_margin
        if teacher_margin.shape != (b, n):
            raise ValueError(
                f"{type(self).__name__}(teacher_margin): expected shape ({b},) / ({b}, {n}) margins or "
                f"({b}, {n + 1}) scores, got {tuple(teacher_margin.shape)}"
            )
        s_pos = pairwise_similarity(q, pos, self.similarity).unsqueeze(1)
        s_neg = pairwise_similarity(q.unsqueeze(1), neg, self.similarity)
        return F.mse_loss(s_pos - s_neg, teacher_margin)


class KLDistillationLoss(nn.Module):
    r"""KL divergence from the teacher's softmax over candidates to the student's.

        p^T = softmax(t / τ),  log p^S = log_softmax(s / τ)
        loss = τ² · (1/B) Σ_i Σ_j p^T_ij (log p^T_ij − log p^S_ij)

    Matches the whole ranking distribution of the teacher over each query's candidates (listwise),
    not just one margin. The τ² factor keeps gradient magnitudes comparable across temperatures
    (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network"); for dense
    retrieval, e.g. RocketQAv2 (Ren et al. 2021) and TAS-B (Hofstätter et al. 2021).
    Equals ``sentence_transformers.losses.DistillKLDivLoss`` on the same scores.

    Args:
        temperature: τ > 0 applied to both student and teacher scores.

    Inputs: ``student_scores`` (B, N), ``teacher_scores`` (B, N) for the same N candidates per
    query (N ≥ 2). Output: scalar.

    Example:
        >>> KLDistillationLoss(1.0)(torch.randn(4, 5), torch.randn(4, 5)).ndim
        0
    """

    def __init__(self, temperature: float = 1.0) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"KLDistillationLoss(temperature={temperature}): temperature must be > 0")
        self.temperature = float(temperature)

    def forward(self, student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
        teacher_scores = torch.as_tensor(teacher_scores, dtype=student_scores.dtype, device=student_scores.device)
        if student_scores.dim() != 2 or teacher_scores.shape != student_scores.shape or student_scores.shape[1] < 2:
            raise ValueError(
                f"{type(self).__name__}: expected student and teacher scores of one shape (B, N>=2), got "
                f"{tuple(student_scores.shape)} and {tuple(teacher_scores.shape)}"
            )
        log_p_s = F.log_softmax(student_scores / self.temperature, dim=1)
        p_t = F.softmax(teacher_scores.detach() / self.temperature, dim=1)
        return F.kl_div(log_p_s, p_t, reduction="batchmean") * self.temperature**2


class EmbeddingMSELoss(nn.Module):
    r"""Mean squared error between student and teacher embeddings.

        loss = (1 / (B·d)) Σ_i ||e^S_i − e^T_i||²

    Makes a student reproduce a teacher's vector space (e.g. a smaller model, or a new language):
    Reimers & Gurevych 2020, "Making Monolingual Sentence Embeddings Multilingual using Knowledge
    Distillation". Equals ``sentence_transformers.losses.MSELoss``.

    Inputs: ``student`` (B, d), ``teacher`` (B, d). Output: scalar.
    """

    def forward(self, student: Tensor, teacher: Tensor) -> Tensor:
        teacher = torch.as_tensor(teacher, dtype=student.dtype, device=student.device).detach()
        if teacher.shape != student.shape:
            raise ValueError(
                f"{type(self).__name__}: student {tuple(student.shape)} and teacher {tuple(teacher.shape)} must match"
            )
        return F.mse_loss(student, teacher)


def candidate_scores(q: Tensor, docs: Tensor, similarity: str = "ip") -> Tensor:
    """Student scores of each query against its own candidates: q (B, d), docs (B, N, d) -> (B, N)."""
    check_loss_similarity("candidate_scores", similarity)
    return pairwise_similarity(q.unsqueeze(1), docs, similarity)
