"""lessonlib.workbook.sliders: headless defaults match the values ipywidgets itself starts its widgets at."""

from __future__ import annotations

import ipywidgets
import pytest

from lessonlib.workbook import sliders

ABBREVIATIONS = [(0, 10), (0, 9), (0.0, 1.0), (1, 7, 2), (-1.3, 1.0, 0.1), (10, 1000, 10), ["mean", "cls", "max"],
                 [("x", 1), ("y", 2)], {"p": 3, "q": 4}, 7, "text", True]


@pytest.mark.parametrize("abbrev", ABBREVIATIONS, ids=repr)
def test_default_value_matches_ipywidgets_interactive(abbrev):
    reference = ipywidgets.interactive(lambda a: None, a=abbrev).kwargs["a"]
    assert sliders.default_value(abbrev) == pytest.approx(reference)


def test_default_value_of_a_widget_is_its_value():
    assert sliders.default_value(ipywidgets.FloatLogSlider(value=0.07, base=10, min=-2.5, max=0)) == pytest.approx(0.07)
    assert sliders.default_value(ipywidgets.SelectionSlider(options=[8, 12, 24], value=12)) == 12
    with pytest.raises(ValueError, match="no default"):
        sliders.default_value([])


def test_headless_interact_calls_the_function_once_with_defaults(monkeypatch):
    monkeypatch.setenv("LESSONLIB_WIDGETS", "0")
    assert not sliders.widgets_enabled()
    calls = []
    out = sliders.interact(lambda k1, b, pooling: calls.append((k1, b, pooling)) or "drawn",
                         k1=ipywidgets.FloatSlider(value=1.5, min=0, max=3), b=(0.0, 1.0), pooling=["mean", "cls"])
    assert out == "drawn" and calls == [(1.5, 0.5, "mean")]


def test_headless_manual_knob_is_not_run_and_says_how(monkeypatch, capsys):
    monkeypatch.setenv("LESSONLIB_WIDGETS", "off")

    def retrain(alpha):
        raise AssertionError("a manual knob is expensive: headless, it must not run")

    assert sliders.interact(retrain, manual=True, alpha=ipywidgets.FloatLogSlider(value=0.3, base=10, min=-1.3, max=1.0)) is None
    assert "retrain(alpha=0.3" in capsys.readouterr().out


def test_live_interact_displays_the_widget_and_returns_none(monkeypatch):
    import IPython.display

    monkeypatch.setenv("LESSONLIB_WIDGETS", "1")
    shown, seen = [], []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    # a cell ending on this call prints its value: it must not be `<function ...>` (issue 29)
    assert sliders.interact(lambda x: seen.append(x), x=(0, 10)) is None
    assert sliders.widgets_enabled() and seen == [5]  # ipywidgets ran it once at the start value
    assert len(shown) == 1 and isinstance(shown[0], ipywidgets.interactive)
    assert [type(c).__name__ for c in shown[0].children][:1] == ["IntSlider"]


def test_live_manual_knob_waits_for_its_run_button(monkeypatch):
    import IPython.display

    monkeypatch.setenv("LESSONLIB_WIDGETS", "1")
    shown, seen = [], []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    assert sliders.interact(lambda alpha: seen.append(alpha), manual=True, alpha=(0.0, 1.0)) is None
    assert seen == [] and any(isinstance(c, ipywidgets.Button) for c in shown[0].children)
    shown[0].manual_button.click()
    assert seen == [0.5]


@pytest.mark.parametrize("value, default, expected", [(None, True, True), (None, False, False), ("", True, True),
                                                      (" On ", False, True), ("0", True, False), ("off", True, False),
                                                      ("maybe", True, True), ("maybe", False, False)])
def test_env_flag_reads_true_false_and_falls_back_to_the_default(monkeypatch, value, default, expected):
    from lessonlib.core import config

    if value is None:
        monkeypatch.delenv("LESSONLIB_TEST_FLAG", raising=False)
    else:
        monkeypatch.setenv("LESSONLIB_TEST_FLAG", value)
    assert config.env_flag("LESSONLIB_TEST_FLAG", default=default) is expected
