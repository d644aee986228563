"""A cross-encoder that scores with the cosine of its pooled query and document segments.

monoBERT (Nogueira & Cho 2019) reads ``[CLS] q [SEP] d [SEP]`` in one pass and scores the [CLS]
vector with a freshly initialised linear head, so it ranks at random until it has been trained
for thousands of steps — more than a CPU affords. This variant keeps the joint pass (every token
attends across query and document in every layer) and replaces the head with the scoring rule of
the sentence-embedding model it starts from (mean pooling + cosine, Reimers & Gurevych 2019)::

    h = Transformer([CLS] q [SEP] d [SEP])                   (B, L, H), one joint pass
    m_q = mean of h over query tokens (token type 0, [CLS] excluded)
    m_d = mean of h over document tokens (token type 1)
    score = scale * cos(m_q, m_d)                            (B,)

Started from all-MiniLM-L6-v2 it ranks sensibly with no cross-encoder training at all (close to
the dual encoder, which encodes q and d apart), and every ranking loss of
``lessonlib.cross.train`` fine-tunes it from there. No parameters are added, so ``save``/``load``
and every tool of ``lessonlib.cross`` (windows, pruning, int8, distillation, sparse attention)
work unchanged.

>>> ce = PooledCrossEncoder(max_length=128)
>>> ce.score("vitamin D lowers fracture risk", ["Vitamin D supplements cut fractures.", "Cats purr."])
array([...], dtype=float32)   # the first is higher
"""

from __future__ import annotations

import torch

from lessonlib.cross.model import CrossEncoder


class PooledCrossEncoder(CrossEncoder):
    """``CrossEncoder`` whose score is ``scale * cos(mean query states, mean document states)``.

    Args: those of :class:`CrossEncoder`, plus ``scale`` (the inverse temperature of the listwise
    softmax when training; 20 as sentence-transformers' MultipleNegativesRankingLoss; a saved model
    keeps its own unless ``scale`` is given).
    """

    scoring = "pooled"

    def __init__(self, *args, scale: float | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.scale = float(scale if scale is not None else getattr(self.model.config, "lessonlib_pooled_scale", 20.0))

    def _save_config_extras(self, cfg) -> None:
        cfg.lessonlib_pooled_scale = self.scale

    def forward(self, **features: torch.Tensor) -> torch.Tensor:
        """Tokenised batch -> (B,) scores. ``attention_mask`` may be (B, L) or an additive (B, 1, L, L)."""
        h = self.model.base_model(**features).last_hidden_state.float()  # (B, L, H); fp32 pooling and cosine
        mask = features.get("attention_mask")
        if mask is None or mask.dim() != 2:  # a 4-D mask (sparse attention): real tokens are the non-pad ids
            real = features["input_ids"] != (self.tokenizer.pad_token_id or 0)
        else:
            real = mask.bool()
        types = features.get("token_type_ids")
        if types is None:
            raise ValueError("PooledCrossEncoder: token_type_ids are needed to tell the query from the document")
        q = real & (types == 0)
        q[:, 0] = False  # [CLS]
        d = real & (types == 1)
        m_q = (h * q[..., None]).sum(1) / q.sum(1, keepdim=True).clamp_min(1)
        m_d = (h * d[..., None]).sum(1) / d.sum(1, keepdim=True).clamp_min(1)
        return self.scale * torch.nn.functional.cosine_similarity(m_q, m_d, dim=-1)
