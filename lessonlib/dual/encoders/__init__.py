"""Dual-encoder models: towers, pooling, similarity functions and the two-tower model.

- :mod:`~lessonlib.dual.encoders.pooling`: ``Pooling`` (cls | mean | max | attention)
- :mod:`~lessonlib.dual.encoders.similarity`: ``Similarity`` (ip | cosine | l2 | bilinear; names from :mod:`lessonlib.core.similarity`)
- :mod:`~lessonlib.dual.encoders.towers`: ``TransformerTower``, ``BiLSTMTower``, ``CNNTower``
- :mod:`~lessonlib.dual.encoders.dual`: ``DualEncoder`` (shared or asymmetric towers, projection head,
  normalisation, save/load in sentence-transformers format)

>>> from lessonlib.dual.encoders import DualEncoder
>>> model = DualEncoder.from_pretrained("sentence-transformers/all-MiniLM-L6-v2", pooling="mean")
"""

from lessonlib.dual.encoders.dual import DualEncoder
from lessonlib.dual.encoders.pooling import POOLING_MODES, Pooling
from lessonlib.dual.encoders.similarity import SIMILARITIES, Similarity, similarity_matrix
from lessonlib.dual.encoders.towers import BiLSTMTower, CNNTower, TransformerTower

__all__ = [
    "DualEncoder",
    "Pooling",
    "POOLING_MODES",
    "Similarity",
    "SIMILARITIES",
    "similarity_matrix",
    "TransformerTower",
    "BiLSTMTower",
    "CNNTower",
]
