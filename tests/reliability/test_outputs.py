"""Nothing lost: lessonlib never deletes a folder it did not write, and writes with the user's modes."""

from __future__ import annotations

import os
import stat

import pytest

from lessonlib.core.io import MARKER, atomic_dir, atomic_write, check_replaceable, is_lessonlib_folder
from lessonlib.workbook.cli import main


def _someones_folder(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "thesis.txt").write_text("three years of work")
    (notes / "sub").mkdir()
    (notes / "sub" / "data.csv").write_text("1,2,3")
    return notes


def _intact(notes):
    assert (notes / "thesis.txt").read_text() == "three years of work"
    assert (notes / "sub" / "data.csv").read_text() == "1,2,3"


@pytest.mark.parametrize("command", [["train-dual", "--data", "sample"], ["train-cross", "--data", "sample"]])
def test_training_refuses_an_out_folder_holding_someones_files_and_leaves_them_intact(tmp_path, capsys, command):
    notes = _someones_folder(tmp_path)
    assert main([*command, "--out", str(notes), "--fast"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did not write" in err[0], err
    _intact(notes)
    assert sorted(p.name for p in notes.iterdir()) == ["sub", "thesis.txt"]


def test_training_refuses_an_out_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "model.txt"
    target.write_text("mine")
    assert main(["train-dual", "--data", "sample", "--out", str(target), "--fast"]) == 2
    assert "is a file" in capsys.readouterr().err and target.read_text() == "mine"


def test_a_lessonlib_folder_is_replaced_only_with_overwrite(tmp_path, capsys):
    with atomic_dir(tmp_path / "model") as tmp:
        (tmp / "weights.bin").write_bytes(b"old")
    assert is_lessonlib_folder(tmp_path / "model")
    assert main(["train-dual", "--data", "sample", "--out", str(tmp_path / "model"), "--fast"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "model" / "weights.bin").read_bytes() == b"old"
    check_replaceable(tmp_path / "model", overwrite=True)  # what --overwrite allows


def test_atomic_dir_replaces_its_own_folder_and_refuses_others(tmp_path):
    with atomic_dir(tmp_path / "m") as tmp:
        (tmp / "a").write_text("1")
    with atomic_dir(tmp_path / "m") as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == sorted([MARKER, "b"])
    notes = _someones_folder(tmp_path)
    with pytest.raises(FileExistsError, match="did not write"):
        with atomic_dir(notes) as tmp:
            (tmp / "x").write_text("never")
    _intact(notes)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary folder left behind"
    (tmp_path / "empty").mkdir()
    with atomic_dir(tmp_path / "empty") as tmp:  # an empty folder holds nothing to lose
        (tmp / "c").write_text("3")
    assert (tmp_path / "empty" / "c").read_text() == "3"


def test_a_failed_save_keeps_the_previous_folder(tmp_path):
    with atomic_dir(tmp_path / "m") as tmp:
        (tmp / "v1").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "m") as tmp:
            (tmp / "v2").write_text("2")
            raise RuntimeError("killed mid-save")
    assert (tmp_path / "m" / "v1").read_text() == "1" and not (tmp_path / "m" / "v2").exists()


def test_files_and_folders_get_the_users_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "f.txt") as handle:
            handle.write("x")
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "w").write_text("y")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "d" / MARKER).stat().st_mode) == 0o644


def test_resume_without_a_checkpoint_is_an_error_not_a_fresh_start(tmp_path, capsys):
    out = tmp_path / "model"
    assert main(["train-dual", "--data", "sample", "--out", str(out), "--fast", "--resume",
                 "--checkpoint-dir", str(tmp_path / "chekpoints")]) == 2
    assert "no checkpoint" in capsys.readouterr().err and not out.exists()
    assert main(["train-dual", "--data", "sample", "--out", str(out), "--fast", "--resume"]) == 2
    assert "--checkpoint-dir" in capsys.readouterr().err
