"""Towers: one encoder each, texts -> one vector per text (B, dim).

A dual encoder has two towers (query, document) that may be the same module. Every tower here
shares one interface:

- ``tokenizer``: a Hugging Face tokenizer (the pretrained one, also for towers trained from scratch);
- ``tokenize(texts, max_length) -> dict`` of ``input_ids`` / ``attention_mask`` (B, T) tensors,
  truncating to ``max_length`` tokens (special tokens included) and padding to the longest text;
- ``forward(batch) -> Tensor (B, dim)``; ``dim``.

Towers:

- :class:`TransformerTower`: a pretrained transformer (transformers' ``AutoModel``) + :class:`Pooling`
  (Sentence-BERT; Reimers & Gurevych, 2019).
- :class:`BiLSTMTower`: embeddings trained from scratch over the pretrained vocabulary, a
  bidirectional LSTM (Hochreiter & Schmidhuber, 1997), then pooling.
- :class:`CNNTower`: embeddings from scratch, 1-D convolutions of several widths with max-over-time
  pooling (Kim, 2014; as in the CNN dual encoders of Shen et al., 2014 "CLSM").
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property

import torch
from torch import nn

from lessonlib.dual.encoders.pooling import Pooling
from lessonlib.core.hub import quiet_transformers, resolve_model


def _clean(texts: Sequence[str] | str, where: str) -> list[str]:
    if isinstance(texts, str):
        raise TypeError(f"{where}: texts must be a list of strings, got one str (wrap it in a list)")
    out = []
    for i, t in enumerate(texts):
        if t is None:
            t = ""
        if not isinstance(t, str):
            raise TypeError(f"{where}: texts[{i}] must be str, got {type(t).__name__}")
        out.append(t.strip())  # sentence-transformers strips too: same tokens, same vectors
    return out


def _tokenizer_folder(name: str | os.PathLike) -> str:
    """A folder with tokenizer files: ``name`` itself if it is a directory, else the resolved model."""
    from pathlib import Path

    return str(name) if Path(name).is_dir() else str(resolve_model(name))


class TokenizerMixin:
    """Tokenising once without truncation, then truncating/padding per batch (counting what was cut).

    ``pretokenize`` returns full token id lists (special tokens included) so that callers can sort
    by length; ``collate`` truncates each to ``max_length`` keeping the trailing special token(s)
    exactly as the tokenizer's own ``truncation=True`` does for a single text.
    """

    tokenizer: object
    max_length: int
    last_truncated: int = 0  # texts cut by the last tokenize()/collate() call

    @cached_property
    def _special_layout(self) -> tuple[int, int]:
        """(number of special tokens before the text, number after), e.g. (1, 1) for [CLS] x [SEP]."""
        tok = self.tokenizer
        full = tok("hello", add_special_tokens=True)["input_ids"]
        bare = tok("hello", add_special_tokens=False)["input_ids"]
        for start in range(len(full) - len(bare) + 1):
            if full[start : start + len(bare)] == bare:
                return start, len(full) - start - len(bare)
        return 0, 0  # pragma: no cover - unusual tokenizer: no special tokens

    def pretokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Full token ids of each text (no truncation, no padding)."""
        texts = _clean(texts, "pretokenize")
        if not texts:
            return []
        with quiet_transformers():  # no "longer than the maximum" warning per text
            return self.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]

    def collate(self, ids: Sequence[list[int]], max_length: int | None = None) -> dict[str, torch.Tensor]:
        """Truncate each id list to ``max_length`` and pad to the longest: (B, T) tensors."""
        max_length = max_length or self.max_length
        head, tail = self._special_layout
        if max_length < head + tail + 1:
            raise ValueError(f"collate(max_length={max_length}): must be >= {head + tail + 1}")
        cut = []
        n_truncated = 0
        for row in ids:
            if len(row) > max_length:
                n_truncated += 1
                row = list(row[: max_length - tail]) + (list(row[-tail:]) if tail else [])
            cut.append(row)
        self.last_truncated = n_truncated
        width = max((len(r) for r in cut), default=0)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.full((len(cut), width), pad, dtype=torch.long)
        mask = torch.zeros((len(cut), width), dtype=torch.long)
        for i, row in enumerate(cut):
            input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[i, : len(row)] = 1
        return {"input_ids": input_ids, "attention_mask": mask}

    def tokenize(self, texts: Sequence[str], max_length: int | None = None) -> dict[str, torch.Tensor]:
        """Texts -> padded (B, T) ``input_ids`` and ``attention_mask`` on the tower's device."""
        batch = self.collate(self.pretokenize(texts), max_length)
        device = next(self.parameters()).device  # type: ignore[attr-defined]
        return {k: v.to(device) for k, v in batch.items()}


