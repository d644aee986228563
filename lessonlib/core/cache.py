"""On-disk cache of text embeddings, per text, so a corpus is never encoded twice.

Layout: ``cache_dir("embeddings") / <namespace> /`` holds *chunks*, each three ``.npy`` files
written atomically (``lessonlib.core.io.atomic_write``):

- ``<chunk>.vecs.npy``  float32 (n, dim): the vectors;
- ``<chunk>.lens.npy``  int32 (n,): each text's token count before truncation (for statistics);
- ``<chunk>.sum.json``  the SHA-256 of the three arrays' files, written with them;
- ``<chunk>.keys.npy``  bytes (n,): SHA-1 of each text (written last: a chunk without keys is
  ignored, so a crash mid-write never yields a half chunk).

A chunk is checked against its checksum the first time a process reads it: a short, empty or
corrupt chunk is reported once (a warning), deleted, and its texts are encoded again on demand.

The namespace is a hash of everything that changes a vector: the model's weights (SHA-256), the
token limit, the pooling, normalisation, projection, precision and quantisation. A lookup hashes
each text and gathers rows from whichever chunks hold them, so a *subset* (or a reordering, or a
superset, whose missing texts are then encoded and stored as a new chunk) of an encoded corpus
is served from disk.

>>> cache = EmbeddingCache("ns-example")
>>> cache.put(["a", "b"], np.ones((2, 4), np.float32), np.array([3, 3]))
>>> vecs, lens, found = cache.get(["b", "c"])
>>> found.tolist()
[True, False]
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lessonlib.core import config
from lessonlib.core.io import atomic_write


def text_key(text: str) -> bytes:
    """SHA-1 (20 bytes) of the UTF-8 text: the per-text cache key."""
    return hashlib.sha1(text.encode("utf-8")).digest()


def namespace(**settings) -> str:
    """A folder name from the settings that change a vector: sha1 of their sorted JSON (16 hex)."""
    blob = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


_PARTS = ("vecs", "lens", "keys")


def _digest(paths: Sequence[Path]) -> str:
    """SHA-256 over the bytes of a chunk's files, in order (vecs, lens, keys)."""
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()


