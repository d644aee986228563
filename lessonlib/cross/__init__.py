"""Cross-encoders (monoBERT): joint encoding of (query, document), training, long documents, efficiency.

* ``model``: :class:`CrossEncoder` — ``[CLS] q [SEP] d [SEP]`` with segment embeddings, a head, ``score``.
* ``objectives``: pointwise / pairwise / listwise losses and mixes.
* ``data``: training lists (1 positive + n negatives) from BM25 / dense runs, weak supervision.
* ``train``: the training recipe on ``lessonlib.core.trainer.Trainer``.
* ``longdoc``: truncation, sliding windows (FirstP/MaxP/SumP), passage -> document, cascades.
* ``efficiency``: dynamic batching, int8 quantization, layer / head pruning, distillation.
* ``sparse_attention``: local / strided / random / top-k attention masks applied to the backbone.
* ``pooled``: :class:`PooledCrossEncoder`, scored by the cosine of its pooled query and document states.
"""

from lessonlib.cross.data import Group
from lessonlib.cross.model import CrossEncoder
from lessonlib.cross.pooled import PooledCrossEncoder  # registers the "pooled" scoring with CrossEncoder.load

__all__ = ["CrossEncoder", "Group", "PooledCrossEncoder"]
