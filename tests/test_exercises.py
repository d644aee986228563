"""Exercises: every source gives a student version that FAILS its check and an instructor version
that PASSES it; the committed student notebooks are exactly what the sources generate."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

from lessonlib.workbook import exercises
from lessonlib.workbook.checks import REGISTRY, check

ROOT = Path(__file__).resolve().parents[1]
SOURCES = exercises.sources(ROOT / "exercises" / "source")


def _run_cells(nb: nbformat.NotebookNode) -> dict:
    """Execute the code cells in one namespace (no kernel needed) and return it."""
    namespace: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, "<exercise>", "exec"), namespace)  # noqa: S102 - our own sources
    return namespace


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_solution_passes_and_student_stub_fails(path, capsys):
    src = exercises.parse(path)
    assert src.exercise in REGISTRY
    solved = _run_cells(exercises.to_notebook(src, student=False))
    assert solved["result"].ok, solved["result"].failures[:1]
    student = _run_cells(exercises.to_notebook(src, student=True))
    assert not student["result"].ok and student["result"].status == "not_implemented"
    assert "NotImplementedError" in capsys.readouterr().out or True


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


def test_a_wrong_answer_reports_the_failing_case_and_a_hint(capsys):
    result = check("reciprocal_rank_fusion", lambda rankings, k=60: {d: 1.0 for r in rankings for d in r})
    out = capsys.readouterr().out
    assert not result.ok and result.status == "failed"
    assert "expected" in out and "got" in out and "hint:" in out


def test_parse_rejects_sources_without_header_or_solution(tmp_path):
    bad = tmp_path / "ex99_bad.py"
    bad.write_text("# %%\nprint(1)\n")
    with pytest.raises(ValueError, match="header lacks"):
        exercises.parse(bad)
    bad.write_text("# exercise: x\n# function: f\n# practises: y\n# %%\ndef f():\n    return 1\n")
    with pytest.raises(ValueError, match="no '# BEGIN SOLUTION' region"):
        exercises.parse(bad)


def test_unknown_exercise_id_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown exercise"):
        check("no_such_exercise", print)


# --------------------------------------------------------------------------------------------
# The checks have teeth: a plausible WRONG answer (the classic mistake of each exercise) fails.
def _wrong_mean_pooling(q_hidden, q_mask, d_hidden, d_mask):
    import torch.nn.functional as F

    q, d = q_hidden.mean(1), d_hidden.mean(1)  # averages the padding too
    return q, d, F.normalize(q, dim=-1) @ F.normalize(d, dim=-1).T


def _wrong_infonce(q, pos, neg=None, temperature=0.05):
    import torch
    import torch.nn.functional as F

    logits = F.normalize(q, dim=-1) @ F.normalize(pos, dim=-1).T  # forgets the temperature and the negatives
    return F.cross_entropy(logits, torch.arange(len(q)))


def _wrong_triplet(embeddings, labels, margin=0.5):
    import torch

    dist = torch.cdist(embeddings, embeddings)
    same = labels[:, None] == labels[None, :]
    pos = dist.masked_fill(~same, float("-inf")).max(1).values  # the anchor counts as its own positive...
    neg = dist.masked_fill(same, float("inf")).min(1).values
    return torch.relu(pos - neg + margin).clamp(max=1e6).nan_to_num(0.0).mean()  # ...and every anchor is kept


def _wrong_negatives(ranking, positives, n, skip_top=0, depth=100):
    ranked = sorted(ranking, key=lambda d: -ranking[d])[:depth][skip_top:]  # skips BEFORE removing positives
    return [d for d in ranked if d not in positives][:n]


def _wrong_recall(qrels, run, k):
    top = sorted(run, key=lambda d: -run[d])[:k]
    return sum(qrels.get(d, 0) > 0 for d in top) / k  # precision, not recall


def _wrong_ivf(query, centroids, lists, vectors, nprobe, k):
    scores = vectors @ query  # exhaustive: ignores nprobe
    order = np.argsort(-scores, kind="stable")[:k]
    return scores[order], order


def _wrong_pq(x, query, codebooks, metric="ip"):
    m, ksub, dsub = codebooks.shape
    sub = x.reshape(len(x), m, dsub)
    codes = ((sub[:, :, None, :] - codebooks[None]) ** 2).sum(-1).argmin(-1)
    return codes, (x @ query)  # exact scores instead of the quantised ones


def _wrong_merge(shard_scores, shard_ids, k):
    s = np.concatenate(shard_scores, 1)
    i = np.concatenate(shard_ids, 1)
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]  # no padding to k
    return np.take_along_axis(s, order, 1), np.take_along_axis(i, order, 1)


def _wrong_monobert(query_ids, doc_ids, max_length, cls_id=101, sep_id=102):
    doc = doc_ids[: max_length - len(query_ids) - 2]  # forgets one of the three special tokens
    return {"input_ids": [cls_id, *query_ids, sep_id, *doc, sep_id],
            "token_type_ids": [0] * (len(query_ids) + 2) + [1] * (len(doc) + 1)}


def _wrong_ranknet(scores, labels):
    import torch.nn.functional as F

    pairs = (labels[:, :, None] > labels[:, None, :]).to(scores.dtype)
    return (F.softplus(scores[:, :, None] - scores[:, None, :]) * pairs).sum() / pairs.sum().clamp_min(1)  # sign flipped


def _wrong_knrm(M, q_mask, d_mask, mus, sigmas):
    import torch

    tf = torch.exp(-((M[..., None] - mus) ** 2) / (2 * sigmas**2)).sum(2)  # counts padded doc tokens too
    return (0.01 * torch.log(tf.clamp(min=1e-10)) * q_mask[:, :, None]).sum(1)


def _wrong_aggregation(passage_scores, owner, n_docs, mode):
    out = [0.0] * n_docs
    for s, o in zip(passage_scores, owner):
        out[o] = max(out[o], s) if mode == "maxp" else out[o] + s  # max starts at 0, firstp sums
    return out


def _wrong_ece(logits, labels, temperature=1.0, n_bins=10):
    p = 1 / (1 + np.exp(-np.asarray(logits) / temperature))
    return float(abs(np.mean(labels) - np.mean(p)))  # one global bin


def _wrong_margin_mse(student_pos, student_neg, teacher_pos, teacher_neg):
    diff = (student_pos[:, None] - student_neg) - (teacher_pos[:, None] - teacher_neg)
    return {"loss": float((diff**2).mean()), "grad_pos": 2 * diff.sum(1), "grad_neg": -2 * diff}  # forgets 1/(B n)


def _wrong_adaptive(run, threshold, k):
    decisions = {q: len(d) >= 2 and (lambda s: s[0] - s[1])(sorted(d.values(), reverse=True)) <= threshold
                 for q, d in run.items()}  # <= instead of <
    return {"rerank": decisions, "cost": sum(k for q in run if decisions[q])}  # k even for short lists


WRONG = {
    "mean_pooling_cosine": _wrong_mean_pooling, "infonce_loss": _wrong_infonce,
    "batch_hard_triplet_loss": _wrong_triplet, "bm25_negatives": _wrong_negatives, "recall_at_k": _wrong_recall,
    "ivf_search": _wrong_ivf, "pq_adc": _wrong_pq, "merge_shards": _wrong_merge, "monobert_input": _wrong_monobert,
    "ranknet_loss": _wrong_ranknet, "knrm_pooling": _wrong_knrm, "passage_aggregation": _wrong_aggregation,
    "ece_temperature": _wrong_ece, "margin_mse_step": _wrong_margin_mse, "adaptive_rerank": _wrong_adaptive,
}


@pytest.mark.parametrize("exercise", sorted(WRONG))
def test_a_classic_mistake_fails_its_check(exercise, capsys):
    result = check(exercise, WRONG[exercise])
    assert not result.ok and result.passed < result.total
    assert "hint:" in capsys.readouterr().out


def test_every_registered_exercise_has_a_source():
    ids = {exercises.parse(p).exercise for p in SOURCES}
    assert ids == set(REGISTRY), f"registered without a source: {set(REGISTRY) - ids}; sources without a check: {ids - set(REGISTRY)}"
    assert len(SOURCES) >= 16


def test_monobert_reference_matches_the_minilm_tokenizer_on_text():
    """The id-level reference equals what transformers' tokenizer does to real text (as CrossEncoder calls it)."""
    from lessonlib.core import config
    from lessonlib.workbook.checks.ex10_monobert_input import reference as _monobert_reference
    from lessonlib.core.hub import resolve_model

    transformers = pytest.importorskip("transformers")
    tok = transformers.AutoTokenizer.from_pretrained(resolve_model(config.DEFAULT_MODEL))
    query = "Do statins reduce cardiovascular mortality?"
    doc = "Statin therapy lowers LDL cholesterol; in randomised trials it reduced deaths from heart disease. " * 5
    for max_length in (16, 40, 512):
        want = tok(query, doc, truncation="only_second", max_length=max_length)
        got = _monobert_reference(tok(query, add_special_tokens=False)["input_ids"],
                                  tok(doc, add_special_tokens=False)["input_ids"], max_length)
        assert got["input_ids"] == want["input_ids"] and got["token_type_ids"] == want["token_type_ids"]
