"""Extractive document summaries: a shorter view of a document that keeps its main sentences.

A summary is a document augmentation for a cross-encoder (Day 10.2 §3.1, notebook 15 section 5):
the same (query, document) label holds for a shorter text that keeps what the document is about,
so it adds training lists and teaches the model to judge from fewer tokens. Two extractors:

* **lead** — the first ``n`` sentences (the lead baseline of news summarisation; a scientific
  abstract opens with its background and aim);
* **central** — the ``n`` sentences most similar to the rest of the document, LexRank's degree
  centrality (Erkan & Radev 2004) on TF-IDF vectors of BM25's terms::

      c(s_i) = sum_{j != i} cos(v_i, v_j),   v_i[t] = tf(t, s_i) * idf(t),
      idf(t) = ln(1 + n_sent / df(t))     (df over the document's own sentences)

  kept in document order. Ties go to the earlier sentence.

Sentences are cut by :func:`lessonlib.data.augment.split_sentences`. A document with at most ``n``
sentences is returned unchanged.

>>> lead_summary("One. Two. Three.", n=2)
'One. Two.'
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from lessonlib.data.augment import split_sentences
from lessonlib.retrieval.bm25 import Tokenizer

_TOKENIZER = Tokenizer()


def _check_n(where: str, n: int) -> None:
    if n < 1:
        raise ValueError(f"{where}(n={n}): n must be >= 1")


def lead_summary(text: str, n: int = 2) -> str:
    """The first ``n`` sentences of ``text`` (all of it when it has at most ``n``)."""
    _check_n("lead_summary", n)
    sents = split_sentences(text)
    return text if len(sents) <= n else " ".join(sents[:n])


def sentence_centrality(sentences: list[str], tokenizer: Tokenizer = _TOKENIZER) -> np.ndarray:
    """LexRank degree centrality (module docstring) of each sentence: (n_sent,) float64."""
    bags = [Counter(tokenizer(s)) for s in sentences]
    df = Counter(t for b in bags for t in b)
    vocab = {t: i for i, t in enumerate(sorted(df))}
    m = np.zeros((len(sentences), max(1, len(vocab))))
    for i, b in enumerate(bags):
        for t, c in b.items():
            m[i, vocab[t]] = c * np.log1p(len(sentences) / df[t])
    m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
    sim = m @ m.T
    np.fill_diagonal(sim, 0.0)
    return sim.sum(1)


def central_summary(text: str, n: int = 2, tokenizer: Tokenizer = _TOKENIZER) -> str:
    """The ``n`` most central sentences of ``text`` (:func:`sentence_centrality`), in document order."""
    _check_n("central_summary", n)
    sents = split_sentences(text)
    if len(sents) <= n:
        return text
    c = sentence_centrality(sents, tokenizer)
    keep = sorted(np.lexsort((np.arange(len(sents)), -c))[:n])
    return " ".join(sents[i] for i in keep)


SUMMARIZERS = {"lead": lead_summary, "central": central_summary}


def summarize(text: str, method: str = "central", n: int = 2) -> str:
    """``lead_summary`` or ``central_summary`` by name."""
    if method not in SUMMARIZERS:
        raise ValueError(f"summarize(method={method!r}): expected one of {sorted(SUMMARIZERS)}")
    return SUMMARIZERS[method](text, n=n)