class TransformerTower(TokenizerMixin, nn.Module):
    """A pretrained transformer + pooling: texts -> (B, hidden) vectors.

    ``name_or_path`` is resolved offline by :func:`lessonlib.core.hub.resolve_model`.
    ``attn_implementation="sdpa"`` uses PyTorch's fused scaled-dot-product attention.
    """

    kind = "transformer"

    def __init__(
        self,
        name_or_path: str | os.PathLike,
        pooling: str = "mean",
        max_length: int = 256,
        attn_implementation: str | None = "sdpa",
    ) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        path = resolve_model(name_or_path)
        self.source = str(name_or_path)
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        # float32 weights whatever the checkpoint was saved in (transformers 5 keeps a float16
        # checkpoint in float16, and training float16 weights with Adam overflows to NaN).
        kwargs = {"attn_implementation": attn_implementation} if attn_implementation else {}
        with quiet_transformers():  # no weight-loading bar
            try:
                self.model = AutoModel.from_pretrained(str(path), dtype=torch.float32, **kwargs)
            except (ValueError, ImportError):  # architecture without SDPA support
                self.model = AutoModel.from_pretrained(str(path), dtype=torch.float32)
        self.max_length = int(max_length)
        self.pooling = Pooling(pooling, self.dim)

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def token_vectors(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The last layer's token vectors (B, T, hidden)."""
        return self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.pooling(self.token_vectors(batch), batch["attention_mask"])


class BiLSTMTower(TokenizerMixin, nn.Module):
    """Embeddings (from scratch, pretrained tokenizer's vocabulary) -> BiLSTM -> pooling -> (B, 2*hidden).

    h_t = [LSTM_fwd(x_1..x_t); LSTM_bwd(x_T..x_t)], pooled with ``mean | max | attention``.
    """

    kind = "bilstm"

    def __init__(
        self,
        tokenizer_name: str | os.PathLike = "sentence-transformers/all-MiniLM-L6-v2",
        embed_dim: int = 128,
        hidden: int = 128,
        layers: int = 1,
        pooling: str = "max",
        max_length: int = 256,
        dropout: float = 0.1,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if pooling == "cls":
            raise ValueError("BiLSTMTower(pooling='cls'): use mean, max or attention")
        from transformers import AutoTokenizer

        self.config = dict(tokenizer_name=str(tokenizer_name), embed_dim=embed_dim, hidden=hidden, layers=layers,
                           pooling=pooling, max_length=max_length, dropout=dropout, seed=seed)
        self.tokenizer = AutoTokenizer.from_pretrained(_tokenizer_folder(tokenizer_name))
        self.max_length = int(max_length)
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        self.embed = nn.Embedding(len(self.tokenizer), embed_dim, padding_idx=self.tokenizer.pad_token_id)
        self.lstm = nn.LSTM(embed_dim, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.pooling = Pooling(pooling, 2 * hidden)
        torch.random.set_rng_state(generator_state)

    @property
    def dim(self) -> int:
        return 2 * self.config["hidden"]

    def token_vectors(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = self.dropout(self.embed(batch["input_ids"]))
        lengths = batch["attention_mask"].sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.pooling(self.token_vectors(batch), batch["attention_mask"])


class CNNTower(TokenizerMixin, nn.Module):
    """Embeddings (from scratch) -> Conv1d of widths ``kernel_sizes`` -> ReLU -> max over time -> (B, dim).

    c_{k,t} = ReLU(W_k [x_t; ...; x_{t+k-1}] + b_k),  e = concat_k max_t c_{k,t}   (Kim, 2014)
    """

    kind = "cnn"

    def __init__(
        self,
        tokenizer_name: str | os.PathLike = "sentence-transformers/all-MiniLM-L6-v2",
        embed_dim: int = 128,
        filters: int = 128,
        kernel_sizes: Sequence[int] = (1, 3, 5),
        max_length: int = 256,
        dropout: float = 0.1,
        seed: int = 0,
    ) -> None:
        super().__init__()
        from transformers import AutoTokenizer

        self.config = dict(tokenizer_name=str(tokenizer_name), embed_dim=embed_dim, filters=filters,
                           kernel_sizes=list(kernel_sizes), max_length=max_length, dropout=dropout, seed=seed)
        self.tokenizer = AutoTokenizer.from_pretrained(_tokenizer_folder(tokenizer_name))
        self.max_length = int(max_length)
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        self.embed = nn.Embedding(len(self.tokenizer), embed_dim, padding_idx=self.tokenizer.pad_token_id)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, filters, k, padding=k // 2) for k in kernel_sizes)
        self.dropout = nn.Dropout(dropout)
        torch.random.set_rng_state(generator_state)

    @property
    def dim(self) -> int:
        return self.config["filters"] * len(self.config["kernel_sizes"])

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        mask = batch["attention_mask"]
        x = self.dropout(self.embed(batch["input_ids"])).transpose(1, 2)  # (B, e, T)
        pooled = []
        for conv in self.convs:
            c = torch.relu(conv(x))[:, :, : mask.shape[1]]  # (B, f, T); even kernels add one step
            c = c.masked_fill(mask.unsqueeze(1) == 0, 0.0)  # ReLU >= 0, so 0 never beats a real max
            pooled.append(c.max(dim=2).values)
        return torch.cat(pooled, dim=1)
