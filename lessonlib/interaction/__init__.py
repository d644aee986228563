"""Interaction models: rankers that look at every query token against every document token.

| module | model | paper |
| --- | --- | --- |
| ``matrix`` | token embeddings (MiniLM's), the cosine interaction matrix | Guo et al. 2016 (DRMM) |
| ``knrm`` | K-NRM: Gaussian kernels, soft-TF, log-sum pooling | Xiong et al. 2017 |
| ``conv_knrm`` | Conv-KNRM: n-gram convolutions, cross-matched uni/bi/tri-grams | Dai et al. 2018 |
| ``ntn`` | neural tensor layer q^T W^[1:k] d + V[q; d] + b, full, low-rank per slice, CP over slices | Socher et al. 2013; Kolda & Bader 2009 |
| ``coattention`` | query->doc and doc->query attention | Seo et al. 2017 (BiDAF); Xiong et al. 2017 (DCN) |
| ``hierarchical`` | word -> sentence -> document query-focused attention | Yang et al. 2016 (HAN) |
| ``train`` | BM25 candidates, listwise training with lessonlib.core.trainer, reranking, interpolation | |

Every model has ``forward(query_ids, query_mask, doc_ids, doc_mask) -> scores (B,)``.
"""

from lessonlib.interaction.coattention import CoAttentionRanker
from lessonlib.interaction.conv_knrm import ConvKNRM
from lessonlib.interaction.hierarchical import HierarchicalAttentionRanker
from lessonlib.interaction.knrm import KNRM, kernel_mus, kernel_pooling, kernel_sigmas, soft_tf
from lessonlib.interaction.matrix import (
    TokenEmbedding,
    cosine_matrix,
    count_parameters,
    interaction_matrix,
    load_tokenizer,
)
from lessonlib.interaction.ntn import CPTensorLayer, NeuralTensorLayer, NTNRanker, cp_rank_for

__all__ = [
    "KNRM",
    "ConvKNRM",
    "CPTensorLayer",
    "CoAttentionRanker",
    "HierarchicalAttentionRanker",
    "NTNRanker",
    "NeuralTensorLayer",
    "TokenEmbedding",
    "cosine_matrix",
    "count_parameters",
    "cp_rank_for",
    "interaction_matrix",
    "kernel_mus",
    "kernel_pooling",
    "kernel_sigmas",
    "load_tokenizer",
    "soft_tf",
]
