"""The workbook in a real JupyterLab, driven by a real browser (issue 29, item 5).

``make test-browser`` runs this module (pytest marker ``browser``; ``make test`` leaves it out). It
starts ``lessonlib lab`` on a temporary working copy with a random token, in fast mode, and drives
Debian's Chromium through Playwright (``executable_path``; no browser download). For notebooks 00,
02, 05 and 14 it opens the notebook, runs all cells from JupyterLab's Run menu, waits until every
code cell has run and the kernel is idle, saves, and asserts: no error output and no stray
``<function``/``<matplotlib`` value (read back from the saved file), at least one rendered image,
a knob's slider moved with the keyboard changes the knob's output, and a screenshot under
``build/screenshots/`` that is not blank. It then opens exercise 1, types the solution into the
editor and sees the check pass, and opens an offline HTML page with the network cut off and sees
its formulas typeset. Last, it opens the book (``lessonlib book``) from the file system with the network
cut off, searches it and follows the first hit.

Chromium is found at ``$LESSONLIB_CHROMIUM``, ``chromium`` or ``chromium-browser``; without it every
test fails with a one-line reason (it never skips): ``tests/browser/install_chromium.sh`` installs it.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import numpy as np
import pytest

from lessonlib.workbook.nbmeta import stray_values

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
NOTEBOOKS = ["00_setup_and_data", "02_contrastive_training", "05_ann_indexing", "14_cross_encoder_foundations"]
RUN_TIMEOUT_S = 1500  # one notebook in fast mode on 2 CPU cores, with the browser and the server beside it
# The flags a headless Chromium needs in a container with no network (as root: no sandbox).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def chromium_path() -> str:
    for candidate in (os.environ.get("LESSONLIB_CHROMIUM"), "chromium", "chromium-browser"):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    pytest.fail("Chromium not found (set LESSONLIB_CHROMIUM or run tests/browser/install_chromium.sh)", pytrace=False)


def _get(url: str, method: str = "GET") -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as response:
        body = response.read()
        return json.loads(body) if body else {}


def _shut_down_kernels(base: str, token: str) -> None:
    """End the kernels the test started (closing the page leaves them running and busy with memory)."""
    for session in _get(f"{base}/api/sessions?token={token}"):
        _get(f"{base}/api/sessions/{session['id']}?token={token}", method="DELETE")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``lessonlib lab`` on a fresh working copy, fast mode, widgets live; yields (base URL, token, folder)."""
    from lessonlib.workbook.lab import free_port

    folder = tmp_path_factory.mktemp("lab") / "work"
    settings = tmp_path_factory.mktemp("settings")  # a clean JupyterLab user settings folder: no news pop-up
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = free_port(), os.urandom(16).hex()
    env = {**os.environ, "LESSONLIB_FAST": "1", "LESSONLIB_WIDGETS": "1", "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(settings / "workspaces")}
    log = open(tmp_path_factory.mktemp("log") / "lab.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "lessonlib.workbook.cli", "lab", "--copy", str(folder), "--port",
                             str(port), "--token", token], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder.parent)
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            _get(f"{base}/api/status?token={token}")
            break
        except OSError:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"lessonlib lab exited: {log.read()[-500:]}", pytrace=False)
            time.sleep(0.5)
    else:
        pytest.fail("JupyterLab did not answer within 120 s", pytrace=False)
    yield base, token, folder
    proc.terminate()
    proc.wait(timeout=60)
    log.close()


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url.replace("?token=", "?reset&token="))  # reset: no tab of an earlier test restored from the workspace
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
    _wait_idle(page, 120)
    assert page.locator(".jp-NotebookPanel").count() == 1, "more than one notebook open: Run All would hit the wrong one"
    return context, page


def _wait_idle(page, seconds: float) -> None:
    """Wait until the status bar says the notebook's kernel is idle (not starting, not busy)."""
    page.wait_for_function("() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]"
                           ".some(e => /\\|\\s*Idle\\s*$/.test(e.textContent))", timeout=seconds * 1000)


def _menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).first.click()


