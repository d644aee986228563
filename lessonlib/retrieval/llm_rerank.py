"""LLM-based listwise re-ranking (RankGPT: Sun et al. 2023, "Is ChatGPT Good at Search?", EMNLP 2023).

The LLM reads a query and a window of w numbered passages and answers with a permutation,
``[3] > [1] > [2] ...``. A window slides from the bottom of the candidate list to the top with
step s, so the best passages bubble up: ceil((n - w) / s) + 1 calls for n candidates. Taught in
notebook 12 §7, where no LLM is available offline: the notebook builds the real prompts, counts
their cost and says plainly that the call cannot run; there is no stand-in LLM.

>>> p = rankgpt_messages("what is bm25", ["BM25 is a ranking function", "cats"])
>>> parse_permutation("[2] > [1]", 2)
[1, 0]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from transformers import pipeline

SYSTEM = "You are RankGPT, an intelligent assistant that can rank passages based on their relevancy to the query."


def rankgpt_messages(query: str, passages: Sequence[str], max_words: int = 100) -> list[dict[str, str]]:
    """The chat messages of one RankGPT window: system, instruction, numbered passages, final request."""
    n = len(passages)
    if n < 1:
        raise ValueError("rankgpt_messages(passages=[]): need at least one passage")
    head = f"I will provide you with {n} passages, each indicated by number identifier []. Rank the passages based on their relevance to query: {query}."
    body = "\n".join(f"[{i + 1}] {' '.join(p.split()[:max_words])}" for i, p in enumerate(passages))
    tail = (f"Search Query: {query}.\nRank the {n} passages above based on their relevance to the search query. "
            "The passages should be listed in descending order using identifiers. The most relevant passages should be "
            "listed first. The output format should be [] > [], e.g., [1] > [2]. Only respond with the ranking results, do not say any word or explain.")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": head}, {"role": "user", "content": body + "\n" + tail}]


def parse_permutation(answer: str, n: int) -> list[int]:
    """0-based order from an answer like ``[3] > [1]``: repeats and out-of-range ids dropped, missing ids appended in their original order (RankGPT's rule)."""
    seen: list[int] = []
    for m in re.findall(r"\[(\d+)\]", answer):
        i = int(m) - 1
        if 0 <= i < n and i not in seen:
            seen.append(i)
    return seen + [i for i in range(n) if i not in seen]


def window_starts(n: int, window: int = 20, step: int = 10) -> list[int]:
    """Start offsets of the sliding windows, back to front: the last window ends at n, the first starts at 0."""
    if window < 1 or step < 1:
        raise ValueError(f"window_starts(window={window}, step={step}): both must be >= 1")
    starts, end = [], n
    while True:
        starts.append(max(0, end - window))
        if end - window <= 0:
            return starts
        end -= step


def sliding_window_rerank(query: str, ranked_ids: Sequence[str], texts: dict[str, str],
                          llm: Callable[[list[dict[str, str]]], str], window: int = 20, step: int = 10) -> list[str]:
    """RankGPT's sliding window over a first-stage ranking; ``llm(messages) -> answer text`` is the only model call."""
    order = list(ranked_ids)
    for start in window_starts(len(order), window, step):
        chunk = order[start:start + window]
        perm = parse_permutation(llm(rankgpt_messages(query, [texts[d] for d in chunk])), len(chunk))
        order[start:start + window] = [chunk[i] for i in perm]
    return order


def llm_calls(n: int, window: int = 20, step: int = 10) -> int:
    """Number of LLM calls for n candidates: ceil(max(n - w, 0) / s) + 1."""
    return math.ceil(max(n - window, 0) / step) + 1


def load_chat_llm(name: str) -> Callable[[list[dict[str, str]]], str]:
    """A chat LLM as ``messages -> text`` through transformers' text-generation pipeline, from local files only.

    Raises RuntimeError with the reason when the model is not on this machine (no model hub offline).
    """
    try:
        pipe = pipeline("text-generation", model=name, model_kwargs={"local_files_only": True})
    except Exception as exc:  # any load failure means: no such model here
        raise RuntimeError(f"load_chat_llm({name!r}): no such model on this machine and no model hub offline "
                           f"({type(exc).__name__}); RankGPT needs a chat LLM (GPT-3.5/4 in the paper)") from exc
    return lambda messages: pipe(messages, max_new_tokens=200)[0]["generated_text"][-1]["content"]
