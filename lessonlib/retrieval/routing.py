"""Learned routing between a cheap and an expensive ranker, per query (a meta-learned choice).

Running the expensive path (a cross-encoder re-ranking, a second retriever) for every query wastes
compute on queries where the cheap path is already right. A router predicts, from features of the
query and of the cheap path's result list, whether the expensive path will do better, and sends only
the most promising share of queries to it (selective / adaptive re-ranking: Culpepper, Clarke &
Lin 2016; query performance prediction: Cronen-Townsend, Zhou & Croft 2002, "clarity"; Shtok et al.
2012 use the spread of the top scores).

* :func:`query_features` — per query: length in words, the cheap run's top score, its margin
  s1 − s2, the margin over the spread of the top k (s1 − s2) / std, the mean of the top k, and, with a
  second run, the overlap of the two top-k lists (disagreement between two retrievers signals a hard query).
* :class:`Router` — standardised features -> logistic regression (scikit-learn) of "the expensive path
  gains"; ``route(X, budget)`` sends the ``budget`` share of queries with the highest predicted gain.

Fit the router on a VALIDATION split carved from train (gains measured there), report on test.

>>> X, names = query_features({"q": {"a": 3.0, "b": 1.0}}, {"q": "a short query"}, ["q"])
>>> names[:3], X.shape
(['n_words', 'top1', 'margin'], (1, 5))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lessonlib.core.runs import Run, rank_documents, ranked


def query_features(cheap: Run, queries: Mapping[str, str], qids: Sequence[str], other: Run | None = None,
                   k: int = 10) -> tuple[np.ndarray, list[str]]:
    """Features (len(qids), n_features) and their names; see the module docstring."""
    if k < 2:
        raise ValueError(f"query_features(k={k}): k must be >= 2")
    names = ["n_words", "top1", "margin", "margin_over_std", "topk_mean"] + (["overlap@k"] if other is not None else [])
    rows = []
    for q in qids:
        top = ranked(cheap.get(q, {}), k)
        s = np.array([v for _, v in top] + [0.0] * max(0, 2 - len(top)), dtype=np.float64)
        margin = s[0] - s[1]
        row = [len(queries[q].split()), s[0], margin, margin / (s[:k].std() + 1e-9), s[:k].mean()]
        if other is not None:
            top_o = set(rank_documents(other.get(q, {}), k))
            row.append(len(top_o & {d for d, _ in top}) / k)
        rows.append(row)
    return np.asarray(rows, dtype=np.float64).reshape(len(qids), len(names)), names


class Router:
    """Predict, per query, whether the expensive path beats the cheap one; route a budget of queries to it.

    Args:
        C: inverse L2 regularisation strength of the logistic regression.
        seed: for the solver's tie-breaking.

    Learned state: ``mean_``, ``scale_`` (feature standardisation), ``model_`` (sklearn estimator).
    """

    def __init__(self, C: float = 1.0, seed: int = 0) -> None:
        self.C = C
        self.seed = seed

    def fit(self, X: np.ndarray, gain: np.ndarray) -> Router:
        """``gain[i]`` = quality(expensive) − quality(cheap) of training query i; the label is gain > 0."""
        from sklearn.linear_model import LogisticRegression

        X = np.asarray(X, dtype=np.float64)
        y = (np.asarray(gain) > 0).astype(int)
        if len(X) != len(y):
            raise ValueError(f"Router.fit: {len(X)} feature rows but {len(y)} gains")
        self.mean_, self.scale_ = X.mean(0), X.std(0) + 1e-9
        if y.min() == y.max():  # one class only: a constant predictor
            self.model_ = None
            self.constant_ = float(y[0])
            return self
        self.model_ = LogisticRegression(C=self.C, random_state=self.seed, max_iter=1000).fit((X - self.mean_) / self.scale_, y)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(expensive path gains) for each row (n,)."""
        X = np.asarray(X, dtype=np.float64)
        if self.model_ is None:
            return np.full(len(X), self.constant_)
        return self.model_.predict_proba((X - self.mean_) / self.scale_)[:, 1]

    def route(self, X: np.ndarray, budget: float) -> np.ndarray:
        """Bool (n,): True for the round(budget · n) queries with the highest predicted gain."""
        if not 0.0 <= budget <= 1.0:
            raise ValueError(f"Router.route(budget={budget}): budget must be in [0, 1]")
        p = self.predict_proba(X)
        n = int(round(budget * len(p)))
        send = np.zeros(len(p), dtype=bool)
        send[np.argsort(-p, kind="stable")[:n]] = True
        return send
