"""BM25 over scipy sparse matrices: the lexical baseline every neural retriever is measured against.

Lucene's BM25 (Robertson & Zaragoza, 2009; the Lucene variant compared by Kamphuis et al., 2020):

    score(q, d) = sum_{t in q} idf(t) * tf(t, d) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

``|d|`` counts the tokens that remain after stop-word removal; a term repeated in the query counts
as often as it appears. The index is one sparse matrix ``W`` (vocabulary x documents) holding the
per-(term, document) contribution above, so a batch of queries is one sparse product
``Q @ W`` with ``Q`` the (queries x vocabulary) term-count matrix.

The tokenizer is bm25s's (Lù, 2024): lower-case, the regex ``(?u)\\b\\w\\w+\\b``, Lucene's 33 English
stop words, then the Snowball English stemmer (PyStemmer), so results can be compared one to one.

>>> bm25 = BM25().fit(["the cat sat", "a dog barked"], ["d1", "d2"])
>>> scores, idx = bm25.search(["cats"], k=1)
>>> bm25.doc_ids_[idx[0, 0]]
'd1'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from lessonlib.core.runs import hits_to_run, topk

if TYPE_CHECKING:  # pragma: no cover
    from lessonlib.data import Dataset

#: Lucene's English stop words (``EnglishAnalyzer.ENGLISH_STOP_WORDS_SET``), the list bm25s uses.
ENGLISH_STOPWORDS: tuple[str, ...] = (
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they",
    "this", "to", "was", "will", "with",
)  # fmt: skip

TOKEN_PATTERN = r"(?u)\b\w\w+\b"


class Tokenizer:
    """Text -> list of terms: lower-case, regex split, stop words removed, then stemmed.

    Args:
        lower: lower-case before splitting.
        stopwords: ``"en"``/``"english"`` (Lucene's list), ``None`` for none, or your own list.
        stemmer: a Snowball language for PyStemmer (``"english"``), or ``None`` for no stemming.
        token_pattern: regex whose matches are the tokens (scikit-learn's and bm25s's default).

    >>> Tokenizer()("The cats are running")
    ['cat', 'run']
    """

    def __init__(
        self,
        lower: bool = True,
        stopwords: str | Sequence[str] | None = "en",
        stemmer: str | None = "english",
        token_pattern: str = TOKEN_PATTERN,
    ) -> None:
        self.lower = lower
        self.stopwords = stopwords
        self.stemmer = stemmer
        self.token_pattern = token_pattern
        if stopwords in ("en", "english"):
            self._stop = frozenset(ENGLISH_STOPWORDS)
        elif stopwords is None or stopwords is False:
            self._stop = frozenset()
        elif isinstance(stopwords, str):
            raise ValueError(f"Tokenizer(stopwords={stopwords!r}): expected 'en', None or a list of words")
        else:
            self._stop = frozenset(stopwords)
        self._split = re.compile(token_pattern).findall
        self._stem_word = None
        if stemmer is not None:
            import Stemmer  # PyStemmer

            try:
                self._stem_word = Stemmer.Stemmer(stemmer).stemWord
            except KeyError as exc:
                raise ValueError(
                    f"Tokenizer(stemmer={stemmer!r}): unknown language; try one of "
                    f"{', '.join(Stemmer.algorithms()[:6])}, ..."
                ) from exc
        self._cache: dict[str, str] = {}  # word -> stem; stemming each distinct word once

    def words(self, text: str) -> list[str]:
        """Tokens before stemming (lower-cased, split, stop words removed)."""
        if self.lower:
            text = text.lower()
        stop = self._stop
        return [w for w in self._split(text) if w not in stop]

    def stem(self, word: str) -> str:
        if self._stem_word is None:
            return word
        stem = self._cache.get(word)
        if stem is None:
            stem = self._cache[word] = self._stem_word(word)
        return stem

    def __call__(self, text: str) -> list[str]:
        return [self.stem(w) for w in self.words(text)]

    def __repr__(self) -> str:
        return f"Tokenizer(lower={self.lower}, stopwords={self.stopwords!r}, stemmer={self.stemmer!r})"


class BM25:
    """Lucene BM25 ranking (see the module docstring for the formula).

    Args:
        k1: term-frequency saturation (1.2-2.0 typical; 1.5 as bm25s).
        b: document-length normalisation, 0 (none) to 1 (full).
        lower, stopwords, stemmer, token_pattern: passed to :class:`Tokenizer`.

    Learned state after ``fit``: ``vocab_`` (term -> column), ``idf_`` (V,), ``doc_ids_``,
    ``doc_len_`` (N,), ``avgdl_``, ``weights_`` (V x N CSR, float32).

    >>> bm25 = BM25(k1=1.2, b=0.75).fit(texts, ids)            # doctest: +SKIP
    >>> scores, idx = bm25.search(["what is BM25?"], k=10)      # doctest: +SKIP
    >>> run = BM25().retrieve(load_dataset("scifact"), k=100)  # doctest: +SKIP
    """

    def __init__(
        self,
        k1: float = 1.5,
        b: float = 0.75,
        lower: bool = True,
        stopwords: str | Sequence[str] | None = "en",
        stemmer: str | None = "english",
        token_pattern: str = TOKEN_PATTERN,
    ) -> None:
        if k1 < 0:
            raise ValueError(f"BM25(k1={k1}): k1 must be >= 0")
        if not 0.0 <= b <= 1.0:
            raise ValueError(f"BM25(b={b}): b must be in [0, 1]")
        self.k1 = k1
        self.b = b
        self.lower = lower
        self.stopwords = stopwords
        self.stemmer = stemmer
        self.token_pattern = token_pattern
        self.tokenizer = Tokenizer(lower, stopwords, stemmer, token_pattern)

    # -- indexing -------------------------------------------------------------------------
    def _term_counts(self, texts: Sequence[str], grow: bool) -> sp.csr_matrix:
        """(len(texts), V) term-count matrix; unknown terms are added (grow) or dropped."""
        vocab = self.vocab_
        indptr = [0]
        indices: list[int] = []
        tok = self.tokenizer
        for text in texts:
            for word in tok.words(text):
                stem = tok.stem(word)
                col = vocab.get(stem)
                if col is None:
                    if not grow:
                        continue
                    col = vocab[stem] = len(vocab)
                indices.append(col)
            indptr.append(len(indices))
        ind = np.asarray(indices, dtype=np.int32)
        counts = sp.csr_matrix(
            (np.ones(len(ind), dtype=np.float32), ind, np.asarray(indptr, dtype=np.int64)),
            shape=(len(texts), len(vocab)),
        )
        counts.sum_duplicates()  # repeated terms -> term frequency
        return counts

    def fit(self, doc_texts: Sequence[str], doc_ids: Sequence[str] | None = None) -> BM25:
        """Index ``doc_texts`` (N strings); ``doc_ids`` default to "0", "1", ...  Returns self."""
        doc_texts = list(doc_texts)
        if not doc_texts:
            raise ValueError("BM25.fit(doc_texts=[]): need at least one document")
        doc_ids = [str(i) for i in range(len(doc_texts))] if doc_ids is None else [str(d) for d in doc_ids]
        if len(doc_ids) != len(doc_texts):
            raise ValueError(f"BM25.fit: {len(doc_texts)} doc_texts but {len(doc_ids)} doc_ids")
        self.vocab_: dict[str, int] = {}
        tf = self._term_counts(doc_texts, grow=True)  # (N, V)
        n_docs = tf.shape[0]
        doc_len = np.asarray(tf.sum(axis=1)).ravel()
        avgdl = float(doc_len.mean()) if doc_len.mean() > 0 else 1.0
        df = np.bincount(tf.indices, minlength=tf.shape[1])
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        # Per-entry BM25 contribution, computed on the CSR data array in one go.
        row_of_entry = np.repeat(np.arange(n_docs), np.diff(tf.indptr))
        norm = self.k1 * (1.0 - self.b + self.b * doc_len[row_of_entry] / avgdl)
        data = idf[tf.indices] * tf.data / (tf.data + norm)
        weights = sp.csr_matrix((data.astype(np.float32), tf.indices, tf.indptr), shape=tf.shape)
        self.weights_ = weights.T.tocsr()  # (V, N): row t lists the documents containing t
        self.idf_ = idf.astype(np.float32)
        self.doc_len_ = doc_len
        self.avgdl_ = avgdl
        self.doc_ids_ = doc_ids
        return self

    # -- searching ------------------------------------------------------------------------
    def _check_fitted(self, where: str) -> None:
        if not hasattr(self, "weights_"):
            raise ValueError(f"BM25.{where}: call fit(doc_texts) first")

    def score_matrix(self, query_texts: Sequence[str]) -> sp.csr_matrix:
        """Sparse (nq, N) BM25 scores of every query against every document (0 = no shared term)."""
        self._check_fitted("score_matrix")
        queries = [query_texts] if isinstance(query_texts, str) else list(query_texts)
        if not queries:
            raise ValueError("BM25.search(query_texts=[]): need at least one query")
        for i, q in enumerate(queries):
            if not isinstance(q, str) or not q.strip():
                raise ValueError(f"BM25.search: query {i} is {q!r}; expected a non-empty string")
        counts = self._term_counts(queries, grow=False)
        return (counts @ self.weights_).tocsr()

    def search(self, query_texts: Sequence[str], k: int = 10, batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` documents per query, best first.

        Returns ``(scores, idx)``, float32 and int64 arrays of shape (nq, k); ``idx`` indexes
        ``doc_ids_``. Documents that share no term with the query are not hits: where fewer than
        ``k`` documents match, the row ends with idx -1 and score 0. A query whose terms are all
        stop words or unknown therefore gets no hits; an empty query string is an error.
        Ties keep the lower document index first.
        """
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"BM25.search(k={k}): k must be an integer >= 1")
        scores_sparse = self.score_matrix(query_texts)
        nq, n_docs = scores_sparse.shape
        batch_size = batch_size or max(1, (1 << 24) // max(n_docs, 1))  # ~64 MB dense per batch
        out_scores = np.zeros((nq, k), dtype=np.float32)
        out_idx = np.full((nq, k), -1, dtype=np.int64)
        for start in range(0, nq, batch_size):
            dense = scores_sparse[start : start + batch_size].toarray()
            top_scores, top_idx = topk(dense, k)
            top_idx = np.where(top_scores > 0, top_idx, -1)
            width = top_idx.shape[1]
            out_scores[start : start + batch_size, :width] = np.where(top_idx >= 0, top_scores, 0)
            out_idx[start : start + batch_size, :width] = top_idx
        return out_scores, out_idx

    def retrieve(self, dataset: Dataset, k: int = 100) -> dict[str, dict[str, float]]:
        """Run on ``dataset``: indexes its corpus (unless already fitted on it), searches its queries."""
        if not hasattr(self, "weights_") or self.doc_ids_ != dataset.doc_ids:
            self.fit(dataset.doc_texts(), dataset.doc_ids)
        qids = list(dataset.queries)
        scores, idx = self.search([dataset.queries[q] for q in qids], k)
        return hits_to_run(qids, self.doc_ids_, scores, idx)

    def __repr__(self) -> str:
        return f"BM25(k1={self.k1}, b={self.b}, stopwords={self.stopwords!r}, stemmer={self.stemmer!r})"
