"""lessonlib: the library behind the Neural Retrieval Workbook.

One package per part of the course (the notebooks that teach each are named in its modules' docstrings):

- ``core``: settings, atomic files, downloads, models by name, runs in trec_eval's order, the training loop,
  the embedding cache.
- ``data``: BEIR/TREC collections (``load_dataset``, ``read_run``), synthetic vectors, augmentation.
- ``losses``: one module per loss, dual-encoder losses and the cross-encoder's ranking objectives.
- ``retrieval``: BM25, fusion, candidates, re-ranking, cascades and routing.
- ``dual``: dual encoders (Day 10.1): towers, negative samplers, training, distillation, late interaction.
- ``index``: vector indexes behind one protocol, the ANN benchmark, serving, dimensionality reduction.
- ``cross``: cross-encoders (Day 10.2): the model, its data and training, long documents, efficiency.
- ``interaction``: KNRM, Conv-KNRM, NTN, co-attention and hierarchical rankers.
- ``evaluation``: trec_eval's measures (``evaluate``), significance, calibration, cost and trade-offs.
- ``tasks``: claim verification, recommendation, cross-modal retrieval, specification matching.
- ``workbook``: the command line, sliders, key results, exercises, checks and grading.

The public contract (data shapes, names, command line) is described in the README.
"""

__version__ = "0.2.0"
