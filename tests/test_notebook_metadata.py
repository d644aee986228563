"""Every committed notebook opens in JupyterLab on the course's kernel (issue 29, item 1).

A notebook without ``kernelspec`` opens with a "Select Kernel" dialog; one without ``language_info``
gets no Python highlighting. The course's notebooks and the exercise notebooks a learner receives are
all checked, against :mod:`lessonlib.workbook.nbmeta`.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from lessonlib.workbook.nbmeta import KERNELSPEC, LANGUAGE_INFO, stamp_kernel

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("exercises/student/*.ipynb"))


def test_the_course_has_notebooks_to_check():
    assert len(list(ROOT.glob("notebooks/*.ipynb"))) >= 25 and len(list(ROOT.glob("exercises/student/*.ipynb"))) >= 20


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_names_the_course_kernel_and_language(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec") == KERNELSPEC, f"{path.name}: kernelspec missing or not python3"
    info = nb.metadata.get("language_info") or {}
    assert {k: info.get(k) for k in LANGUAGE_INFO} == LANGUAGE_INFO, f"{path.name}: language_info missing or incomplete"
    nbformat.validate(nb)  # every cell has its id (nbformat 4.5), so JupyterLab does not rewrite the file on open


def test_stamp_kernel_keeps_a_kernels_version_and_replaces_a_wrong_kernel():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "julia-1.9", "display_name": "Julia", "language": "julia"}
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    stamp_kernel(nb)
    assert nb.metadata.kernelspec == KERNELSPEC
    assert nb.metadata.language_info["version"] == "3.11.7" and nb.metadata.language_info["pygments_lexer"] == "ipython3"
