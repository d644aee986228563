"""Synthetic queries for unlabelled documents: a generator writes queries, a retriever filters them.

* doc2query / docTTTTTquery (Nogueira et al. 2019; Nogueira & Lin 2019): a seq2seq model (T5)
  fine-tuned on (passage → query) pairs samples queries for every document (top-k sampling).
* InPars (Bonifacio et al. 2022) and Promptagator (Dai et al. 2023): a large language model
  prompted with a few (document, query) examples writes queries; the synthetic pairs train a
  retriever. Promptagator keeps a pair only if a retriever finds its source document among its
  top-k for the query (*round-trip consistency*, :func:`round_trip_filter`).

:class:`Doc2QueryGenerator` runs the real thing with ``transformers.AutoModelForSeq2SeqLM.generate``
when the model is installed locally (e.g. ``doc2query/msmarco-t5-base-v1``); the workbook has no
generative model offline, so notebook 04 measures the extractive stand-in :func:`extractive_queries`
(a sentence of the abstract as the query, like the inverse cloze task, Lee et al. 2019, but with the
whole document kept as the positive) and says so.

>>> syn = extractive_queries(train, max_docs=500, seed=0)                    # doctest: +SKIP
>>> kept = round_trip_filter(syn, BM25().retrieve(syn, k=3), k=3)             # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from lessonlib.core.hub import resolve_model
from lessonlib.core.runs import Run, ranked
from lessonlib.data import Dataset

DOC2QUERY_T5 = "doc2query/msmarco-t5-base-v1"  # docTTTTTquery-style T5 trained on MS MARCO (sentence-transformers)


class GeneratorUnavailable(RuntimeError):
    """The seq2seq query generator is not installed locally (no model files; nothing is downloaded)."""


class Doc2QueryGenerator:
    """Sample ``n_queries`` queries per document with a seq2seq model (doc2query, Nogueira & Lin 2019).

    Configure with a model id or folder; :meth:`fit` loads it offline (local folder or Hugging Face
    cache) and raises :class:`GeneratorUnavailable` in one line otherwise; :meth:`generate` maps
    document texts to lists of queries: top-k sampling (k = ``top_k``) under ``seed``.
    """

    def __init__(self, model: str = DOC2QUERY_T5, n_queries: int = 3, max_new_tokens: int = 32, top_k: int = 10,
                 max_length: int = 384, seed: int = 0) -> None:
        if n_queries < 1:
            raise ValueError(f"Doc2QueryGenerator(n_queries={n_queries}): expected >= 1")
        self.model, self.n_queries, self.max_new_tokens = model, n_queries, max_new_tokens
        self.top_k, self.max_length, self.seed = top_k, max_length, seed

    def fit(self) -> Doc2QueryGenerator:
        """Load tokenizer and model (``model_``, ``tokenizer_``) from local files only."""
        try:
            path = resolve_model(self.model)
        except FileNotFoundError:
            raise GeneratorUnavailable(
                f"query generation: model {self.model} is not installed locally (no folder, no Hugging Face cache "
                f"entry; this machine has no internet; online: huggingface-cli download {self.model})") from None
        import transformers  # deferred: heavy, only needed to generate

        self.tokenizer_ = transformers.AutoTokenizer.from_pretrained(str(path))
        self.model_ = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(path)).eval()
        return self

    def generate(self, texts: Sequence[str]) -> list[list[str]]:
        """``n_queries`` sampled queries for each text."""
        import torch  # deferred: only needed to generate

        if not hasattr(self, "model_"):
            self.fit()
        torch.manual_seed(self.seed)
        batch = self.tokenizer_(list(texts), truncation=True, max_length=self.max_length, padding=True, return_tensors="pt")
        with torch.no_grad():
            out = self.model_.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], max_new_tokens=self.max_new_tokens, do_sample=True, top_k=self.top_k,
                                       num_return_sequences=self.n_queries)
        decoded = self.tokenizer_.batch_decode(out, skip_special_tokens=True)
        return [decoded[i * self.n_queries:(i + 1) * self.n_queries] for i in range(len(texts))]


def sentences(text: str, min_words: int = 6, max_words: int = 40) -> list[str]:
    """The sentences of ``text`` (split after . ! ?) with ``min_words``..``max_words`` words."""
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if min_words <= len(s.split()) <= max_words]


def extractive_queries(dataset: Dataset, max_docs: int | None = None, seed: int = 0, min_words: int = 6,
                       max_words: int = 40) -> dict[str, list[str]]:
    """The extractive stand-in for a query generator: one random sentence of each abstract (seeded).

    Returns ``{doc id: [query]}`` for the first ``max_docs`` documents (corpus order) that have a
    sentence of ``min_words``..``max_words`` words. Not a generative model: the "query" is copied from
    the document, so it shares its words (easier for BM25 than a real query would be).
    """
    if max_docs is not None and max_docs < 1:
        raise ValueError(f"extractive_queries(max_docs={max_docs}): expected >= 1 or None")
    rng = np.random.default_rng(seed)
    out: dict[str, list[str]] = {}
    for did, doc in dataset.corpus.items():
        if max_docs is not None and len(out) >= max_docs:
            break
        found = sentences(doc.get("text") or "", min_words, max_words)
        if found:
            out[did] = [found[int(rng.integers(len(found)))]]
    return out


def synthetic_dataset(dataset: Dataset, queries: Mapping[str, Sequence[str]], tag: str = "syn") -> Dataset:
    """A training dataset from generated queries: query ``"<tag>:<doc id>:<i>"`` → its source document
    (grade 1), over ``dataset``'s whole corpus (the source document stays whole)."""
    qs, qrels = {}, {}
    for did, texts in queries.items():
        if did not in dataset.corpus:
            raise ValueError(f"synthetic_dataset: document {did!r} is not in {dataset.name!r}")
        for i, text in enumerate(texts):
            if text.strip():
                qid = f"{tag}:{did}:{i}"
                qs[qid], qrels[qid] = text, {did: 1}
    if not qs:
        raise ValueError("synthetic_dataset(queries={}): no non-empty query")
    return Dataset(f"{dataset.name}-{tag}", dataset.corpus, qs, qrels, "synthetic", {**dataset.meta, "synthetic": tag})


def round_trip_filter(synthetic: Dataset, run: Run, k: int = 1) -> Dataset:
    """Keep the synthetic queries whose source document is in the retriever's top ``k`` (Promptagator's
    round-trip consistency, Dai et al. 2023; trec_eval order: score desc, then doc id desc)."""
    if k < 1:
        raise ValueError(f"round_trip_filter(k={k}): k must be >= 1")
    keep = [q for q, rel in synthetic.qrels.items() if set(rel) & {d for d, _ in ranked(run.get(q, {}), k)}]
    if not keep:
        raise ValueError(f"round_trip_filter(k={k}): no synthetic query finds its document in the top {k}")
    return Dataset(synthetic.name, synthetic.corpus, {q: synthetic.queries[q] for q in keep},
                   {q: synthetic.qrels[q] for q in keep}, synthetic.split, {**synthetic.meta, "round_trip_k": k})
