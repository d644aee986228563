"""Exercises and their checks, for EVERY registered exercise (parametrized over the registry, so a new
exercise is covered as soon as its check module exists):

- the student stub fails (not_implemented), the instructor solution passes every case;
- a submission that calls the reference fails every case with the guard's "write it yourself" message,
  and the exercise's ``blocks`` alone catch the library code its reference runs;
- every known-wrong variant differs from the reference on some case, fails, and gets its own hint;
- case names are unique and say something; the committed student notebooks equal what the sources generate.

Plus the guard itself: lifted after check() returns and after the learner's function raises, names
imported before the check are caught, a swallowed BlockedCall still fails, and failure messages
summarise large inputs.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from lessonlib.workbook import exercises
from lessonlib.workbook.checks import REGISTRY, Case, ExerciseCheck, check, guard
from lessonlib.workbook.checks.core import _copy, summarise, wrong_outputs_differ

ROOT = Path(__file__).resolve().parents[1]
SOURCES = exercises.sources(ROOT / "exercises" / "source")
BY_ID = {exercises.parse(p).exercise: p for p in SOURCES}
IDS = sorted(REGISTRY)
WRITE_IT = "is not available during this check: this exercise asks you to write it yourself"


def _run_cells(nb: nbformat.NotebookNode) -> dict:
    """Execute the code cells in one namespace (no kernel needed) and return it."""
    namespace: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, "<exercise>", "exec"), namespace)  # noqa: S102 - our own sources
    return namespace


def _function(exercise: str, student: bool):
    """The learner's function of ``exercise``: the instructor solution or the student stub, from its source
    (every code cell but the final check cell is run)."""
    src = exercises.parse(BY_ID[exercise])
    nb = exercises.to_notebook(src, student=student)
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and c.source.lstrip().startswith("result = check("))]
    return _run_cells(nb)[src.function]


# ------------------------------------------------------------------------------------------ per exercise
@pytest.mark.parametrize("exercise", IDS)
def test_solution_passes_and_student_stub_fails(exercise, capsys):
    assert exercise in BY_ID, f"{exercise}: registered without a source in exercises/source"
    solved = check(exercise, _function(exercise, student=False), verbose=False)
    assert solved.ok, solved.failures[:1]
    stub = check(exercise, _function(exercise, student=True))
    assert not stub.ok and stub.status == "not_implemented"
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("exercise", IDS)
def test_calling_the_reference_is_blocked(exercise):
    spec = REGISTRY[exercise]
    signature = inspect.signature(_function(exercise, student=False))

    def cheat(*args, **kwargs):  # the learner's signature, the reference's answer
        bound = signature.bind(*args, **kwargs)
        return spec.reference(**bound.arguments)

    cheat.__signature__ = signature
    result = check(exercise, cheat, verbose=False)
    assert result.passed == 0 and result.status == "error", result.failures[:1]
    assert len(result.failures) == result.total and all(WRITE_IT in f for f in result.failures), result.failures[:1]
    # the library code the reference runs is caught by `blocks` alone (not only because the check's own
    # reference is blocked too): its adapter calls the blocked library objects
    cases = spec.make_cases(np.random.default_rng(0))
    caught = 0
    blocker = guard.Blocker(spec.blocks)
    for case in cases:
        with blocker:
            try:
                spec.reference(**_copy(case.kwargs))
            except guard.BlockedCall:
                pass
        caught += bool(blocker.hits)
    assert spec.blocks and caught >= len(cases) / 2, f"{exercise}: blocks catch the reference on {caught}/{len(cases)} cases"
    # and afterwards the reference works again
    assert spec.same(spec.reference(**_copy(cases[0].kwargs)), spec.reference(**_copy(cases[0].kwargs)))


@pytest.mark.parametrize("exercise", IDS)
def test_each_wrong_variant_fails_with_its_own_hint(exercise):
    spec = REGISTRY[exercise]
    assert len(spec.wrong) >= 2, f"{exercise}: give at least two known-wrong variants"
    differs = wrong_outputs_differ(spec)
    for hint, variant in spec.wrong.items():
        assert differs[hint], f"{exercise}: the variant for {hint!r} never differs from the reference"
        result = check(exercise, variant, verbose=False)
        assert not result.ok, hint
        assert hint in result.hints, f"{exercise}: {hint!r} never shown; hints given: {set(result.hints)}"
        assert hint != spec.hint


@pytest.mark.parametrize("exercise", IDS)
def test_case_names_are_unique_and_teach(exercise):
    spec = REGISTRY[exercise]
    for seed in (0, 123):
        cases = spec.make_cases(np.random.default_rng(seed))
        names = [c.name for c in cases]
        assert len(set(names)) == len(names) >= 5
        assert not any(re.fullmatch(r"(case|test)\s*\d*", n.strip(), re.I) for n in names), names


def test_every_registered_exercise_has_a_source():
    ids = set(BY_ID)
    assert ids == set(REGISTRY), f"registered without a source: {set(REGISTRY) - ids}; sources without a check: {ids - set(REGISTRY)}"
    assert len(SOURCES) >= 17


def test_one_check_module_per_source():
    modules = {p.stem for p in (ROOT / "lessonlib" / "workbook" / "checks").glob("ex*.py")}
    assert modules == {p.stem for p in SOURCES}


# ------------------------------------------------------------------------------------------ notebooks
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_student_version_has_no_solution(path):
    src = exercises.parse(path)
    nb = exercises.to_notebook(src, student=True)
    text = "\n".join(c.source for c in nb.cells)
    assert exercises.BEGIN not in text and exercises.END not in text
    solution_lines = [line.strip() for kind, code in src.cells if kind == "code"
                      for line in code.split(exercises.BEGIN)[1:] for line in line.split(exercises.END)[0].splitlines() if line.strip()]
    assert solution_lines and not any(line in text for line in solution_lines if len(line) > 20)


def test_committed_student_notebooks_match_their_sources(tmp_path):
    exercises.build_notebooks(ROOT / "exercises" / "source", tmp_path, versions=("student",))
    for path in SOURCES:
        fresh = json.loads((tmp_path / "student" / f"{path.stem}.ipynb").read_text())
        committed_path = ROOT / "exercises" / "student" / f"{path.stem}.ipynb"
        assert committed_path.exists(), f"run `lessonlib exercises build --only student` ({committed_path} missing)"
        assert json.loads(committed_path.read_text()) == fresh, f"{committed_path} drifted from its source"


def test_parse_rejects_sources_without_header_or_solution(tmp_path):
    bad = tmp_path / "ex99_bad.py"
    bad.write_text("# %%\nprint(1)\n")
    with pytest.raises(ValueError, match="header lacks"):
        exercises.parse(bad)
    bad.write_text("# exercise: x\n# function: f\n# practises: y\n# %%\ndef f():\n    return 1\n")
    with pytest.raises(ValueError, match="no '# BEGIN SOLUTION' region"):
        exercises.parse(bad)


# ------------------------------------------------------------------------------------------ feedback
def test_a_wrong_answer_reports_the_case_by_name_expected_got_and_the_matching_hint(capsys):
    from lessonlib.workbook.checks.ex14_reciprocal_rank_fusion import wrong_max_not_sum

    result = check("reciprocal_rank_fusion", wrong_max_not_sum)
    out = capsys.readouterr().out
    assert not result.ok and result.status == "failed"
    first = result.failed_cases[0]
    assert re.match(r'case \d+ "[^"]+"', first) and first in out
    assert "expected:" in out and "got:" in out and "inputs:" in out
    assert "hint: RRF SUMS" in out


def test_an_unexplained_mistake_gets_the_general_hint(capsys):
    result = check("reciprocal_rank_fusion", lambda rankings, k=60: {"nonsense": 1.0})
    assert result.hints and set(result.hints) == {REGISTRY["reciprocal_rank_fusion"].hint}


def test_the_message_summarises_a_large_array_input(capsys):
    def everything(query, centroids, lists, vectors, nprobe, k):
        return np.zeros(k, np.float32), np.arange(k)

    result = check("ivf_search", everything)
    out = capsys.readouterr().out
    failure = result.failures[0]
    assert re.search(r"vectors=array of shape \(\d+, \d+\), dtype float32, min -?\d", failure), failure
    assert "first values [" in failure and len(failure) < 2500
    assert "query=array([" in failure  # a small array is shown in full
    assert failure.splitlines()[0] in out


def test_summaries():
    import torch

    assert summarise([1, 2, 3]) == "[1, 2, 3]"
    big = torch.arange(600, dtype=torch.float64).reshape(20, 30)
    text = summarise(big)
    assert text.startswith("tensor of shape (20, 30), dtype float64, min 0, max 599") and "first values [0., 1.," in text
    long_list = [f"d{i}" for i in range(500)]
    assert summarise(long_list).startswith("list of 500 items ['d0', 'd1', 'd2', 'd3', ...")
    long_dict = {f"q{i}": {f"d{j}": 1.0 for j in range(30)} for i in range(50)}
    assert summarise(long_dict).startswith("dict of 50 items {'q0': dict of 30 items")
    assert summarise(np.array([np.inf, 1.0, 2.0] * 200)).endswith("...") and "max 2" in summarise(np.array([np.inf, 1.0, 2.0] * 200))


def test_unknown_exercise_id_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown exercise"):
        check("no_such_exercise", print)


def test_the_format_is_checked():
    spec = ExerciseCheck("x_format", "t", "p", cases=lambda rng: [Case("a", {}), Case("a", {})], reference=lambda: 1, hint="h")
    with pytest.raises(ValueError, match="unique"):
        spec.make_cases(np.random.default_rng(0))
    with pytest.raises(TypeError, match="Case"):
        ExerciseCheck("x", "t", "p", cases=lambda rng: [{"k": 1}], reference=lambda: 1, hint="h").make_cases(np.random.default_rng(0))
    with pytest.raises(TypeError, match="cannot block"):
        ExerciseCheck("x", "t", "p", cases=lambda rng: [], reference=lambda: 1, hint="h", blocks=(len,))
    with pytest.raises(TypeError, match="wrong"):
        ExerciseCheck("x", "t", "p", cases=lambda rng: [], reference=lambda: 1, hint="h", wrong={"": print})


# ------------------------------------------------------------------------------------------ the guard
def test_a_name_imported_before_the_check_is_caught_and_lifted_afterwards():
    from lessonlib.retrieval.fusion import rrf  # as a learner would, at the top of the notebook

    original = rrf.__code__

    def reciprocal_rank_fusion(rankings, k=60):
        runs = [{"q": {d: float(len(r) - i) for i, d in enumerate(r)}} for r in rankings]
        return rrf(runs, k=k).get("q", {})

    result = check("reciprocal_rank_fusion", reciprocal_rank_fusion, verbose=False)
    assert result.passed == 0 and f"lessonlib.retrieval.fusion.rrf {WRITE_IT}" in result.failures[0]
    assert rrf.__code__ is original
    assert rrf([{"q": {"a": 1.0}}], k=60) == {"q": {"a": pytest.approx(1 / 61)}}  # works again
    # the learner's function, called outside check(), is theirs to run: nothing is blocked
    assert reciprocal_rank_fusion([["a", "b"]], 60) == pytest.approx({"a": 1 / 61, "b": 1 / 62})


def test_an_instance_created_before_the_check_is_caught():
    from lessonlib.losses import InfoNCELoss

    loss = InfoNCELoss(temperature=0.05, similarity="cosine", share_negatives=True)

    def infonce_loss(q, pos, neg=None, temperature=0.05):
        loss.temperature = temperature
        return loss(q, pos, neg)

    result = check("infonce_loss", infonce_loss, verbose=False)
    assert result.passed == 0 and "InfoNCELoss.forward " + WRITE_IT in result.failures[0], result.failures[0]
    assert float(loss(*[REGISTRY["infonce_loss"].make_cases(np.random.default_rng(0))[1].kwargs[k] for k in ("q", "pos")])) > 0


def test_a_swallowed_blocked_call_still_fails_the_case():
    from lessonlib.retrieval.fusion import rrf

    def sneaky(rankings, k=60):
        try:
            return rrf([{"q": {d: float(-i) for i, d in enumerate(r)}} for r in rankings], k=k).get("q", {})
        except Exception:
            return {}

    result = check("reciprocal_rank_fusion", sneaky, verbose=False)
    assert result.passed == 0 and all(WRITE_IT in f for f in result.failures)


def test_blocking_is_lifted_when_the_learners_function_raises():
    from lessonlib.retrieval.fusion import rrf

    original = rrf.__code__

    def raises(rankings, k=60):
        raise ValueError("my bug")

    result = check("reciprocal_rank_fusion", raises, verbose=False)
    assert result.status == "error" and "ValueError: my bug" in result.failures[0]
    assert rrf.__code__ is original

    def interrupted(rankings, k=60):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check("reciprocal_rank_fusion", interrupted, verbose=False)
    assert rrf.__code__ is original and rrf([{"q": {"a": 1.0}}])["q"]["a"] == pytest.approx(1 / 61)


def test_nested_windows_restore_in_order():
    from lessonlib.retrieval.fusion import rrf

    original = rrf.__code__
    outer, inner = guard.Blocker((rrf,)), guard.Blocker((rrf,))
    with outer:
        with inner:
            with pytest.raises(guard.BlockedCall):
                rrf([{"q": {"a": 1.0}}])
        assert inner.hits and rrf.__code__ is not original
        with pytest.raises(guard.BlockedCall):
            rrf([{"q": {"a": 1.0}}])
    assert outer.hits and rrf.__code__ is original


def test_profile_blocker_catches_a_fresh_copy_of_the_module_and_restores_the_profiler(tmp_path):
    """The grader's kernel blocks by file and qualified name: a module loaded again from its file is caught."""
    import importlib.util
    import sys

    from lessonlib.retrieval import fusion

    spec = importlib.util.spec_from_file_location("copy_of_fusion", fusion.__file__)
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    assert copy.rrf is not fusion.rrf
    before = sys.getprofile()
    blocker = guard.ProfileBlocker(guard.keys(REGISTRY["reciprocal_rank_fusion"].blocks))
    with blocker:
        with pytest.raises(guard.BlockedCall, match=WRITE_IT):
            copy.rrf([{"q": {"a": 1.0}}])
    assert blocker.hits == ["lessonlib.retrieval.fusion.rrf"] and sys.getprofile() is before
    with blocker:
        sys.setprofile(None)  # the code under test removes the guard: recorded as a hit
    assert blocker.hits == ["sys.setprofile"]
    assert copy.rrf([{"q": {"a": 1.0}}])["q"]["a"] == pytest.approx(1 / 61)