def _run_all_and_wait(page, seconds: float) -> None:
    _menu(page, "Run", "Run All Cells")
    start = time.monotonic()
    last, changed = None, start
    while True:
        prompts = page.eval_on_selector_all(
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt", "els => els.map(e => e.textContent.trim())")
        if prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
            break
        now = time.monotonic()
        if prompts != last:
            last, changed = prompts, now
            done = sum(bool(re.fullmatch(r"\[\d+\]:", p)) for p in prompts)
            print(f"  {now - start:5.0f} s: {done}/{len(prompts)} cells run", flush=True)
        if now - start > seconds or now - changed > 600:
            pytest.fail(f"after {now - start:.0f} s, cells not run: prompts {prompts}", pytrace=False)
        time.sleep(2)
    _wait_idle(page, 60)


def _save(page, path: Path) -> None:
    """Save with Ctrl+S and wait until the tab is clean and the file on disk is newer than before."""
    before = path.stat().st_mtime_ns
    page.keyboard.press("Control+s")
    page.wait_for_selector(".lm-TabBar-tab.jp-mod-dirty", state="detached", timeout=60_000)
    deadline = time.monotonic() + 60
    while path.stat().st_mtime_ns == before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert path.stat().st_mtime_ns != before, f"{path.name} was not saved"


def _not_blank(path: Path) -> float:
    import matplotlib.image

    pixels = matplotlib.image.imread(path)[..., :3]
    return float(np.std(pixels))


def _move_a_slider(page) -> None:
    """Move the first knob's slider one step with the keyboard and wait for its output to change."""
    knob = page.locator(".widget-interact").first
    knob.scroll_into_view_if_needed()
    output = knob.locator(".widget-output, .jp-OutputArea").first
    before = output.inner_html()
    handle = knob.locator(".noUi-handle").first
    handle.focus()
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    for _ in range(3):  # a slider that starts at its maximum moves down
        handle.press("ArrowLeft" if at_max else "ArrowRight")
    button = knob.locator("button")
    if button.count():  # a manual knob runs on its button
        button.first.click()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        after = output.inner_html()
        if after != before and "jp-OutputArea-child" in after:
            return
        time.sleep(1)
    pytest.fail("moving the slider did not change the knob's output within 300 s", pytrace=False)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_renders_and_its_knob_responds(lab, browser, name):
    base, token, folder = lab
    context, page = _open(browser, f"{base}/lab/tree/notebooks/{name}.ipynb?token={token}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        assert page.locator(".jp-Dialog").count() == 0, "a dialog (kernel selection?) opened with the notebook"
        _run_all_and_wait(page, RUN_TIMEOUT_S)
        assert page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedImage img").count() >= 1
        _move_a_slider(page)
        _save(page, folder / "notebooks" / f"{name}.ipynb")
        shot = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(shot))
        assert _not_blank(shot) > 0.02, f"{shot} is blank"
    except BaseException:
        page.screenshot(path=str(SCREENSHOTS / f"{name}-failed.png"))  # what the browser showed when it failed
        raise
    finally:
        context.close()
        _shut_down_kernels(base, token)
    nb = nbformat.read(folder / "notebooks" / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count for c in code), "a code cell was not run"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{errors[0].ename}: {errors[0].evalue}"
    stray = [text for c in code for text in stray_values(c.outputs)]
    assert not stray, f"stray value shown: {stray[0]}"
    assert any("widget-view" in " ".join(o.get("data", {})) for c in code for o in c.outputs), "no widget in the outputs"
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    assert any(w.get("model_name", "").endswith("SliderModel") for w in state.values()), "sliders' state not saved"


def test_an_exercise_solved_in_the_editor_passes_its_check(lab, browser):
    from lessonlib.workbook import exercises

    base, token, folder = lab
    src = exercises.parse(ROOT / "exercises" / "source" / "ex01_mean_pooling.py")
    solution = exercises.to_notebook(src, student=False).cells[1].source
    context, page = _open(browser, f"{base}/lab/tree/exercises/student/ex01_mean_pooling.ipynb?token={token}")
    try:
        editor = page.locator(".jp-CodeCell .cm-content").first
        editor.click()
        page.keyboard.press("Control+a")
        page.keyboard.press("Delete")
        page.keyboard.insert_text(solution)  # as a paste: no auto-indent or auto-closed brackets
        page.keyboard.press("Escape")
        _run_all_and_wait(page, 300)
        outputs = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output").all_inner_texts()
        assert any("mean_pooling_cosine: all" in t and "cases pass" in t for t in outputs), outputs
        _save(page, folder / "exercises" / "student" / "ex01_mean_pooling.ipynb")
    finally:
        context.close()
        _shut_down_kernels(base, token)
    saved = nbformat.read(folder / "exercises" / "student" / "ex01_mean_pooling.ipynb", as_version=4)
    assert "NotImplementedError" not in saved.cells[1].source and "pool(q_hidden, q_mask)" in saved.cells[1].source


@contextlib.contextmanager
def offline_page(browser, path: Path):
    """A page opened on ``path`` (file://) with every other request refused; yields (page, the URLs refused)."""
    context = browser.new_context()
    page = context.new_page()
    remote: list[str] = []
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
               else (remote.append(route.request.url), route.abort()))
    try:
        page.goto(path.as_uri())
        yield page, remote
    finally:
        context.close()


def test_an_offline_html_page_typesets_its_formulas_with_the_network_cut(browser, tmp_path):
    from lessonlib.workbook.html import export_html

    page_path = export_html(nbformat.read(ROOT / "notebooks" / "01_foundations.ipynb", as_version=4),
                            tmp_path / "01_foundations.html")
    with offline_page(browser, page_path) as (page, remote):
        page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 "
                               "&& document.querySelectorAll('.MathJax, .MathJax_Display').length > 0", timeout=60_000)
        assert page.title().startswith("01 · Foundations")
        assert not remote, f"the page asked the network for {remote[0]}"


def test_the_book_opens_from_the_file_system_and_its_search_finds_a_section(browser, tmp_path):
    """`lessonlib book` (issue 28, item 2): file://, the network cut, search "platt", follow the first hit."""
    from lessonlib.workbook.book import build_book

    report = build_book(tmp_path / "book", root=ROOT)
    with offline_page(browser, report.out / "index.html") as (page, remote):
        assert page.locator(".book-nav h3").all_text_contents()[:3] == ["Getting started", "Day 10.1 · Dual encoders",
                                                                      "Day 10.2 · Cross encoders"]
        page.fill("#book-search", "platt scaling")
        page.wait_for_selector("#book-results li a", timeout=10_000)
        first = page.locator("#book-results li a").first
        expected = first.get_attribute("href")
        first.click()
        page.wait_for_load_state("load")
        assert expected.split("#")[0] in page.url
        assert "Platt" in page.content()
        page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0", timeout=60_000)
        assert not remote, f"the book asked the network for {remote[0]}"
