"""The metadata every notebook of the course carries, so that JupyterLab opens it on the right kernel,
and the stray values no cell of it may show.

A notebook without ``kernelspec`` opens in JupyterLab with a "Select Kernel" dialog, and one a learner
dismissed does not run; without ``language_info`` the editor does not know it holds Python. The
course's notebooks, the exercise notebooks and the nbgrader export all take these two entries from
here (``tests/test_notebook_metadata.py`` checks every committed notebook).
"""
from __future__ import annotations

import re
from typing import Any

KERNELSPEC: dict[str, str] = {"name": "python3", "display_name": "Python 3", "language": "python"}
"""The kernel ``make install`` registers in the venv (``ipykernel install --sys-prefix --name python3``)."""

LANGUAGE_INFO: dict[str, Any] = {
    "name": "python",
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "pygments_lexer": "ipython3",
    "codemirror_mode": {"name": "ipython", "version": 3},
    "nbconvert_exporter": "python",
}
"""What IPython's kernel reports, less the version (which changes with the learner's Python)."""


def stamp_kernel(nb: Any) -> Any:
    """Set ``nb.metadata.kernelspec`` and ``language_info`` to the course's; returns ``nb``.

    A ``language_info`` already there (one a kernel wrote, with its version) keeps its extra keys.
    """
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    info = dict(nb.metadata.get("language_info") or {})
    info.update(LANGUAGE_INFO)
    nb.metadata["language_info"] = info
    return nb


STRAY_REPR = re.compile(r"^\[?<(function |bound method |matplotlib\.|Axes: )|^(Text|Line2D)\(")
"""The ``text/plain`` of an ``execute_result`` no lesson means to show: a knob's ``<function ...>``, a plot
call's ``<matplotlib...>``/``Text(...)``. The notebook run of ``make test`` (the root ``conftest.py``) and
the browser test fail a cell that shows one; end the cell with ``;`` or return ``None``."""


def stray_values(outputs: list) -> list[str]:
    """The first line of each ``execute_result`` in ``outputs`` that :data:`STRAY_REPR` matches."""
    found = []
    for out in outputs:
        if out.get("output_type") == "execute_result":
            text = str(out.get("data", {}).get("text/plain", ""))
            if STRAY_REPR.match(text):
                found.append(text.splitlines()[0][:80])
    return found