def test_monobert_reference_matches_the_minilm_tokenizer_on_text():
    """The id-level reference equals what transformers' tokenizer does to real text (as CrossEncoder calls it)."""
    from lessonlib.core import config
    from lessonlib.core.hub import resolve_model
    from lessonlib.workbook.checks.ex10_monobert_input import reference as _monobert_reference

    transformers = pytest.importorskip("transformers")
    tok = transformers.AutoTokenizer.from_pretrained(resolve_model(config.DEFAULT_MODEL))
    query = "Do statins reduce cardiovascular mortality?"
    doc = "Statin therapy lowers LDL cholesterol; in randomised trials it reduced deaths from heart disease. " * 5
    for max_length in (16, 40, 512):
        want = tok(query, doc, truncation="only_second", max_length=max_length)
        got = _monobert_reference(tok(query, add_special_tokens=False)["input_ids"],
                                  tok(doc, add_special_tokens=False)["input_ids"], max_length)
        assert got["input_ids"] == want["input_ids"] and got["token_type_ids"] == want["token_type_ids"]


def test_the_checks_own_tie_order_is_trec_evals():
    from lessonlib.core.runs import rank_documents
    from lessonlib.workbook.checks.cases import tie_order

    run = {"d1": 2.0, "d3": 2.0, "d2": 2.0, "d9": 5.0, "d0": 1.0}
    assert tie_order(run) == rank_documents(run) == ["d9", "d3", "d2", "d1", "d0"]
    assert tie_order(run, descending_ids=False) == ["d9", "d1", "d2", "d3", "d0"]