class EmbeddingCache:
    """Per-text embedding store for one namespace (one model + settings).

    Args:
        name: the namespace (see :func:`namespace`).
        root: parent folder (default ``config.cache_dir("embeddings")``, i.e. ``$LESSONLIB_CACHE``).
        settings: written once to ``settings.json`` in the folder, for humans.
    """

    def __init__(self, name: str, root: str | os.PathLike | None = None, settings: dict | None = None) -> None:
        self.name = name
        self.folder = Path(root) if root is not None else config.cache_dir("embeddings")
        self.folder = self.folder / name
        self.folder.mkdir(parents=True, exist_ok=True)
        if settings and not (self.folder / "settings.json").exists():
            try:
                with atomic_write(self.folder / "settings.json") as handle:
                    json.dump(settings, handle, indent=1, default=str)
            except OSError:  # pragma: no cover - read-only cache
                pass
        self._index: dict[bytes, tuple[str, int]] = {}
        self._chunks_seen: set[str] = set()

    def _refresh(self) -> None:
        """Index chunks written since the last look (by this or another process); drop damaged ones."""
        for keys_file in self.folder.glob("*.keys.npy"):
            chunk = keys_file.name[: -len(".keys.npy")]
            if chunk in self._chunks_seen:
                continue
            keys = self._verified_keys(chunk)
            if keys is None:
                continue
            for row, key in enumerate(keys):
                # numpy "S20" drops trailing NUL bytes of a digest: pad back to 20 bytes
                self._index.setdefault(bytes(key).ljust(20, b"\0"), (chunk, row))
            self._chunks_seen.add(chunk)

    def _verified_keys(self, chunk: str) -> np.ndarray | None:
        """The chunk's keys if its files are whole and match their checksum; else delete it (None)."""
        try:
            keys = np.load(self.folder / f"{chunk}.keys.npy", allow_pickle=False)
            vecs = np.load(self.folder / f"{chunk}.vecs.npy", mmap_mode="r", allow_pickle=False)
            lens = np.load(self.folder / f"{chunk}.lens.npy", allow_pickle=False)
            whole = vecs.ndim == 2 and len(vecs) == len(keys) == len(lens)
            digest = _digest([self.folder / f"{chunk}.{part}.npy" for part in _PARTS]) if whole else ""
            sum_file = self.folder / f"{chunk}.sum.json"
            if whole and sum_file.exists():
                whole = json.loads(sum_file.read_text()).get("sha256") == digest
            elif whole:  # a chunk from before checksums: whole, so keep it and record its checksum now
                with atomic_write(sum_file) as handle:
                    json.dump({"sha256": digest, "rows": int(len(keys))}, handle)
        except (OSError, ValueError, EOFError, json.JSONDecodeError):
            whole = False
        if whole:
            return keys
        warnings.warn(f"embedding cache: chunk {chunk} in {self.folder} is damaged (short, empty or not matching "
                      "its checksum); deleted, its texts will be encoded again", RuntimeWarning, stacklevel=3)
        for part in (*_PARTS, "sum"):
            (self.folder / f"{chunk}.{part}.{'json' if part == 'sum' else 'npy'}").unlink(missing_ok=True)
        return None

    def __len__(self) -> int:
        self._refresh()
        return len(self._index)

    def get(self, texts: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """Look up ``texts``: (vectors (n, dim) with zeros where missing or None if nothing found,
        token lengths (n,) with -1 where missing, found mask (n,) bool)."""
        self._refresh()
        n = len(texts)
        found = np.zeros(n, dtype=bool)
        lens = np.full(n, -1, dtype=np.int64)
        by_chunk: dict[str, list[tuple[int, int]]] = {}
        for i, text in enumerate(texts):
            hit = self._index.get(text_key(text))
            if hit is not None:
                by_chunk.setdefault(hit[0], []).append((i, hit[1]))
        if not by_chunk:
            return None, lens, found
        vectors = None
        for chunk, pairs in by_chunk.items():
            try:
                vecs = np.load(self.folder / f"{chunk}.vecs.npy", mmap_mode="r", allow_pickle=False)
                chunk_lens = np.load(self.folder / f"{chunk}.lens.npy", allow_pickle=False)
            except (OSError, ValueError):
                continue  # removed under us: those texts count as missing
            if vectors is None:
                vectors = np.zeros((n, vecs.shape[1]), dtype=np.float32)
            if vecs.shape[1] != vectors.shape[1]:
                continue  # pragma: no cover - damaged namespace
            dst = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
            src = np.fromiter((p[1] for p in pairs), dtype=np.int64, count=len(pairs))
            vectors[dst] = vecs[src]
            lens[dst] = chunk_lens[src]
            found[dst] = True
        return vectors, lens, found

    def put(self, texts: Sequence[str], vectors: np.ndarray, lengths: np.ndarray) -> None:
        """Store ``vectors`` (n, dim) and token ``lengths`` (n,) of ``texts`` as one new chunk."""
        if len(texts) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape[0] != len(texts):
            raise ValueError(f"EmbeddingCache.put: {len(texts)} texts but vectors of shape {vectors.shape}")
        keys = np.array([text_key(t) for t in texts], dtype="S20")
        chunk = uuid.uuid4().hex[:16]
        try:
            with atomic_write(self.folder / f"{chunk}.vecs.npy", "wb") as handle:
                np.save(handle, vectors, allow_pickle=False)
            with atomic_write(self.folder / f"{chunk}.lens.npy", "wb") as handle:
                np.save(handle, np.asarray(lengths, dtype=np.int32), allow_pickle=False)
            keys_tmp = self.folder / f".{chunk}.keys.pending.npy"  # the checksum covers the keys' bytes
            with atomic_write(keys_tmp, "wb") as handle:
                np.save(handle, keys, allow_pickle=False)
            digest = _digest([self.folder / f"{chunk}.vecs.npy", self.folder / f"{chunk}.lens.npy", keys_tmp])
            with atomic_write(self.folder / f"{chunk}.sum.json") as handle:
                json.dump({"sha256": digest, "rows": len(texts)}, handle)
            os.replace(keys_tmp, self.folder / f"{chunk}.keys.npy")  # last: the chunk now exists
        except OSError:  # pragma: no cover - full or read-only disk: caching is best effort
            return
        for row, key in enumerate(keys):
            self._index.setdefault(bytes(key), (chunk, row))
        self._chunks_seen.add(chunk)

    def clear(self) -> None:
        """Delete every chunk of this namespace."""
        for f in [*self.folder.glob("*.npy"), *self.folder.glob("*.sum.json")]:
            f.unlink(missing_ok=True)
        self._index.clear()
        self._chunks_seen.clear()
