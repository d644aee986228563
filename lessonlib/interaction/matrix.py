"""The interaction-matrix view: token embeddings and the query x document cosine matrix.

Interaction models (Guo et al. 2016, DRMM; Xiong et al. 2017, K-NRM; Dai et al. 2018, Conv-KNRM)
do not compress query and document into one vector each. They build the matrix

    M[i, j] = cos(e(q_i), e(d_j)),    M in [-1, 1]^(Lq x Ld)

of every query token against every document token, and learn a function of that matrix.
Exact matches give 1.0; related words give values between 0 and 1.

Word embeddings start from the MiniLM (all-MiniLM-L6-v2) input embedding matrix, indexed by its
WordPiece vocabulary, so the models work with little training data; ``freeze`` picks whether they
are fine-tuned.

>>> emb = TokenEmbedding.from_minilm(freeze=True)
>>> tok = load_tokenizer()
>>> M, q_tokens, d_tokens = interaction_matrix("aspirin heart", "Aspirin reduces heart attacks.", tok, emb)
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from lessonlib.core import config
from lessonlib.core.hub import resolve_model


def minilm_path(name: str = config.DEFAULT_MODEL) -> Path:
    """Local folder of the MiniLM model (through ``lessonlib.core.hub.resolve_model``)."""
    return resolve_model(name)


def load_tokenizer(name: str = config.DEFAULT_MODEL):
    """The WordPiece tokenizer of ``name`` (default all-MiniLM-L6-v2)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(minilm_path(name)))


def load_word_embeddings(name: str = config.DEFAULT_MODEL) -> torch.Tensor:
    """The input word-embedding matrix (vocab, dim) of a BERT-style model, read from safetensors only."""
    from safetensors import safe_open

    path = minilm_path(name) / "model.safetensors"
    with safe_open(str(path), framework="pt") as handle:
        keys = [k for k in handle.keys() if k.endswith("word_embeddings.weight")]
        if not keys:
            raise KeyError(f"load_word_embeddings({name!r}): no '*word_embeddings.weight' tensor in {path}")
        return handle.get_tensor(keys[0]).float().clone()


class TokenEmbedding(nn.Module):
    """Token ids (B, L) -> vectors (B, L, dim), with padding positions set to zero.

    ``freeze=True`` keeps the pretrained vectors fixed (few parameters to learn, good with little data);
    ``freeze=False`` fine-tunes them.
    """

    def __init__(self, weight: torch.Tensor, freeze: bool = True):
        super().__init__()
        if weight.ndim != 2:
            raise ValueError(f"TokenEmbedding(weight): expected a 2-D (vocab, dim) tensor, got shape {tuple(weight.shape)}")
        self.freeze = freeze
        self.weight = nn.Parameter(weight.clone().float(), requires_grad=not freeze)

    @classmethod
    def from_minilm(cls, freeze: bool = True, name: str = config.DEFAULT_MODEL) -> "TokenEmbedding":
        return cls(load_word_embeddings(name), freeze=freeze)

    @property
    def dim(self) -> int:
        return self.weight.shape[1]

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        out = nn.functional.embedding(ids, self.weight)
        if mask is not None:
            out = out * mask.unsqueeze(-1).to(out.dtype)
        return out


def cosine_matrix(q: torch.Tensor, q_mask: torch.Tensor, d: torch.Tensor, d_mask: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of every query vector with every document vector.

    q (B, Lq, D), d (B, Ld, D), masks (B, Lq) / (B, Ld) with 1 for real tokens.
    Returns M (B, Lq, Ld); entries that involve a padding position are 0.
    """
    qn = nn.functional.normalize(q, dim=-1, eps=1e-8)
    dn = nn.functional.normalize(d, dim=-1, eps=1e-8)
    M = qn @ dn.transpose(1, 2)
    return M * q_mask.unsqueeze(2).to(M.dtype) * d_mask.unsqueeze(1).to(M.dtype)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def interaction_matrix(query: str, doc: str, tokenizer, embedding: TokenEmbedding, max_doc_tokens: int = 64):
    """The cosine interaction matrix of one (query, doc) pair for plotting.

    Returns ``(M, query_tokens, doc_tokens)`` with M a numpy array (Lq, Ld).
    """
    q_ids = tokenizer(query, add_special_tokens=False)["input_ids"]
    d_ids = tokenizer(doc, add_special_tokens=False, truncation=True, max_length=max_doc_tokens)["input_ids"]
    with torch.no_grad():
        q = embedding(torch.tensor([q_ids]))
        d = embedding(torch.tensor([d_ids]))
        M = cosine_matrix(q, torch.ones(1, len(q_ids)), d, torch.ones(1, len(d_ids)))[0]
    return M.numpy(), tokenizer.convert_ids_to_tokens(q_ids), tokenizer.convert_ids_to_tokens(d_ids)
