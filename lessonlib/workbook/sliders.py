"""Interactive knobs: a function drawn with sliders in a live notebook, once with defaults elsewhere.

Every notebook that teaches a knob (BM25's k1 and b, a temperature, efSearch, a kernel width) calls
:func:`interact` instead of ``ipywidgets.interact`` directly, so the choice of *where* widgets make
sense lives in one place:

- in a live Jupyter front end, the function is shown with its sliders (``ipywidgets.interact``);
- where no front end will ever render a widget (``LESSONLIB_WIDGETS=0``, which ``lessonlib workbook``
  sets: its HTML export is static, so a slider there could never move), the function runs once with
  each control's default value, so the executed notebook still shows the picture.

The headless path also sidesteps an intermittent hang of headless executors on widget cells
(``jupyter/nbclient#312``): the kernel finishes the cell, the client never sees the reply.
"""
from __future__ import annotations

from typing import Any, Callable

from lessonlib.core import config

ENV = "LESSONLIB_WIDGETS"


def widgets_enabled() -> bool:
    """False when ``LESSONLIB_WIDGETS`` is ``0``/``false``/``no``/``off`` or ipywidgets is missing."""
    if not config.env_flag(ENV, default=True):
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def default_value(control: Any) -> Any:
    """The value a control starts at: a widget's ``.value``, a list's first item, a plain value itself.

    Mirrors ipywidgets' abbreviations: a list/tuple of options becomes a dropdown starting at its
    first option; ``(min, max[, step])`` numeric tuples become a slider starting at the midpoint (on the step grid).
    """
    if hasattr(control, "value"):
        return control.value
    if isinstance(control, tuple) and 2 <= len(control) <= 3 and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in control):
        lo, hi = control[0], control[1]
        mid = lo + (hi - lo) / 2
        if len(control) == 3:  # snapped down onto the step grid from lo, as ipywidgets does
            mid = lo + int((mid - lo) / control[2]) * control[2]
        return int(mid) if all(isinstance(x, int) for x in control) else mid
    if isinstance(control, (list, tuple)):
        if not control:
            raise ValueError("default_value([]): an empty list of options has no default")
        first = control[0]
        return first[1] if isinstance(first, tuple) and len(first) == 2 else first
    if isinstance(control, dict):
        if not control:
            raise ValueError("default_value({}): an empty dict of options has no default")
        return next(iter(control.values()))
    return control


def interact(fn: Callable[..., Any], /, *, manual: bool = False, **controls: Any) -> Any:
    """Show ``fn`` with one widget per keyword (``ipywidgets.interactive``), or call it once headless.

    ``controls`` are what ``ipywidgets.interact`` takes (widgets or abbreviations). ``manual=True``
    is ``interact_manual`` (a "Run" button, for knobs that retrain a model); headless, such a knob
    is not run at all (its cost is the reason it is manual) and a one-line note says how to run it.

    Live, the widget is displayed here and ``None`` is returned, so a cell ending on the call shows
    the sliders and nothing else (``ipywidgets.interact`` returns ``fn``, whose ``<function ...>``
    repr Jupyter would print under the sliders). Headless, returns ``fn``'s result (``None`` for a
    manual knob).
    """
    if widgets_enabled():
        import ipywidgets
        from IPython.display import display

        options = {"manual": True, "manual_name": "Run Interact"} if manual else {}
        display(ipywidgets.interactive(fn, options, **controls))
        return None
    kwargs = {name: default_value(control) for name, control in controls.items()}
    if manual:
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        print(f"(knob {fn.__name__}: widgets are off here; call {fn.__name__}({args}) to run it)")
        return None
    return fn(**kwargs)
