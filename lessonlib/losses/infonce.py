"""InfoNCE: softmax cross-entropy of the positive against in-batch and hard negatives."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lessonlib.losses._similarity import check_loss_similarity, pairwise_similarity, score_matrix


def _flatten_negatives(owner: str, neg: Tensor | None, batch: int, shared: bool = False) -> Tensor | None:
    if neg is None:
        return None
    if neg.dim() == 3:
        if neg.shape[0] != batch:
            raise ValueError(f"{owner}(neg): shape {tuple(neg.shape)} must be (B={batch}, n, d)")
        return neg.reshape(-1, neg.shape[-1])
    if neg.dim() == 2:
        if not shared and neg.shape[0] % batch:
            raise ValueError(f"{owner}(neg): {neg.shape[0]} rows is not a multiple of B={batch} (expected (B*n, d))")
        return neg
    raise ValueError(f"{owner}(neg): expected (B, n, d) or (B*n, d), got shape {tuple(neg.shape)}")


class InfoNCELoss(nn.Module):
    r"""InfoNCE with in-batch negatives (and optional hard negatives).

    For query i with positive p_i and the candidate set C = {p_1..p_B} ∪ {hard negatives}:

        loss_i = -log( exp(s(q_i, p_i) / τ) / Σ_{c ∈ C} exp(s(q_i, c) / τ) )

    averaged over the batch: a (B)-way classification whose correct class is the query's own
    positive. The other queries' positives are the "in-batch negatives" (Chen et al. 2020,
    SimCLR; Karpukhin et al. 2020, DPR). ``symmetric=True`` adds the document→query direction
    (each positive must pick its query among the B queries) and averages the two (CLIP;
    Radford et al. 2021). The temperature τ sets how peaked the softmax is: small τ focuses the
    gradient on the hardest negatives, large τ spreads it evenly (Wang & Liu 2021).

    Paper: van den Oord, Li & Vinyals 2018, "Representation Learning with Contrastive Predictive
    Coding" (the name and the mutual-information bound); Gutmann & Hyvärinen 2010 (NCE).

    Args:
        temperature: τ > 0; 0.05 (scale 20) is the sentence-transformers default.
        symmetric: also score doc→query and average the two directions.
        similarity: ``"cosine"`` | ``"ip"`` (inner product) | ``"l2"`` (-||a - b||², the negative squared
            L2 distance); names of :mod:`lessonlib.core.similarity`.
        share_negatives: if True (default, like sentence-transformers), every query sees every hard
            negative of the batch; if False, query i sees only its own n hard negatives (plus the
            in-batch positives).

    Inputs: ``q`` (B, d), ``pos`` (B, d), ``neg`` optional (B, n, d) or (B*n, d), rows grouped by
    query (with shared negatives any (m, d) works, e.g. a cross-batch memory), ``mask`` optional
    bool (B, C) over the C logit columns (see :meth:`logits`): False removes a candidate from the
    softmax (a known false negative, e.g. another query's positive that is also relevant to this
    query); the diagonal must stay True. Output: scalar.

    Example:
        >>> loss = InfoNCELoss(temperature=0.05)
        >>> loss(torch.randn(8, 16), torch.randn(8, 16)).shape
        torch.Size([])
    """

    def __init__(
        self,
        temperature: float = 0.05,
        symmetric: bool = False,
        similarity: str = "cosine",
        share_negatives: bool = True,
    ) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"InfoNCELoss(temperature={temperature}): temperature must be > 0")
        self.temperature = float(temperature)
        self.symmetric = symmetric
        self.similarity = check_loss_similarity(type(self).__name__, similarity)
        self.share_negatives = share_negatives

    def logits(self, q: Tensor, pos: Tensor, neg: Tensor | None = None) -> Tensor:
        """The query→candidate logits s/τ; the correct class of row i is column i.

        Shape (B, B + B*n) when negatives are shared, (B, B + n) otherwise (the first B columns
        are the positives, in batch order).
        """
        owner = type(self).__name__
        if q.dim() != 2 or pos.shape != q.shape:
            raise ValueError(f"{owner}(q, pos): expected two (B, d) tensors, got {tuple(q.shape)} and {tuple(pos.shape)}")
        batch = q.shape[0]
        flat = _flatten_negatives(owner, neg, batch, shared=self.share_negatives)
        scores = score_matrix(q, pos, self.similarity)
        if flat is not None:
            if self.share_negatives:
                scores = torch.cat([scores, score_matrix(q, flat, self.similarity)], dim=1)
            else:
                own = flat.reshape(batch, -1, flat.shape[-1])  # (B, n, d)
                scores = torch.cat([scores, pairwise_similarity(q.unsqueeze(1), own, self.similarity)], dim=1)
        return scores / self.temperature

    def forward(self, q: Tensor, pos: Tensor, neg: Tensor | None = None, mask: Tensor | None = None) -> Tensor:
        logits = self.logits(q, pos, neg)
        target = torch.arange(q.shape[0], device=q.device)
        if mask is not None:
            mask = torch.as_tensor(mask, dtype=torch.bool, device=logits.device)
            if mask.shape != logits.shape:
                raise ValueError(f"{type(self).__name__}(mask): expected shape {tuple(logits.shape)}, got {tuple(mask.shape)}")
            if not mask[target, target].all():
                raise ValueError(f"{type(self).__name__}(mask): mask[i, i] (each query's own positive) must be True")
            logits = logits.masked_fill(~mask, float("-inf"))
        loss = F.cross_entropy(logits, target)
        if self.symmetric:
            # doc -> query: positive j must pick query j among the B queries
            back = score_matrix(pos, q, self.similarity) / self.temperature
            if mask is not None:  # the same query/positive pairs are excluded in this direction
                back = back.masked_fill(~mask[:, : q.shape[0]].T, float("-inf"))
            loss = 0.5 * (loss + F.cross_entropy(back, target))
        return loss

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, symmetric={self.symmetric}, similarity={self.similarity!r}"
