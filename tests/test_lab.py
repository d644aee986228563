"""`lessonlib lab`: a working copy that keeps the repository clean, and a JupyterLab on the right kernel (issue 29)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lessonlib.workbook import lab

ROOT = Path(__file__).resolve().parents[1]


def test_first_start_copies_every_notebook_and_later_starts_keep_the_learners(tmp_path):
    first = lab.copy_workbook(ROOT, tmp_path / "mine")
    n_notebooks = len(list((ROOT / "notebooks").glob("*.ipynb")))
    n_exercises = len(list((ROOT / "exercises" / "student").glob("*.ipynb")))
    assert len(first.copied) == n_notebooks + n_exercises and not first.kept
    assert (tmp_path / "mine" / "notebooks" / "00_setup_and_data.ipynb").read_bytes() == \
        (ROOT / "notebooks" / "00_setup_and_data.ipynb").read_bytes()
    edited = tmp_path / "mine" / "notebooks" / "00_setup_and_data.ipynb"
    edited.write_text("my answers")
    gone = tmp_path / "mine" / "exercises" / "student" / "ex01_mean_pooling.ipynb"
    gone.unlink()  # as a new exercise after a git pull
    again = lab.copy_workbook(ROOT, tmp_path / "mine")
    assert again.copied == ["exercises/student/ex01_mean_pooling.ipynb"]
    assert edited.read_text() == "my answers" and gone.exists()
    assert not list((tmp_path / "mine").rglob("*.tmp"))


def test_the_copy_refuses_the_repositorys_own_folders_and_a_file(tmp_path):
    for target in (ROOT, ROOT / "notebooks", ROOT / "exercises" / "student"):
        with pytest.raises(ValueError, match="repository's own notebooks"):
            lab.copy_workbook(ROOT, target)
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectoryError):
        lab.copy_workbook(ROOT, tmp_path / "f")
    with pytest.raises(FileNotFoundError, match="workbook's repository"):
        lab.copy_workbook(tmp_path, tmp_path / "out")
    assert (tmp_path / "f").read_text() == "x"


@pytest.mark.parametrize("euid, expected", [(0, True), (1000, False)])
def test_allow_root_only_as_root_and_this_venvs_kernel_first(monkeypatch, tmp_path, euid, expected):
    monkeypatch.setattr(os, "geteuid", lambda: euid)
    monkeypatch.setenv("JUPYTER_PATH", "/elsewhere")
    cmd = lab.lab_command(tmp_path, port=8765, token="abc", first="notebooks/00.ipynb")
    assert ("--allow-root" in cmd.argv) is expected
    assert cmd.argv[:3] == [sys.executable, "-m", "jupyterlab"] and "--no-browser" in cmd.argv
    assert cmd.env["JUPYTER_PATH"].split(os.pathsep) == [str(Path(sys.prefix) / "share" / "jupyter"), "/elsewhere"]
    assert cmd.url == "http://localhost:8765/lab/tree/notebooks/00.ipynb?token=abc"


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_lab_serves_the_working_copy_on_this_pythons_kernel(tmp_path):
    port, token = lab.free_port(), "t" + os.urandom(8).hex()
    before = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "notebooks", "exercises"],
                            capture_output=True, text=True).stdout
    proc = subprocess.Popen([sys.executable, "-m", "lessonlib.workbook.cli", "lab", "--copy", str(tmp_path / "w"),
                             "--port", str(port), "--token", token], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                _get(f"{base}/api/status?token={token}")
                break
            except OSError:
                time.sleep(0.5)
        specs = _get(f"{base}/api/kernelspecs?token={token}")
        python3 = specs["kernelspecs"]["python3"]["spec"]
        assert Path(python3["argv"][0]).resolve() == Path(sys.executable).resolve() or python3["argv"][0] == "python"
        listing = _get(f"{base}/api/contents/notebooks?token={token}")
        assert any(item["name"] == "00_setup_and_data.ipynb" for item in listing["content"])
        with pytest.raises(OSError):  # the token is needed
            _get(f"{base}/api/contents/notebooks")
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"http://localhost:{port}/lab/tree/notebooks/00_setup_and_data.ipynb?token={token}" in out
    for _ in range(40):  # stopping lessonlib lab stopped the server it started
        try:
            _get(f"http://127.0.0.1:{port}/api/status?token={token}")
            time.sleep(0.5)
        except OSError:
            break
    else:
        pytest.fail("the JupyterLab server outlived `lessonlib lab`")
    after = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "notebooks", "exercises"],
                           capture_output=True, text=True).stdout
    assert after == before


def test_lab_settings_save_widget_state_and_keep_the_environments_own(tmp_path):
    own = tmp_path / "own"
    own.mkdir()
    (own / "page_config.json").write_text('{"x": 1}')
    (own / "overrides.json").write_text(json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}))
    folder = lab.lab_settings(tmp_path / "w", own)
    overrides = json.loads((folder / "overrides.json").read_text())
    assert overrides["@jupyter-widgets/jupyterlab-manager:plugin"] == {"saveState": True}
    assert overrides["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert (folder / "page_config.json").read_text() == '{"x": 1}'
    (own / "overrides.json").write_text(json.dumps({"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": False}}))
    again = json.loads((lab.lab_settings(tmp_path / "w", own) / "overrides.json").read_text())
    assert again["@jupyter-widgets/jupyterlab-manager:plugin"] == {"saveState": False}  # the environment's choice wins
    assert json.loads((lab.lab_settings(tmp_path / "v", tmp_path / "none") / "overrides.json").read_text()) == lab.OVERRIDES
