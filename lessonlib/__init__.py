"""lessonlib: the library behind the Neural Retrieval Workbook.

Dual encoders (two towers) and cross-encoders (monoBERT-style rerankers), with the metrics,
BM25, ANN indexes, losses, samplers and trainers that the notebooks call. The public contract
(data shapes, names, command line) is described in the README.
"""

__version__ = "0.1.0"
