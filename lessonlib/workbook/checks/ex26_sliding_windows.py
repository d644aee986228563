"""Exercise 26 (19_efficiency_long_documents §2.3): sliding windows over a long document and SumP."""

from __future__ import annotations

import numpy as np

from lessonlib.cross.longdoc import aggregate, split_pairs, windows
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


class _WhitespaceTokenizer:
    """The one call longdoc.windows makes of a tokenizer: the character offsets of whitespace-separated tokens."""

    def __call__(self, text: str, add_special_tokens: bool = False, return_offsets_mapping: bool = True) -> dict:
        offsets, pos = [], 0
        for token in text.split():
            start = text.index(token, pos)
            offsets.append((start, start + len(token)))
            pos = start + len(token)
        return {"offset_mapping": offsets}


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for name, n, size, stride in [("50 tokens, windows of 16 that share 4", 50, 16, 4),
                                  ("no overlap (stride 0)", 30, 10, 0),
                                  ("the last window is shorter: it ends at the document's end", 22, 8, 2),
                                  ("the windows fit exactly: the last one ends at the end, no extra window", 23, 8, 3),
                                  ("stride = size - 1: each window one token further", 9, 4, 3),
                                  ("a document shorter than one window", 7, 10, 2),
                                  ("a document of exactly one window's length", 10, 10, 3)]:
        out.append(Case(name, {"token_scores": [float(s) for s in np.round(rng.normal(size=n), 3)], "size": size, "stride": stride}))
    out.append(Case("an empty document: one empty window, score 0", {"token_scores": [], "size": 5, "stride": 1}))
    out.append(Case("one relevant token inside an overlap counts once per window",
                    {"token_scores": [0.0] * 6 + [1.0] + [0.0] * 5, "size": 8, "stride": 4}))
    return out


def reference(token_scores, size, stride):
    """The windows longdoc.windows cuts (from a document of tokens t0 t1 ...), each scored by the sum of its
    tokens' scores, and longdoc.aggregate's SumP."""
    text = " ".join(f"t{i}" for i in range(len(token_scores)))
    spans = []
    for window in windows(_WhitespaceTokenizer(), text, size, stride):
        tokens = window.split()
        spans.append((int(tokens[0][1:]), int(tokens[-1][1:]) + 1) if tokens else (0, 0))
    scores = [float(sum(token_scores[s:e])) for s, e in spans]
    sump = float(aggregate(np.asarray(scores), np.zeros(len(scores), np.int64), 1, "sump")[0])
    return {"spans": spans, "scores": scores, "sump": sump}


def _scored(token_scores, spans):
    scores = [float(sum(token_scores[s:e])) for s, e in spans]
    return {"spans": spans, "scores": scores, "sump": float(sum(scores))}


def wrong_drops_the_tail(token_scores, size, stride):
    n, step = len(token_scores), size - stride
    return _scored(token_scores, [(s, s + size) for s in range(0, n - size + 1, step)] or [(0, n)])


def wrong_windows_past_the_end(token_scores, size, stride):
    n, step = len(token_scores), size - stride
    return _scored(token_scores, [(s, min(s + size, n)) for s in range(0, max(n, 1), step)])


def wrong_step_is_the_stride(token_scores, size, stride):
    n, spans = len(token_scores), []
    for start in range(0, max(n, 1), max(stride, 1)):
        spans.append((start, min(start + size, n)))
        if spans[-1][1] == n:
            break
    return _scored(token_scores, spans)


register(ExerciseCheck(
    id="sliding_window_sump", title="Sliding windows over a long document, scored and summed (SumP)",
    practises="19_efficiency_long_documents — 1 · Long documents: truncation, windows, hierarchy, early termination "
              "(Day 10.2 §2.3)",
    cases=cases, reference=reference,
    hint="step = size - stride; window starts 0, step, 2*step, ...; each ends at min(start + size, n); stop after "
         "the first window that ends at n (an empty document: one window (0, 0)); window score = sum of its "
         "token_scores; sump = sum of the window scores.",
    wrong={
        "the last window must reach the end of the document (shorter if need be): tokens after the last full "
        "window were left out.": wrong_drops_the_tail,
        "stop after the first window that reaches the end: a window inside the previous one adds nothing but a "
        "second count of the same tokens.": wrong_windows_past_the_end,
        "consecutive windows SHARE `stride` tokens, so each starts size - stride tokens after the previous one.":
            wrong_step_is_the_stride,
    },
    blocks=(windows, aggregate, split_pairs),
    atol=1e-4,
))
