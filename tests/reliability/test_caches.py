"""Caches and saved folders you can trust: damage is found, reported once, and repaired or named."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from lessonlib.core.cache import EmbeddingCache
from lessonlib.core.io import MARKER, atomic_dir, verify_folder

TEXTS = ["alpha", "beta", "gamma"]


def _filled(tmp_path):
    cache = EmbeddingCache("ns", root=tmp_path)
    cache.put(TEXTS, np.arange(12, dtype=np.float32).reshape(3, 4), np.array([1, 2, 3]))
    chunk = next((tmp_path / "ns").glob("*.keys.npy")).name[: -len(".keys.npy")]
    return tmp_path / "ns", chunk


def _damage(folder, chunk, how):
    vecs = folder / f"{chunk}.vecs.npy"
    if how == "empty":
        vecs.write_bytes(b"")
    elif how == "short":
        vecs.write_bytes(vecs.read_bytes()[:-20])
    elif how == "garbage":  # same size, other bytes: only the checksum can tell
        raw = bytearray(vecs.read_bytes())
        raw[-16:] = bytes(range(16))
        vecs.write_bytes(bytes(raw))
    elif how == "empty keys":
        (folder / f"{chunk}.keys.npy").write_bytes(b"")


@pytest.mark.parametrize("how", ["empty", "short", "garbage", "empty keys"])
def test_a_damaged_chunk_is_reported_once_deleted_and_recomputed(tmp_path, how):
    folder, chunk = _filled(tmp_path)
    _damage(folder, chunk, how)
    reader = EmbeddingCache("ns", root=tmp_path)
    with pytest.warns(RuntimeWarning, match="damaged"):
        vecs, lens, found = reader.get(TEXTS)
    assert not found.any(), "nothing is served from a damaged chunk"
    assert not list(folder.glob(f"{chunk}.*")), "the damaged chunk is deleted"
    reader.put(TEXTS, np.ones((3, 4), np.float32), np.array([1, 1, 1]))  # encoded again
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reported once: a fresh reader finds nothing wrong
        vecs, lens, found = EmbeddingCache("ns", root=tmp_path).get(TEXTS)
    assert found.all() and np.array_equal(vecs, np.ones((3, 4), np.float32))


def test_a_chunk_from_before_checksums_is_kept_and_gets_one(tmp_path):
    folder, chunk = _filled(tmp_path)
    (folder / f"{chunk}.sum.json").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, _, found = EmbeddingCache("ns", root=tmp_path).get(TEXTS)
    assert found.all() and (folder / f"{chunk}.sum.json").exists()


def test_a_corrupt_saved_file_is_a_one_line_error_naming_it(tmp_path):
    with atomic_dir(tmp_path / "model") as tmp:
        (tmp / "model.safetensors").write_bytes(b"\x00" * 1000)
        (tmp / "sub").mkdir()
        (tmp / "sub" / "config.json").write_text("{}")
    verify_folder(tmp_path / "model")  # intact
    manifest = json.loads((tmp_path / "model" / MARKER).read_text())
    assert set(manifest["files"]) == {"model.safetensors", "sub/config.json"}
    raw = bytearray((tmp_path / "model" / "model.safetensors").read_bytes())
    raw[500] ^= 0x01  # one flipped bit
    (tmp_path / "model" / "model.safetensors").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"model\.safetensors: corrupt") as err:
        verify_folder(tmp_path / "model")
    assert "\n" not in str(err.value)
    (tmp_path / "model" / "model.safetensors").write_bytes(bytes(raw[:100]))  # truncated
    with pytest.raises(ValueError, match="corrupt"):
        verify_folder(tmp_path / "model")
    (tmp_path / "model" / "sub" / "config.json").unlink()
    (tmp_path / "model" / "model.safetensors").write_bytes(b"\x00" * 1000)
    with pytest.raises(ValueError, match="missing"):
        verify_folder(tmp_path / "model")


def test_a_bit_flipped_cross_encoder_does_not_load(tmp_path):
    torch = pytest.importorskip("torch")  # noqa: F841
    from lessonlib.cross import CrossEncoder
    from lessonlib.workbook.cli import main

    ce = CrossEncoder(max_length=128)
    ce.save(tmp_path / "ce")
    weights = tmp_path / "ce" / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[len(raw) // 2] ^= 0x10
    weights.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="model.safetensors: corrupt"):
        CrossEncoder.load(tmp_path / "ce")
    run = tmp_path / "r.trec"
    run.write_text("1 Q0 d1 1 1.0 t\n")
    assert main(["rerank", "--data", "sample", "--run", str(run), "--model", str(tmp_path / "ce"), "--out",
                 str(tmp_path / "o.trec")]) == 2
