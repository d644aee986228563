"""Retrieval collections: the BEIR and TREC formats, the course's datasets, synthetic data and augmentation.

``lessonlib.data`` is the public face of :mod:`lessonlib.data.datasets` (``load_dataset``, ``read_run``, ...);
synthetic vectors live in :mod:`lessonlib.data.synthetic`, augmentation in :mod:`lessonlib.data.augment`.
"""

from lessonlib.data.datasets import (
    FAST_SIZES,
    KNOWN_DATASETS,
    Dataset,
    carve_train_split,
    course_dataset,
    fetch,
    find_local,
    is_beir_folder,
    load_beir,
    load_dataset,
    locate_dataset,
    read_corpus,
    read_qrels,
    read_queries,
    read_run,
    relevant_pairs,
    sample_dir,
    split_queries,
    write_qrels,
    write_run,
)

__all__ = [
    "FAST_SIZES", "KNOWN_DATASETS", "Dataset", "carve_train_split", "course_dataset", "fetch", "find_local",
    "is_beir_folder", "load_beir", "load_dataset", "locate_dataset", "read_corpus", "read_qrels", "read_queries",
    "read_run", "relevant_pairs", "sample_dir", "split_queries", "write_qrels", "write_run",
]
