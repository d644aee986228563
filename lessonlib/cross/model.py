"""The cross-encoder (monoBERT): one transformer reads query and document together.

Input composition (Nogueira & Cho 2019, "Passage Re-ranking with BERT")::

    [CLS] q_1 ... q_m [SEP] d_1 ... d_n [SEP]
    token_type_ids:  0 ... 0 (query and first [SEP])   1 ... 1 (document and last [SEP])

Every token attends to every other token, so query and document words interact in every layer;
the [CLS] vector goes through a linear head:

* ``head="binary"``     -> 1 logit, score = logit (sigmoid(logit) = P(relevant)); BCE / ranking losses
* ``head="graded"``     -> C logits over grades 0..C-1, score = E[grade] = sum_c c * softmax(z)_c
* ``head="regression"`` -> 1 value, score = value; MSE on the grade

``score(...)`` takes (query, doc) pairs or one query and many docs and returns a numpy array
(n,). Pairs are sorted by length so each batch pads little (dynamic batching); pairs longer
than ``max_length`` are split into overlapping windows and aggregated (``overflow="maxp"``,
Dai & Callan 2019) instead of being cut silently.

>>> ce = CrossEncoder()                       # MiniLM backbone, fresh binary head
>>> ce.score("what is bm25", ["BM25 is a ranking function", "cats"]).shape
(2,)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from lessonlib.core import config, runtime
from lessonlib.cross.data import length_sorted_batches
from lessonlib.cross.longdoc import aggregate, split_pairs
from lessonlib.core.hub import quiet_transformers, resolve_model
from lessonlib.core.io import atomic_dir, verify_folder

HEADS = {"binary": 1, "regression": 1}
OVERFLOW = ("truncate", "firstp", "maxp", "sump", "meanp")


#: scoring name -> class; every subclass registers itself (:class:`lessonlib.cross.pooled.PooledCrossEncoder`)
_SCORINGS: dict[str, type] = {}


class CrossEncoder(torch.nn.Module):
    """A transformer that scores a (query, document) pair jointly.

    Args:
        model_name_or_path: model id or folder (the backbone, or a saved cross-encoder).
        head: ``"binary"``, ``"graded"`` or ``"regression"`` (see the module docstring).
        num_grades: number of grades for ``head="graded"``.
        max_length: tokens per pair (query + document + 3 special tokens).
        max_query_length: the query is cut to this many tokens (windows need room for the doc).
        overflow: what to do with pairs longer than ``max_length``: ``"truncate"`` (cut the doc,
            head only), or windows aggregated by ``"firstp"``, ``"maxp"``, ``"sump"``, ``"meanp"``.
        stride: window overlap in tokens for the windowed strategies.
        device: ``"cpu"``, ``"cuda"``; default ``lessonlib.core.config.device()``.
        dropout: hidden dropout of the backbone (``None`` keeps the config's).

    ``scoring`` (class attribute) names how the joint pass becomes a score: ``"cls"`` here (a
    linear head on [CLS]), ``"pooled"`` for :class:`lessonlib.cross.pooled.PooledCrossEncoder`.
    ``save`` records it and ``CrossEncoder.load`` returns the class that wrote the folder.
    """

    scoring = "cls"
    #: inference engine of :meth:`score`: ``"auto"`` (torch unless ``runtime.AUTO_ONNX``),
    #: ``"torch"`` or ``"onnx"`` (:mod:`lessonlib.core.runtime`); set on an instance to change it.
    backend = "auto"
    #: with the ONNX engine, int8 dynamic quantisation (per-channel weights); torch's int8 is
    #: :func:`lessonlib.cross.efficiency.quantize_int8`.
    int8 = False
    #: number format of torch scoring: ``"auto"`` (bf16 where the device multiplies bf16 natively:
    #: :func:`lessonlib.core.runtime.native_bf16`; fp32 elsewhere), ``"fp32"`` or ``"bf16"``.
    precision = "auto"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        _SCORINGS[cls.scoring] = cls

    def __init__(
        self,
        model_name_or_path: str | os.PathLike = config.DEFAULT_MODEL,
        head: str = "binary",
        num_grades: int = 3,
        max_length: int = 256,
        max_query_length: int = 64,
        overflow: str = "maxp",
        stride: int = 64,
        device: str | None = None,
        dropout: float | None = None,
    ) -> None:
        super().__init__()
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

        if head not in ("binary", "graded", "regression"):
            raise ValueError(f"CrossEncoder(head={head!r}): expected 'binary', 'graded' or 'regression'")
        if overflow not in OVERFLOW:
            raise ValueError(f"CrossEncoder(overflow={overflow!r}): expected one of {OVERFLOW}")
        if max_length < max_query_length + 16:
            raise ValueError(f"CrossEncoder(max_length={max_length}): must exceed max_query_length + 16")
        path = Path(resolve_model(model_name_or_path))
        cfg = AutoConfig.from_pretrained(path)
        saved_scoring = getattr(cfg, "lessonlib_scoring", None)  # None: a backbone, not a saved cross-encoder
        if saved_scoring not in (None, self.scoring):
            raise ValueError(f"{type(self).__name__}({str(model_name_or_path)!r}): the folder holds a cross-encoder "
                             f"with scoring {saved_scoring!r}, not {self.scoring!r}; load it with CrossEncoder.load")
        saved_head = getattr(cfg, "lessonlib_head", None)
        if saved_head is not None:  # a saved cross-encoder keeps its head
            head = saved_head
            num_grades = cfg.num_labels if head == "graded" else num_grades
        num_labels = num_grades if head == "graded" else 1
        kwargs = {}
        if dropout is not None:
            kwargs["hidden_dropout_prob"] = dropout
        cfg = AutoConfig.from_pretrained(path, num_labels=num_labels, **kwargs)
        cfg.lessonlib_head = head
        cfg.problem_type = "regression" if head == "regression" else None
        with quiet_transformers():  # no weight-loading bar, no report of the fresh head's MISSING weights
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForSequenceClassification.from_pretrained(path, config=cfg, dtype=torch.float32)
        self.head = head
        self.num_grades = num_grades
        self.max_length = min(max_length, int(getattr(cfg, "max_position_embeddings", max_length)))
        self.max_query_length = max_query_length
        self.overflow = overflow
        self.stride = stride
        self.name = str(model_name_or_path)
        self.to(config.device(device))

    # ------------------------------------------------------------------ basics
    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def logits_to_scores(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, num_labels) logits -> (B,) ranking scores (the expected grade for graded heads)."""
        if self.head == "graded":
            grades = torch.arange(logits.shape[-1], device=logits.device, dtype=logits.dtype)
            return (logits.softmax(-1) * grades).sum(-1)
        return logits[..., 0]

    def forward(self, **features: torch.Tensor) -> torch.Tensor:
        """Tokenised batch -> (B,) scores (logits for the binary head). Gradients flow."""
        return self.logits_to_scores(self.model(**features).logits)

    def encode_pairs(self, queries: Sequence[str], docs: Sequence[str], max_length: int | None = None) -> dict:
        """Tokenise pairs as ``[CLS] q [SEP] d [SEP]`` with token_type_ids 0/1, doc truncated.

        The query is cut first, to ``max_query_length`` tokens or, under a shorter ``max_length`` (a
        training length), to ``max_length - 16``, so that the document always keeps some room.
        """
        _check_texts(queries, docs)
        max_length = max_length or self.max_length
        limit = max(1, min(self.max_query_length, max_length - 16))
        queries = [self._cut_query(q, limit) for q in queries]
        batch = self.tokenizer(
            list(queries), list(docs), padding=True, truncation="only_second",
            max_length=max_length, return_tensors="pt",
        )
        return {k: v.to(self.device) for k, v in batch.items()}

    def _cut_query(self, query: str, limit: int | None = None) -> str:
        limit = self.max_query_length if limit is None else limit
        cache = self.__dict__.setdefault("_query_cache", {})
        if (query, limit) not in cache:
            if len(cache) > 100_000:
                cache.clear()
            cache[(query, limit)] = self._cut_query_uncached(query, limit)
        return cache[(query, limit)]

    def _cut_query_uncached(self, query: str, limit: int) -> str:
        if len(query) < limit:  # fewer characters than tokens allowed: nothing to cut
            return query
        ids = self.tokenizer(query, add_special_tokens=False)["input_ids"]
        if len(ids) <= limit:
            return query
        return self.tokenizer.decode(ids[:limit])

    # ------------------------------------------------------------------ scoring
    @torch.no_grad()
    def score(
        self,
        queries: str | Sequence[str] | Sequence[tuple[str, str]],
        docs: Sequence[str] | None = None,
        batch_size: int = 32,
        show_progress: bool = False,
        overflow: str | None = None,
    ) -> np.ndarray:
        """Scores of pairs: ``score([(q, d), ...])``, ``score(q, [d, ...])`` or ``score([q..], [d..])``.

        Returns float32 (n,), higher = more relevant. Raises ``ValueError`` on empty texts and on
        NaN scores. Long pairs are windowed (see ``overflow``) so no document is silently cut.
        """
        runtime.check_backend(f"{type(self).__name__}.score", self.backend)
        queries, docs = _as_pairs(queries, docs)
        if not queries:
            return np.zeros(0, dtype=np.float32)
        overflow = overflow or self.overflow
        if overflow == "truncate":
            units, owner = list(zip(queries, docs)), np.arange(len(queries))
        else:
            units, owner = split_pairs(self, queries, docs, self.max_length, self.stride)
        raw = self._score_units(units, batch_size, show_progress)
        if overflow == "truncate":
            out = raw
        else:
            out = aggregate(raw, owner, len(queries), overflow)
        if not np.all(np.isfinite(out)):
            bad = int(np.flatnonzero(~np.isfinite(out))[0])
            raise ValueError(f"CrossEncoder.score: non-finite score for pair {bad} (query {queries[bad][:60]!r}); "
                             "the model weights are probably broken (NaN)")
        return out

    def _score_units(self, pairs: list[tuple[str, str]], batch_size: int, show_progress: bool) -> np.ndarray:
        from tqdm.auto import tqdm


        was_training = self.model.training
        self.model.eval()
        out = np.zeros(len(pairs), dtype=np.float32)
        lengths = [len(q) + len(d) for q, d in pairs]  # characters: a cheap proxy for tokens
        batches = length_sorted_batches(lengths, batch_size)
        graph = self._onnx_graph(pairs, batches)
        precision = runtime.choose_precision(f"{type(self).__name__}.score", self.precision, self.device)
        if graph is not None or self._torch_int8():
            precision = "fp32"
        runner, amp = runtime.inference_runner(self, precision, self.device, len(pairs), batch_size,
                                               share=(self.tokenizer,), fp32=self.fp32_modules())
        for idx in tqdm(batches, desc="cross-encoder", disable=not show_progress, unit="batch"):
            feats = self.encode_pairs([pairs[i][0] for i in idx], [pairs[i][1] for i in idx])
            if graph is not None:
                out[idx] = graph(**feats)
                continue
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=amp):
                scores = runner.forward(**feats)
            out[idx] = scores.float().cpu().numpy()
        self.model.train(was_training)
        return out

    def fp32_modules(self) -> tuple[str, ...]:
        """Sub-modules a bf16 copy keeps in fp32: the classification head, so scores keep fp32
        resolution (:func:`lessonlib.core.runtime.bf16_copy`)."""
        return tuple(f"model.{name}" for name in ("classifier", "score") if isinstance(getattr(self.model, name, None), torch.nn.Module))

    def _torch_int8(self) -> bool:
        return any("quantized" in type(m).__module__ for m in self.model.modules())

    def _onnx_graph(self, pairs: list[tuple[str, str]], batches: list) -> runtime.OnnxGraph | None:
        """The ONNX Runtime graph of this model when :attr:`backend` picks it for ``len(pairs)`` pairs
        (never for a torch-quantised copy); ``None`` (torch) when not, or when the export fails."""
        if self._torch_int8() or runtime.choose_backend(self.backend, self.device.type, len(pairs)) != "onnx":
            return None
        feats = lambda idx: self.encode_pairs([pairs[i][0] for i in idx], [pairs[i][1] for i in idx])
        return runtime.compile_or_torch("CrossEncoder.score", self, feats(batches[0][:2]), name=f"cross-{self.scoring}",
                                        int8=self.int8, check=feats(batches[-1][:3]), call=lambda feed: self.forward(**feed),
                                        strict=self.backend == "onnx")

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write model (safetensors) + tokenizer atomically; loads with AutoModelForSequenceClassification."""
        path = Path(path)
        with atomic_dir(path) as tmp:
            self.model.config.lessonlib_head = self.head
            self.model.config.lessonlib_scoring = self.scoring
            self._save_config_extras(self.model.config)
            self.model.save_pretrained(tmp, safe_serialization=True)
            self.tokenizer.save_pretrained(tmp)
        return path

    def _save_config_extras(self, cfg) -> None:
        """Subclasses store their own settings in the saved config here."""

    @classmethod
    def load(cls, path: str | os.PathLike, **kwargs) -> CrossEncoder:
        """A saved cross-encoder: its head and its scoring (the class that saved it) are read from the config."""
        if not Path(path).is_dir() and not str(path).count("/") == 1:
            raise FileNotFoundError(f"CrossEncoder.load(path={str(path)!r}): no such folder")
        if Path(path).is_dir():
            verify_folder(path)  # a corrupt file of a folder lessonlib saved: a one-line error naming it
        if cls is CrossEncoder and Path(path).is_dir():
            from transformers import AutoConfig

            return scoring_class(getattr(AutoConfig.from_pretrained(resolve_model(path)), "lessonlib_scoring", cls.scoring))(
                path, **kwargs)
        return cls(path, **kwargs)


_SCORINGS[CrossEncoder.scoring] = CrossEncoder


def scoring_class(scoring: str) -> type[CrossEncoder]:
    """The cross-encoder class whose ``scoring`` is ``scoring``: ``"cls"`` or ``"pooled"`` (subclasses register)."""
    if scoring not in _SCORINGS:
        raise ValueError(f"scoring must be one of {sorted(_SCORINGS)}, got {scoring!r}")
    return _SCORINGS[scoring]


def _as_pairs(queries, docs) -> tuple[list[str], list[str]]:
    if isinstance(queries, str):
        if docs is None:
            raise ValueError("score(queries=str): give the documents as the second argument")
        docs = list(docs)
        return [queries] * len(docs), docs
    if docs is None:
        pairs = list(queries)
        for i, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"score(pairs): item {i} is {type(pair).__name__}, expected a (query, doc) pair")
        return [p[0] for p in pairs], [p[1] for p in pairs]
    queries, docs = list(queries), list(docs)
    if len(queries) != len(docs):
        raise ValueError(f"score: {len(queries)} queries but {len(docs)} documents; expected equal lengths")
    return queries, docs


def _check_texts(queries: Sequence[str], docs: Sequence[str]) -> None:
    for i, (q, d) in enumerate(zip(queries, docs)):
        if not isinstance(q, str) or not q.strip():
            raise ValueError(f"CrossEncoder: query of pair {i} is empty ({q!r}); expected non-empty text")
        if not isinstance(d, str) or not d.strip():
            raise ValueError(f"CrossEncoder: document of pair {i} is empty ({d!r}); expected non-empty text")
