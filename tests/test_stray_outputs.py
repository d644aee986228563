"""The repository's conftest fails a notebook cell that displays a stray repr (issues 28, 29).

Runs nbval-lax, as ``make test`` does, on notebooks written under ``build/`` (inside the repository,
so pytest loads its root ``conftest.py``): a knob cell ending on ``ipywidgets.interact`` (which
returns the function) fails; ``lessonlib.workbook.sliders.interact`` and a ``;`` pass.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _nbval(tmp: Path, cells: list[str]) -> subprocess.CompletedProcess:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp / "knob.ipynb"
    nbformat.write(nb, path)
    env = {**os.environ, "LESSONLIB_WIDGETS": "1"}
    return subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider",
                           "--rootdir", str(ROOT), str(path)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture()
def tmp(request):
    folder = ROOT / "build" / f"stray-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    yield folder
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()


@pytest.mark.slow
def test_a_knob_cell_showing_a_function_fails_and_the_course_knob_passes(tmp):
    bad = _nbval(tmp, ["import ipywidgets\nipywidgets.interact(lambda k1: print(k1), k1=(0.0, 3.0))"])
    assert bad.returncode != 0 and "stray value (<function" in bad.stdout, bad.stdout[-2000:]
    good = _nbval(tmp, ["from lessonlib.workbook import sliders\nsliders.interact(lambda k1: print(k1), k1=(0.0, 3.0))",
                        "import matplotlib.pyplot as plt",  # its first import sets the backend up, in a cell of its own
                        "fig, ax = plt.subplots()\nax.set_title('labelled');",
                        "{'a dict': 'is meant to be shown'}"])
    assert good.returncode == 0, good.stdout[-2000:]


def test_the_pattern_names_what_it_should():
    from lessonlib.workbook.nbmeta import STRAY_REPR as STRAY

    for text in ["<function <lambda> at 0x7f>", "[<matplotlib.lines.Line2D at 0x7f>]", "Text(0.5, 1.0, 'x')",
                 "<Axes: title={'center': 'x'}>", "<bound method A.f of <A>>"]:
        assert STRAY.match(text), text
    for text in ["{'a': 1}", "0.812", "PairedComparison(...)", "<IPython.core.display.Markdown object>"]:
        assert not STRAY.match(text), text
