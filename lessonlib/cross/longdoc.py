"""Long documents for a cross-encoder whose input holds only ``max_length`` tokens.

* Truncation (``truncate_doc``): keep the ``head``, the ``tail`` or ``head+tail`` (half each) of
  the document's tokens (Sun et al. 2019, "How to fine-tune BERT for text classification").
* Sliding windows (``split_pairs`` + ``aggregate``): cut the document into windows of
  ``w = max_length - |q| - 3`` tokens that overlap by ``stride``; score (q, window_i) for each i
  and aggregate: FirstP = s_1, MaxP = max_i s_i, SumP = sum_i s_i, MeanP = mean (Dai & Callan
  2019, "Deeper text understanding for IR with contextual neural language modeling").
* Hierarchical passage -> document (``hierarchical_scores``): passage scores, then the document
  score is the mean of its ``top_k`` best passages (top_k=1 is MaxP; the idea of PARADE, Li et
  al. 2020, with the simplest aggregator).
* Cascade with early termination (:func:`lessonlib.evaluation.cost.cascade_run` over
  :func:`lessonlib.retrieval.cascade.cascade`): a cheap stage scores everything; only the documents
  it is not confident about go on to the next, dearer stage (Wang et al. 2011, "A cascade ranking
  model"; Matsubara et al. 2020). ``early_termination`` runs one setting of either kind over window
  scores computed once (a cascade FirstP -> MaxP, or ``maxp_early_exit``), and
  ``early_termination_settings`` lists the settings a validation split chooses among.

Windows are cut by character offsets of the tokenizer, so every window is exact original text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lessonlib.core.runs import Run
from lessonlib.evaluation.cost import cascade_run

TRUNCATIONS = ("head", "tail", "head+tail")


def _offsets(tokenizer, text: str) -> list[tuple[int, int]]:
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return [tuple(o) for o in enc["offset_mapping"]]


def doc_budget(model, query: str) -> int:
    """Tokens left for the document: max_length - |query| - 3 special tokens."""
    q_len = min(len(model.tokenizer(query, add_special_tokens=False)["input_ids"]), model.max_query_length)
    return model.max_length - q_len - 3


def truncate_doc(tokenizer, doc: str, budget: int, strategy: str = "head") -> str:
    """The document cut to ``budget`` tokens: its ``head``, ``tail`` or ``head+tail``.

    >>> truncate_doc(tok, "a b c d e", 2, "tail")  # 'd e'
    """
    if strategy not in TRUNCATIONS:
        raise ValueError(f"truncate_doc(strategy={strategy!r}): expected one of {TRUNCATIONS}")
    if budget < 1:
        raise ValueError(f"truncate_doc(budget={budget}): must be >= 1")
    offs = _offsets(tokenizer, doc)
    if len(offs) <= budget:
        return doc
    if strategy == "head":
        return doc[: offs[budget - 1][1]]
    if strategy == "tail":
        return doc[offs[-budget][0]:]
    head = (budget + 1) // 2
    tail = budget - head
    return doc[: offs[head - 1][1]] + " " + (doc[offs[-tail][0]:] if tail else "")


def windows(tokenizer, doc: str, size: int, stride: int) -> list[str]:
    """Overlapping windows of ``size`` tokens; consecutive windows share ``stride`` tokens."""
    if size < 1:
        raise ValueError(f"windows(size={size}): must be >= 1")
    if not 0 <= stride < size:
        raise ValueError(f"windows(stride={stride}): expected 0 <= stride < size={size}")
    offs = _offsets(tokenizer, doc)
    if len(offs) <= size:
        return [doc]
    step = size - stride
    out = []
    for start in range(0, len(offs), step):
        end = min(start + size, len(offs))
        out.append(doc[offs[start][0]: offs[end - 1][1]])
        if end == len(offs):
            break
    return out


def split_pairs(model, queries: Sequence[str], docs: Sequence[str], max_length: int, stride: int):
    """Pairs -> (window pairs, owner index of each window pair), for ``aggregate``."""
    units, owner = [], []
    budgets: dict[str, int] = {}
    # Fast path: one batched tokenizer call tells which documents fit as they are.
    lengths = [len(x) for x in model.tokenizer(list(docs), add_special_tokens=False)["input_ids"]]
    for i, (q, d) in enumerate(zip(queries, docs)):
        if lengths[i] + model.max_query_length + 3 <= max_length:
            units.append((q, d))
            owner.append(i)
            continue
        if q not in budgets:
            budgets[q] = doc_budget(model, q) if q.strip() else max_length
        for w in windows(model.tokenizer, d, budgets[q], min(stride, budgets[q] - 1)) if d.strip() else [d]:
            units.append((q, w))
            owner.append(i)
    return units, np.asarray(owner, dtype=np.int64)


def aggregate(scores: np.ndarray, owner: np.ndarray, n: int, mode: str = "maxp") -> np.ndarray:
    """Window scores (m,) with their pair index ``owner`` (m,) -> pair scores (n,).

    firstp: score of the first window; maxp: max; sump: sum; meanp: mean.
    """
    scores = np.asarray(scores, dtype=np.float32)
    out = np.full(n, -np.inf if mode == "maxp" else 0.0, dtype=np.float32)
    if mode == "firstp":
        first = np.ones(len(owner), dtype=bool)
        first[1:] = owner[1:] != owner[:-1]
        out[owner[first]] = scores[first]
    elif mode == "maxp":
        np.maximum.at(out, owner, scores)
    elif mode in ("sump", "meanp"):
        np.add.at(out, owner, scores)
        if mode == "meanp":
            out /= np.maximum(np.bincount(owner, minlength=n), 1)
    else:
        raise ValueError(f"aggregate(mode={mode!r}): expected firstp, maxp, sump or meanp")
    return out


def passage_runs(candidates: Run, window_scores: np.ndarray, keys: Sequence[tuple[str, int]],
                 modes: Sequence[str] = ("firstp", "maxp", "sump")) -> dict[str, Run]:
    """Document runs from passage scores: each candidate's windows aggregated by :func:`aggregate` in each mode.

    ``window_scores`` (n queries, n windows): row ``i`` scores query ``list(candidates)[i]`` against
    every window; ``keys[j] = (doc id, window number)`` names column ``j`` (a document's windows in
    order, so ``firstp`` takes its first). Every window is scored once and reused by every mode
    (Dai & Callan 2019, "Deeper Text Understanding for IR with Contextual Neural Language Modeling").
    Introduced in notebook 19; compared in notebook 24 (I3).
    """
    columns: dict[str, list[int]] = {}
    for j, (doc, _) in enumerate(keys):
        columns.setdefault(doc, []).append(j)
    runs: dict[str, Run] = {m: {} for m in modes}
    for i, (qid, docs) in enumerate(candidates.items()):
        docs = list(docs)
        idx = np.concatenate([columns[d] for d in docs])
        owner = np.repeat(np.arange(len(docs)), [len(columns[d]) for d in docs])
        for m in modes:
            runs[m][qid] = dict(zip(docs, aggregate(window_scores[i, idx], owner, len(docs), m).tolist()))
    return runs


def hierarchical_scores(model, query: str, docs: Sequence[str], passage_tokens: int = 96,
                        top_k: int = 2, batch_size: int = 32) -> np.ndarray:
    """Passage -> document: doc score = mean of its ``top_k`` best passage scores. (n_docs,)"""
    units, owner = [], []
    for i, d in enumerate(docs):
        for w in windows(model.tokenizer, d, passage_tokens, passage_tokens // 4):
            units.append(w)
            owner.append(i)
    s = model.score(query, units, batch_size=batch_size, overflow="truncate")
    owner = np.asarray(owner)
    out = np.zeros(len(docs), dtype=np.float32)
    for i in range(len(docs)):
        best = np.sort(s[owner == i])[::-1][:top_k]
        out[i] = best.mean()
    return out


def maxp_early_exit(scores: np.ndarray, owner: np.ndarray, n: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """MaxP that stops reading a document at its first window scoring >= ``threshold`` (early exit).

    Windows are read in document order (``owner`` as ``split_pairs`` returns it: a pair's windows
    are consecutive); a pair's score is the max over the windows read, so a document whose early
    window is already confidently relevant is not read to the end. ``threshold=inf`` is MaxP.

    Returns (scores (n,), windows read per pair (n,)).
    """
    scores = np.asarray(scores, dtype=np.float32)
    owner = np.asarray(owner)
    out = np.full(n, -np.inf, dtype=np.float32)
    read = np.zeros(n, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    for s, i in zip(scores, owner):
        if done[i]:
            continue
        read[i] += 1
        out[i] = max(out[i], s)
        done[i] = s >= threshold
    return out, read


def early_termination(candidates, scores: np.ndarray, owner: np.ndarray, keep: int | None = None,
                      stop_at: float | None = None) -> tuple[Run, float]:
    """One early-termination setting over window scores computed once, and what it would have read.

    ``scores`` (m,) are the (query, window) scores of ``candidates`` (a
    ``lessonlib.retrieval.candidates.Candidates`` of n pairs) and ``owner`` (m,) the pair of each window,
    as ``split_pairs`` returns them. Exactly one of:

    * ``keep``: a cascade (Wang et al. 2011). Stage 1 reads every candidate's first window (FirstP,
      1 forward pass each); the ``keep`` best of each query go on to stage 2, which reads the rest of
      their windows (MaxP, n_windows_i - 1 more passes); the others keep their stage-1 order below.
    * ``stop_at``: early exit (``maxp_early_exit``): read a document's windows in order and stop at the
      first scoring >= ``stop_at``; ``stop_at=inf`` reads every window (MaxP).

    Returns (run, forward passes per candidate) — the passes a system scoring windows on demand would
    spend. Introduced in notebook 19.

    >>> run, passes = early_termination(cand, window_scores, owner, keep=2)
    """
    if (keep is None) == (stop_at is None):
        raise ValueError(f"early_termination(keep={keep}, stop_at={stop_at}): give exactly one of keep and stop_at")
    n = len(candidates)
    if keep is not None:
        stages = [aggregate(scores, owner, n, "firstp"), aggregate(scores, owner, n, "maxp")]
        windows_per_pair = np.bincount(owner, minlength=n)
        run, spent = cascade_run(candidates, stages, [np.ones(n), windows_per_pair - 1], keep=[keep])
        return run, sum(spent) / n
    out, read = maxp_early_exit(scores, owner, n, stop_at)
    return candidates.to_run(out), float(read.mean())


def early_termination_settings(scores: np.ndarray, depth: int, keeps: Sequence[int] = (1, 2, 3),
                               quantiles: Sequence[float] = (0.75, 0.9, 0.97)) -> list[tuple[str, float]]:
    """The early-termination settings to choose among on a validation split, as ``(kind, value)`` for
    :func:`early_termination` (``kind`` is ``"keep"`` or ``"stop_at"``): a cascade for each of ``keeps``
    below ``depth`` (the candidates per query), an early exit at each of ``quantiles`` of the validation
    window ``scores``, and last ``("stop_at", inf)``, MaxP reading everything. Introduced in notebook 19.

    >>> early_termination_settings(np.arange(101.0), depth=3, quantiles=(0.9,))
    [('keep', 1), ('keep', 2), ('stop_at', 90.0), ('stop_at', inf)]
    """
    return ([("keep", k) for k in keeps if k < depth] + [("stop_at", float(t)) for t in np.quantile(scores, list(quantiles))]
            + [("stop_at", np.inf)])
