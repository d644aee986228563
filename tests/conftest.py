"""Shared fixtures: SciFact when it can be found (else the test is skipped), the bundled sample."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Parity tests compare fp32 with the peers; the bf16 path (precision="auto" on a CPU with AMX or
# AVX512-BF16) has its own tests in test_precision.py, which set the precision they test.
os.environ.setdefault("LESSONLIB_PRECISION", "fp32")


def _scifact(split: str):
    from lessonlib.data import load_dataset

    try:
        return load_dataset("scifact", split=split)
    except (FileNotFoundError, OSError) as exc:
        pytest.skip(f"SciFact not available: {exc}")


@pytest.fixture(scope="session")
def scifact():
    """SciFact test split (LESSONLIB_DATA/scifact or the user cache)."""
    return _scifact("test")


@pytest.fixture(scope="session")
def scifact_train():
    """SciFact train split."""
    return _scifact("train")


@pytest.fixture(scope="session")
def minilm():
    """The course's dual encoder (all-MiniLM-L6-v2, installed offline), loaded once."""
    from lessonlib.core import config
    from lessonlib.dual.encode import load_model

    try:
        return load_model(config.DEFAULT_MODEL)
    except (FileNotFoundError, OSError) as exc:  # pragma: no cover - model not installed
        pytest.skip(f"MiniLM not available: {exc}")
