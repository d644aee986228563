"""MultipleNegativesRankingLoss: InfoNCE written with a scale (= 1 / temperature)."""

from __future__ import annotations

from lessonlib.losses.infonce import InfoNCELoss


class MultipleNegativesRankingLoss(InfoNCELoss):
    r"""In-batch softmax ranking loss with a *scale* instead of a temperature.

        loss_i = -log softmax_j( scale · s(q_i, c_j) )[i],   c = positives of the batch ++ hard negatives

    Identical to :class:`InfoNCELoss` with ``temperature = 1 / scale``; kept under this name because
    it is the one sentence-transformers uses (``scale=20`` ⇔ τ = 0.05), and its value equals
    ``sentence_transformers.losses.MultipleNegativesRankingLoss`` on the same embeddings.

    Use it for (query, positive) pairs or (query, positive, negatives...) tuples when the batch is
    the only source of negatives, or on top of mined hard negatives.

    Paper: Henderson et al. 2017, "Efficient Natural Language Response Suggestion for Smart Reply".

    Inputs: ``q`` (B, d), ``pos`` (B, d), ``neg`` optional (B, n, d) or (B*n, d). Output: scalar.

    Example:
        >>> MultipleNegativesRankingLoss(scale=20)(torch.randn(4, 8), torch.randn(4, 8)).ndim
        0
    """

    def __init__(self, scale: float = 20.0, similarity: str = "cosine", symmetric: bool = False) -> None:
        if not scale > 0:
            raise ValueError(f"MultipleNegativesRankingLoss(scale={scale}): scale must be > 0")
        super().__init__(temperature=1.0 / scale, symmetric=symmetric, similarity=similarity)
        self.scale = float(scale)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, symmetric={self.symmetric}, similarity={self.similarity!r}"
