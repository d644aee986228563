"""Checks the notebook run of ``make test`` adds to nbval: no cell may display a stray repr.

A cell that ends on a call whose value nobody wanted shows it under the cell: ``<function ...>``
from a knob, ``<matplotlib.lines.Line2D ...>`` or ``Text(0.5, 1.0, '...')`` from a plot call, the
value ``report.record`` returns. nbval-lax never compares outputs, so without this check such a
cell passes CI and clutters every learner's notebook (issues 28 and 29). End the cell with ``;``
or make the call's value ``None``.

nbval builds each cell's outputs in ``IPyNbCell.runtest`` and hands them to its module-level
``coalesce_streams`` before comparing; the check wraps that function, so it sees exactly what the
kernel displayed, against :func:`lessonlib.workbook.nbmeta.stray_values`. ``tests/test_stray_outputs.py`` shows it failing a cell and passing the fix.

nbval sends each cell with ``store_history=False``; IPython then decides whether a trailing ``;``
silences the value by looking at the last *stored* cell, so under nbval a ``;`` silences nothing.
The cells here run with ``store_history=True``, as JupyterLab and nbclient send them, so nbval sees
what a learner sees.
"""
from __future__ import annotations

from lessonlib.workbook.nbmeta import stray_values


class StrayOutputError(AssertionError):
    """A notebook cell displayed a repr nobody asked for."""


def _install() -> None:
    try:
        import nbval.plugin as plugin
    except ImportError:  # nbval is a test peer; without it there is no notebook run to check
        return
    from nbval.kernel import RunningKernel

    original = plugin.coalesce_streams
    if getattr(original, "_lessonlib_checked", False):
        return

    def execute_cell_input(self, cell_input, allow_stdin=None):
        return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)

    def checked(outputs):
        stray = stray_values(outputs)
        if stray:
            raise StrayOutputError(f"the cell displays a stray value ({stray[0]}); end it with ';' or return None")
        return original(outputs)

    checked._lessonlib_checked = True
    plugin.coalesce_streams = checked
    RunningKernel.execute_cell_input = execute_cell_input


_install()
