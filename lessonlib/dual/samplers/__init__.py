"""Negative samplers for dual-encoder training: configured once, called per batch.

Protocol (:class:`NegativeSampler`):

    negs = sampler.sample(query_ids, positive_ids, n)   # list[list[str]], n doc ids per query,
                                                        # never a known positive
    sampler.step(step, encode_fn)                       # per training step; True if state changed

| sampler | negatives | paper |
| --- | --- | --- |
| :class:`RandomNegatives` | uniform over the corpus | DPR baseline (Karpukhin et al. 2020) |
| :class:`BM25Negatives` | top of a BM25 run | DPR (Karpukhin et al. 2020) |
| :class:`InBatchNegatives` | the other queries' positives (+ :func:`in_batch_mask`) | Henderson et al. 2017 |
| :class:`DenseHardNegatives` | top of a dense run, false negatives filtered | RocketQA (Qu et al. 2021) |
| :class:`CrossBatchMemory` | embeddings of past batches (a FIFO queue) | XBM (Wang et al. 2020) |
| :class:`DynamicHardNegatives` | dense run refreshed every k steps | ANCE (Xiong et al. 2021) |
| :class:`CurriculumNegatives` | random -> hard over training | Bengio et al. 2009 |
| :class:`AdversarialNegatives` | current model's top wrong documents, live | ADORE (Zhan et al. 2021) |
"""

from lessonlib.dual.samplers.base import EncodeFn, NegativeSampler
from lessonlib.dual.samplers.curriculum import CurriculumNegatives
from lessonlib.dual.samplers.dynamic import AdversarialNegatives, DynamicHardNegatives
from lessonlib.dual.samplers.in_batch import InBatchNegatives, in_batch_mask
from lessonlib.dual.samplers.memory import CrossBatchMemory
from lessonlib.dual.samplers.random_negatives import RandomNegatives
from lessonlib.dual.samplers.ranked import BM25Negatives, DenseHardNegatives, RankedNegatives

__all__ = [
    "AdversarialNegatives",
    "BM25Negatives",
    "CrossBatchMemory",
    "CurriculumNegatives",
    "DenseHardNegatives",
    "DynamicHardNegatives",
    "EncodeFn",
    "InBatchNegatives",
    "NegativeSampler",
    "RandomNegatives",
    "RankedNegatives",
    "in_batch_mask",
]
