"""Late interaction (ColBERT; Khattab & Zaharia, 2020): one vector per token, scored by MaxSim.

A dual encoder squeezes a text into ONE vector before query and document meet. Late interaction
keeps the transformer's last-layer vector of every token, L2-normalised, and lets the query and
the document meet only at the very end, token by token:

    s(q, d) = sum_{i=1..|q|} max_{j=1..|d|} cos(q_i, d_j)                      (MaxSim)

Each query token finds its best match anywhere in the document and the matches are summed: an
exact or near-synonym match of a rare query term counts in full even when the document is long
and about many things, which a pooled vector blurs. The price is storage: a document costs
``|d| x h`` numbers instead of ``h`` (about 200x more for a SciFact abstract cut at 256 tokens), and a query costs
``|q| x |d|`` dot products per candidate instead of one. ColBERT trains its encoder (and a 128-d
linear head) for MaxSim; here the vectors are all-MiniLM-L6-v2's, trained for mean pooling, so
this is *zero-shot* late interaction: the mechanics and the costs are ColBERT's, the quality is
not a trained ColBERT's.

- :func:`encode_tokens`: texts -> :class:`TokenVectors` (ragged token vectors, float16, plus the
  model's own pooled single vector of each text from the SAME forward pass, so the two scorings
  compare on identical inputs).
- :func:`maxsim`: the formula on padded arrays with masks (the reference: small inputs, tests).
- :class:`TokenIndex`: a small token index (ragged float16 storage, ``add`` / ``score`` /
  ``search`` / ``memory_bytes`` / ``save`` / ``load``), scoring candidates with one matrix
  product and a segmented max.
- :func:`maxsim_rerank`: a run's candidates re-scored by MaxSim.

>>> toks = encode_tokens(config.DEFAULT_MODEL, ["statins lower LDL cholesterol"], show_progress=False)
>>> toks[0].shape                      # (tokens kept, 384)
>>> index = TokenIndex().add(toks)
>>> index.score(encode_tokens(config.DEFAULT_MODEL, ["do statins work?"], kind="query")[0])
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lessonlib.core import config
from lessonlib.dual.encode import _batches, load_model
from lessonlib.core.io import atomic_write
from lessonlib.core.runs import Run, rank_documents


# --------------------------------------------------------------------------------------------
# Token vectors
# --------------------------------------------------------------------------------------------
@dataclass
class TokenVectors:
    """Ragged token vectors of ``n`` texts.

    Attributes:
        vectors: (N, h) float16, the kept tokens of every text, text after text, unit length.
        offsets: (n + 1,) int64; text ``i`` owns rows ``offsets[i]:offsets[i + 1]``.
        pooled: (n, dim) float32, the model's single vector of each text (its pooling,
            projection and normalisation) computed from the same forward pass; empty (0, 0) when
            not computed.
        n_input: (n,) int64, tokens fed to the model per text (special tokens included, after
            truncation), before dropping punctuation or special tokens.
        token_ids: (N,) int32, the vocabulary id of each kept row (for showing which token
            matched; not part of an index's storage); empty when unknown.
    """

    vectors: np.ndarray
    offsets: np.ndarray
    pooled: np.ndarray
    n_input: np.ndarray
    token_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))

    def __post_init__(self) -> None:
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        if self.offsets.ndim != 1 or len(self.offsets) < 1 or self.offsets[0] != 0 \
                or self.offsets[-1] != len(self.vectors) or (np.diff(self.offsets) < 0).any():
            raise ValueError(f"TokenVectors(offsets=...): expected non-decreasing offsets from 0 to "
                             f"{len(self.vectors)} (the number of vector rows), got {self.offsets[:5]}...")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        """Token vectors of text ``i``: (L_i, h)."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"TokenVectors[{i}]: only {len(self)} texts")
        i = i % len(self)
        return self.vectors[self.offsets[i]: self.offsets[i + 1]]

    def ids_of(self, i: int) -> np.ndarray:
        """Vocabulary ids of the kept tokens of text ``i`` (L_i,) (empty if not recorded)."""
        if len(self.token_ids) != len(self.vectors):
            return np.zeros(0, dtype=np.int32)
        i = i % len(self)
        return self.token_ids[self.offsets[i]: self.offsets[i + 1]]

    @property
    def lengths(self) -> np.ndarray:
        """Kept tokens per text (n,)."""
        return np.diff(self.offsets)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @classmethod
    def from_list(cls, arrays: Sequence[np.ndarray], pooled: np.ndarray | None = None,
                  dtype: str = "float16", token_ids: Sequence[np.ndarray] | None = None) -> TokenVectors:
        """Build from a list of (L_i, h) arrays (kept as given, stored as ``dtype``), optionally
        with each text's kept vocabulary ids (L_i,)."""
        arrays = [np.asarray(a) for a in arrays]
        if not arrays:
            raise ValueError("TokenVectors.from_list(arrays=[]): need at least one text")
        dims = {a.shape[1] for a in arrays if a.ndim == 2}
        if any(a.ndim != 2 for a in arrays) or len(dims) != 1:
            raise ValueError(f"TokenVectors.from_list: expected 2-D (L_i, h) arrays of one width h, got shapes "
                             f"{[a.shape for a in arrays[:4]]}...")
        offsets = np.concatenate([[0], np.cumsum([len(a) for a in arrays])])
        vectors = np.concatenate(arrays).astype(dtype)
        lens = np.array([len(a) for a in arrays], dtype=np.int64)
        ids = np.concatenate([np.asarray(t, dtype=np.int32) for t in token_ids]) if token_ids is not None \
            else np.zeros(0, dtype=np.int32)
        if token_ids is not None and len(ids) != len(vectors):
            raise ValueError(f"TokenVectors.from_list: {len(ids)} token ids for {len(vectors)} vectors")
        return cls(vectors, offsets, np.zeros((0, 0), np.float32) if pooled is None else pooled, lens, ids)

    def select(self, rows: Sequence[int]) -> TokenVectors:
        """The texts at positions ``rows``, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            raise ValueError("TokenVectors.select(rows=[]): need at least one row")
        pooled = self.pooled[rows] if len(self.pooled) else self.pooled
        ids = [self.ids_of(int(i)) for i in rows] if len(self.token_ids) == len(self.vectors) else None
        out = TokenVectors.from_list([self[int(i)] for i in rows], pooled, dtype=str(self.vectors.dtype), token_ids=ids)
        out.n_input = self.n_input[rows]
        return out

    def transform(self, fn: Callable[[np.ndarray], np.ndarray], normalize: bool = True,
                  block: int = 65536) -> TokenVectors:
        """Apply ``fn`` ((N, h) float32 -> (N, h')) to every token vector, e.g. ``PCA(128).transform``,
        then re-normalise rows to unit length (so MaxSim stays a sum of cosines)."""
        parts = []
        for start in range(0, max(len(self.vectors), 1), block):  # in blocks: N can be millions of rows
            rows = self.vectors[start: start + block]
            out = np.asarray(fn(rows.astype(np.float32)), dtype=np.float32)
            if out.ndim != 2 or len(out) != len(rows):
                raise ValueError(f"TokenVectors.transform: fn must map (N, h) to (N, h'), "
                                 f"got {out.shape} from {rows.shape}")
            if normalize:
                out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
            parts.append(out.astype(np.float16))
        return TokenVectors(np.concatenate(parts), self.offsets.copy(), self.pooled, self.n_input, self.token_ids)


def punctuation_ids(tokenizer) -> set[int]:
    """Ids of vocabulary entries made only of punctuation (ColBERT drops them on the document side).

    >>> sorted(punctuation_ids(tok))[:3]      # e.g. the ids of '!', '"', '#'
    """
    punct = set(string.punctuation)
    vocab = tokenizer.get_vocab()
    out = set()
    for token, idx in vocab.items():
        bare = token[2:] if token.startswith("##") else token
        if bare and all(ch in punct for ch in bare):
            out.add(int(idx))
    return out


def encode_tokens(
    model=config.DEFAULT_MODEL,
    texts: Sequence[str] = (),
    *,
    kind: str = "doc",
    max_length: int | None = None,
    batch_size: int = 32,
    keep_special: bool = True,
    skip_punctuation: bool | None = None,
    show_progress: bool = True,
    num_threads: int | None = None,
) -> TokenVectors:
    """Texts -> :class:`TokenVectors`: the last layer's vector of every token, L2-normalised.

    Args:
        model: a model id / folder (loaded once per process by :func:`lessonlib.dual.encode.load_model`)
            or a :class:`lessonlib.dual.encoders.DualEncoder` with a transformer tower.
        kind: ``"doc"`` or ``"query"``: which tower and which token limit.
        max_length: token limit (default: the model's for ``kind``; 256 for all-MiniLM-L6-v2).
        keep_special: keep the [CLS] / [SEP] vectors (ColBERT keeps its markers).
        skip_punctuation: drop punctuation-only tokens; default True for documents, False for
            queries (ColBERT's choice).
        batch_size: texts per batch at full length (batches are cut by length, as in ``encode``).

    Shapes: n texts -> vectors (N, h) float16 with N = sum of kept tokens, offsets (n + 1,),
    pooled (n, dim) float32 equal (up to float error) to ``lessonlib.dual.encode.encode``'s vectors at
    the same ``max_length`` (it is the same forward pass, pooled the model's way).
    """
    import torch
    from torch.nn import functional as F
    from tqdm.auto import tqdm

    from lessonlib.dual.encoders import DualEncoder  # deferred: pulls in torch

    if kind not in ("doc", "query"):
        raise ValueError(f"encode_tokens(kind={kind!r}): kind must be 'doc' or 'query'")
    if batch_size < 1:
        raise ValueError(f"encode_tokens(batch_size={batch_size}): batch_size must be >= 1")
    if isinstance(texts, str):
        raise TypeError("encode_tokens(texts=...): texts must be a list of strings, got one str (wrap it in a list)")
    if len(texts) == 0:
        raise ValueError("encode_tokens(texts=[]): need at least one text")
    enc = model if isinstance(model, DualEncoder) else load_model(model)
    tower = enc.tower(kind)
    if not hasattr(tower, "token_vectors") or not hasattr(tower, "model"):
        raise ValueError(f"encode_tokens(model=...): needs a transformer tower, got {type(tower).__name__}")
    max_length = int(max_length or enc.max_length_for(kind))
    if skip_punctuation is None:
        skip_punctuation = kind == "doc"
    drop = punctuation_ids(tower.tokenizer) if skip_punctuation else set()
    special = set(tower.tokenizer.all_special_ids) if not keep_special else set()
    drop_ids = torch.tensor(sorted(drop | special), dtype=torch.long)

    ids = tower.pretokenize(list(texts))
    lengths = np.fromiter((len(r) for r in ids), dtype=np.int64, count=len(ids))
    order = np.argsort(-np.minimum(lengths, max_length), kind="stable")
    per_text: list[np.ndarray | None] = [None] * len(ids)
    kept_ids: list[np.ndarray | None] = [None] * len(ids)
    pooled = np.zeros((len(ids), enc.dim), dtype=np.float32)
    n_input = np.minimum(lengths, max_length)
    proj = enc.query_proj if kind == "query" else enc.doc_proj
    old_threads = torch.get_num_threads()
    if num_threads:
        torch.set_num_threads(num_threads)
    was_training = enc.training
    enc.eval()
    try:
        with torch.inference_mode():
            bar = tqdm(total=len(ids), desc=f"token vectors ({kind}s)", unit="text", disable=not show_progress)
            for idx in _batches(lengths, order, batch_size, max_length):
                batch = {k: v.to(enc.device) for k, v in tower.collate([ids[i] for i in idx], max_length).items()}
                hidden = tower.token_vectors(batch)  # (B, T, h)
                single = tower.pooling(hidden, batch["attention_mask"])
                if proj is not None:
                    single = proj(single)
                if enc.normalize:
                    single = F.normalize(single, dim=-1)
                pooled[idx] = single.float().cpu().numpy()
                keep = batch["attention_mask"].bool()
                if len(drop_ids):
                    keep &= ~torch.isin(batch["input_ids"], drop_ids.to(batch["input_ids"].device))
                unit = F.normalize(hidden.float(), dim=-1).cpu()
                keep, input_ids = keep.cpu(), batch["input_ids"].cpu()
                for row, i in enumerate(idx):
                    per_text[i] = unit[row][keep[row]].numpy().astype(np.float16)
                    kept_ids[i] = input_ids[row][keep[row]].numpy().astype(np.int32)
                bar.update(len(idx))
            bar.close()
    finally:
        if num_threads:
            torch.set_num_threads(old_threads)
        if was_training:
            enc.train()
    out = TokenVectors.from_list(per_text, pooled, token_ids=kept_ids)
    out.n_input = n_input.astype(np.int64)
    return out


# --------------------------------------------------------------------------------------------
# MaxSim
# --------------------------------------------------------------------------------------------
def maxsim(
    q: np.ndarray,
    d: np.ndarray,
    q_mask: np.ndarray | None = None,
    d_mask: np.ndarray | None = None,
) -> np.ndarray:
    """MaxSim of padded token arrays: ``s(q, d) = sum_i q_mask_i * max_{j: d_mask_j} q_i . d_j``.

    Args:
        q: (Lq, h) one query or (nq, Lq, h) a batch; d: (Ld, h) or (nd, Ld, h).
        q_mask / d_mask: 1 for real tokens, 0 for padding: (Lq,) / (nq, Lq) and (Ld,) / (nd, Ld).
            A padded query token adds nothing; a padded document token can never be the max;
            a document with no real token scores 0.
    Returns: (nq, nd) float32; a scalar-shaped () array when both inputs are 2-D.

    The dot product is the cosine when rows are unit length (as :func:`encode_tokens` returns).
    This is the reference implementation (one dense (nq, nd, Lq, Ld) tensor); :class:`TokenIndex`
    does the same sum with one matrix product over ragged storage.

    >>> q = np.eye(2)[None]; d = np.array([[[1., 0.], [0.6, 0.8]]])
    >>> maxsim(q, d)        # [[1 + 0.8]]
    array([[1.8]], dtype=float32)
    """
    single = np.ndim(q) == 2 and np.ndim(d) == 2
    q = np.asarray(q, dtype=np.float32)
    d = np.asarray(d, dtype=np.float32)
    if q.ndim == 2:
        q = q[None]
        q_mask = None if q_mask is None else np.asarray(q_mask)[None]
    if d.ndim == 2:
        d = d[None]
        d_mask = None if d_mask is None else np.asarray(d_mask)[None]
    if q.ndim != 3 or d.ndim != 3:
        raise ValueError(f"maxsim: q and d must be (L, h) or (n, L, h), got shapes {q.shape}, {d.shape}")
    if q.shape[-1] != d.shape[-1]:
        raise ValueError(f"maxsim: q and d must share the vector width h, got {q.shape[-1]} and {d.shape[-1]}")
    qm = np.ones(q.shape[:2], bool) if q_mask is None else np.asarray(q_mask).astype(bool)
    dm = np.ones(d.shape[:2], bool) if d_mask is None else np.asarray(d_mask).astype(bool)
    if qm.shape != q.shape[:2] or dm.shape != d.shape[:2]:
        raise ValueError(f"maxsim: masks must be {q.shape[:2]} and {d.shape[:2]}, got {qm.shape} and {dm.shape}")
    sim = np.einsum("aih,bjh->abij", q, d)  # (nq, nd, Lq, Ld)
    sim = np.where(dm[None, :, None, :], sim, -np.inf)
    best = sim.max(axis=-1) if sim.shape[-1] else np.full(sim.shape[:-1], -np.inf)  # (nq, nd, Lq)
    best = np.where(np.isfinite(best), best, 0.0)  # a document with no real token adds 0
    out = (best * qm[:, None, :]).sum(-1).astype(np.float32)
    return out[0, 0] if single else out


def _segment_max(sim: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Row-wise max over column segments: sim (Lq, N), offsets (m + 1,) -> (Lq, m); empty -> -inf."""
    m = len(offsets) - 1
    out = np.full((sim.shape[0], m), -np.inf, dtype=np.float32)
    nonempty = np.flatnonzero(np.diff(offsets) > 0)
    if len(nonempty):
        # reduceat over the starts of non-empty segments: each covers exactly its own columns,
        # because the empty segments in between have no columns
        out[:, nonempty] = np.maximum.reduceat(sim, offsets[nonempty], axis=1)
    return out


# --------------------------------------------------------------------------------------------
# A small token index
# --------------------------------------------------------------------------------------------
class TokenIndex:
    """Token vectors of many documents in one ragged array, scored by MaxSim.

    Storage: every kept token of every document, ``dtype`` (float16 as ColBERT v1 stores them,
    or float32), plus offsets and ids. ``memory_bytes()`` is what a late-interaction index costs;
    compare it with ``n_docs x dim x 4`` bytes of a single-vector flat index.

    Ids follow the index protocol of :mod:`lessonlib.index`: integers >= 0 (default 0, 1, ...),
    ``search`` returns (nq, k) arrays, best first, id -1 / score -inf where fewer than k exist.
    Scoring candidates: gather their rows (M, h), one product (Lq, h) x (h, M), a segmented max
    per document, a sum over query tokens: O(Lq x M x h) for M candidate tokens.

    >>> index = TokenIndex().add(doc_tokens, ids=[10, 11, 12])
    >>> index.score(query_tokens, ids=[12, 10])        # MaxSim of two candidates, (2,)
    >>> scores, ids = index.search([query_tokens], k=2)  # exhaustive, (1, 2) each
    """

    def __init__(self, dtype: str = "float16") -> None:
        if dtype not in ("float16", "float32"):
            raise ValueError(f"TokenIndex(dtype={dtype!r}): expected 'float16' or 'float32'")
        self.dtype = dtype
        self.vectors_ = np.zeros((0, 0), dtype=dtype)
        self.offsets_ = np.zeros(1, dtype=np.int64)
        self._ids = np.zeros(0, dtype=np.int64)
        self._pos: dict[int, int] = {}

    # -- the protocol ---------------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        """Number of documents."""
        return int(len(self._ids))

    @property
    def n_tokens(self) -> int:
        return int(self.offsets_[-1])

    @property
    def dim(self) -> int:
        return int(self.vectors_.shape[1])

    def add(self, tokens: TokenVectors | Sequence[np.ndarray], ids: Sequence[int] | None = None) -> TokenIndex:
        """Add documents: a :class:`TokenVectors` or a list of (L_i, h) arrays; ``ids`` ints."""
        if not isinstance(tokens, TokenVectors):
            tokens = TokenVectors.from_list(list(tokens), dtype=self.dtype)
        n = len(tokens)
        if self.ntotal and tokens.dim != self.dim:
            raise ValueError(f"add(tokens): dimension mismatch, got h={tokens.dim}, index has h={self.dim}")
        if ids is None:
            start = int(self._ids.max()) + 1 if self.ntotal else 0
            new_ids = np.arange(start, start + n, dtype=np.int64)
        else:
            new_ids = np.asarray(ids)
            if new_ids.shape != (n,) or not np.issubdtype(new_ids.dtype, np.integer):
                raise ValueError(f"add(ids): expected {n} integer ids, got {new_ids.dtype} of shape {new_ids.shape}")
            new_ids = new_ids.astype(np.int64)
            if (new_ids < 0).any():
                raise ValueError("add(ids): ids must be >= 0 (-1 marks a missing result)")
            if len(np.unique(new_ids)) != n or any(int(i) in self._pos for i in new_ids):
                raise ValueError("add(ids): duplicate ids (within the batch or already in the index)")
        vecs = np.asarray(tokens.vectors, dtype=self.dtype)
        if not np.isfinite(vecs).all():
            raise ValueError("add(tokens): token vectors contain NaN or inf")
        base = self.n_tokens
        self.vectors_ = vecs if not self.ntotal else np.concatenate([self.vectors_, vecs])
        self.offsets_ = np.concatenate([self.offsets_, base + tokens.offsets[1:]])
        for j, i in enumerate(new_ids, start=self.ntotal):
            self._pos[int(i)] = j
        self._ids = np.concatenate([self._ids, new_ids])
        return self

    def _positions(self, ids: Sequence[int] | None) -> np.ndarray:
        if ids is None:
            return np.arange(self.ntotal)
        try:
            return np.array([self._pos[int(i)] for i in ids], dtype=np.int64)
        except KeyError as err:
            raise KeyError(f"score(ids): id {err.args[0]} is not in the index") from None

    def score(self, query: np.ndarray, ids: Sequence[int] | None = None) -> np.ndarray:
        """MaxSim of one query's token vectors (Lq, h) with the documents ``ids`` (default all): (m,)."""
        if self.ntotal == 0:
            raise RuntimeError("score: TokenIndex is empty; add(tokens) first")
        q = np.asarray(query, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"score(query): expected (Lq, {self.dim}) token vectors, got shape {q.shape}")
        pos = self._positions(ids)
        starts, ends = self.offsets_[pos], self.offsets_[pos + 1]
        if ids is None:
            rows, offsets = self.vectors_, self.offsets_
        else:
            rows = np.concatenate([self.vectors_[s:e] for s, e in zip(starts, ends)]) if len(pos) else self.vectors_[:0]
            offsets = np.concatenate([[0], np.cumsum(ends - starts)])
        # the product in torch: numpy's BLAS can stall badly when its threads compete for cores
        import torch

        sim = (torch.from_numpy(q) @ torch.from_numpy(rows.astype(np.float32)).T).numpy()  # (Lq, M)
        best = _segment_max(sim, offsets)  # (Lq, m)
        best = np.where(np.isfinite(best), best, 0.0)
        return best.sum(axis=0).astype(np.float32)

    def search(self, queries: Sequence[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exhaustive MaxSim search: ``queries`` a list of (Lq, h) arrays -> (scores, ids) (nq, k)."""
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise ValueError(f"search(k={k!r}): k must be an integer >= 1")
        if isinstance(queries, np.ndarray) and queries.ndim == 2:
            queries = [queries]
        out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_i = np.full((len(queries), k), -1, dtype=np.int64)
        for r, q in enumerate(queries):
            s = self.score(q)
            order = np.lexsort((np.arange(len(s)), -s))[:k]  # best first, ties by position
            out_s[r, : len(order)], out_i[r, : len(order)] = s[order], self._ids[order]
        return out_s, out_i

    def memory_bytes(self, dtype: str | None = None) -> int:
        """Bytes held: token vectors + offsets + ids; with ``dtype`` (e.g. ``"float32"``), the bytes
        the same index would hold with its vectors stored in that type."""
        item = np.dtype(dtype or self.dtype).itemsize
        return int(self.vectors_.size * item + self.offsets_.nbytes + self._ids.nbytes)

    def bytes_per_doc(self, dtype: str | None = None) -> float:
        """``memory_bytes(dtype) / ntotal``: what one more document costs."""
        return self.memory_bytes(dtype) / max(self.ntotal, 1)

    # -- persistence ------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write ``path`` (``.npz`` of the arrays and a JSON ``__meta__``; no pickle)."""
        path = Path(path)
        meta = np.frombuffer(json.dumps({"class": "TokenIndex", "dtype": self.dtype}).encode(), dtype=np.uint8)
        with atomic_write(path, "wb") as handle:
            np.savez(handle, vectors=self.vectors_, offsets=self.offsets_, ids=self._ids, __meta__=meta)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> TokenIndex:
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(bytes(data["__meta__"]).decode())
            if meta.get("class") != "TokenIndex":
                raise ValueError(f"TokenIndex.load({str(path)!r}): file holds a {meta.get('class')}")
            obj = cls(meta["dtype"])
            obj.vectors_, obj.offsets_, obj._ids = data["vectors"], data["offsets"], data["ids"]
        obj._pos = {int(i): j for j, i in enumerate(obj._ids)}
        return obj

    def __repr__(self) -> str:
        return f"TokenIndex(dtype={self.dtype!r}; ntotal={self.ntotal}, n_tokens={self.n_tokens}, dim={self.dim})"


def maxsim_rerank(
    index: TokenIndex,
    query_tokens: Mapping[str, np.ndarray],
    candidates: Mapping[str, Mapping[str, float]],
    doc_position: Mapping[str, int],
    k: int | None = None,
) -> Run:
    """Re-score the top ``k`` candidates of each query by MaxSim: run -> run.

    Args:
        index: holds the candidates' token vectors under the ids ``doc_position[doc_id]``.
        query_tokens: query id -> (Lq, h) token vectors.
        candidates: the first-stage run; its top ``k`` per query are re-scored (default all).
        doc_position: doc id -> the integer id used in ``index``.
    """
    if k is not None and k < 1:
        raise ValueError(f"maxsim_rerank(k={k}): k must be >= 1")
    out: Run = {}
    for qid, docs in candidates.items():
        if qid not in query_tokens:
            raise KeyError(f"maxsim_rerank: no token vectors for query {qid!r}")
        top = rank_documents(docs)[:k]
        if not top:
            out[qid] = {}
            continue
        s = index.score(query_tokens[qid], [doc_position[d] for d in top])
        out[qid] = dict(zip(top, s.tolist()))
    return out
