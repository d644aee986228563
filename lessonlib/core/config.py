"""Run-wide settings: fast mode, data and cache folders, seeds, device.

Everything here reads the environment at call time (never at import), so a notebook or a test
can set ``LESSONLIB_FAST`` / ``LESSONLIB_DATA`` / ``LESSONLIB_CACHE`` before calling.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def env_flag(name: str, default: bool) -> bool:
    """The boolean environment variable ``name``: ``1/true/yes/on`` is True, ``0/false/no/off`` False,
    anything else (unset, empty, unrecognised) ``default``."""
    value = os.environ.get(name, "").strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    return default


def is_fast() -> bool:
    """True when ``LESSONLIB_FAST`` is set to a true value (CI and quick runs)."""
    return env_flag("LESSONLIB_FAST", default=False)


def data_root() -> Path | None:
    """The folder named by ``LESSONLIB_DATA`` (datasets live in sub-folders), or None."""
    value = os.environ.get("LESSONLIB_DATA", "").strip()
    return Path(value).expanduser().resolve() if value else None


def dataset_choice() -> str | None:
    """The collection ``LESSONLIB_DATASET`` names (``sample``, ``scifact`` or a BEIR folder), or None.

    ``lessonlib workbook --data NAME_OR_PATH`` sets it for the notebooks it runs; see
    :func:`lessonlib.data.course_dataset`.
    """
    value = os.environ.get("LESSONLIB_DATASET", "").strip()
    return value or None


def cache_dir(*parts: str) -> Path:
    """The user cache (``LESSONLIB_CACHE`` or ``~/.cache/lessonlib``), created on demand."""
    root = Path(os.environ.get("LESSONLIB_CACHE", "~/.cache/lessonlib")).expanduser()
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def seed_everything(seed: int = 0) -> None:
    """Seed Python, numpy and torch (and make CPU torch ops deterministic where it can)."""
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        return
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def device(prefer: str | None = None) -> str:
    """``prefer`` if given, else ``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    if prefer:
        return prefer
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def precision() -> str:
    """``LESSONLIB_PRECISION``: ``auto`` (default: bf16 where the hardware multiplies bf16 natively),
    ``fp32`` or ``bf16``; what ``precision="auto"`` means in encoding and cross-encoder scoring
    (:func:`lessonlib.core.runtime.choose_precision`). The unit tests pin ``fp32``."""
    value = os.environ.get("LESSONLIB_PRECISION", "").strip().lower() or "auto"
    if value not in ("auto", "fp32", "bf16"):
        raise ValueError(f"LESSONLIB_PRECISION={value!r}: expected auto, fp32 or bf16")
    return value
