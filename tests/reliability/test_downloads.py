"""Archives: a zip bomb, too many members or a truncated file is a one-line error and writes nothing."""

from __future__ import annotations

import zipfile

import pytest

from lessonlib.core.download import extract_zip


def _zip(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_zip_bomb_stops_at_the_cap_and_leaves_nothing(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", {"zeros.bin": b"\0" * (8 << 20)})
    assert archive.stat().st_size < 100_000, "8 MiB of zeros compress to almost nothing"
    with pytest.raises(ValueError, match="more than"):
        extract_zip(archive, tmp_path / "out", max_bytes=1 << 20)
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.zip"], "no temporary folder left behind"


def test_a_header_that_lies_about_sizes_still_stops_at_the_cap(tmp_path):
    archive = _zip(tmp_path / "liar.zip", {"zeros.bin": b"\0" * (4 << 20)})
    raw = bytearray(archive.read_bytes())
    # patch the uncompressed size in the central directory to 10 bytes (offset 24 of the entry)
    at = raw.rfind(b"PK\x01\x02")
    raw[at + 24: at + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))
    with pytest.raises(ValueError):
        extract_zip(archive, tmp_path / "out", max_bytes=1 << 20)
    assert not (tmp_path / "out").exists()


def test_too_many_members_are_refused(tmp_path):
    archive = _zip(tmp_path / "many.zip", {f"f{i}.txt": b"x" for i in range(50)})
    with pytest.raises(ValueError, match="50 members"):
        extract_zip(archive, tmp_path / "out", max_members=10)
    assert not (tmp_path / "out").exists()


def test_a_truncated_archive_is_a_one_line_error(tmp_path):
    archive = _zip(tmp_path / "ok.zip", {"corpus.jsonl": b'{"_id": "d1", "text": "x"}\n' * 1000})
    archive.write_bytes(archive.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a readable zip") as err:
        extract_zip(archive, tmp_path / "out")
    assert "\n" not in str(err.value) and not (tmp_path / "out").exists()


def test_a_good_archive_still_extracts(tmp_path):
    archive = _zip(tmp_path / "ok.zip", {"scifact/corpus.jsonl": b"{}\n", "scifact/qrels/test.tsv": b"q\td\t1\n"})
    out = extract_zip(archive, tmp_path / "out")
    assert (out / "scifact" / "qrels" / "test.tsv").read_bytes() == b"q\td\t1\n"
