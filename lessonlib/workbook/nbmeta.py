"""The metadata every notebook of the course carries, so that JupyterLab opens it on the right kernel.

A notebook without ``kernelspec`` opens in JupyterLab with a "Select Kernel" dialog, and one a learner
dismissed does not run; without ``language_info`` the editor does not know it holds Python. The
course's notebooks, the exercise notebooks and the nbgrader export all take these two entries from
here (``tests/test_notebook_metadata.py`` checks every committed notebook).
"""
from __future__ import annotations

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
