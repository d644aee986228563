"""Training-data augmentation for cross-encoders: new views of the claim or of the document.

Day 10.2 §3.1, taught in notebook 15 section 5. Each view keeps the list's labels (the same
abstracts stay relevant) and is added as extra training lists beside the originals:

* **paraphrased queries** — the claim reworded: embedding-neighbour synonyms
  (:func:`lessonlib.data.augment.neighbour_paraphrases`, EDA, Wei & Zou 2019) or back-translation
  (:func:`lessonlib.data.augment.back_translate`, Sennrich et al. 2016) where MarianMT is installed;
* **expanded queries** — the claim plus RM3 feedback terms (:mod:`lessonlib.retrieval.expansion`,
  Lavrenko & Croft 2001), so the model sees the vocabulary of the relevant literature;
* **summarised documents** — every abstract of the list replaced by an extractive summary
  (:mod:`lessonlib.data.summarize`: lead or LexRank-central sentences).

:func:`train_and_rerank` trains one cross-encoder per training set on an equal budget (the same
number of optimizer steps) and re-ranks a first stage with it, so variants compare claim by claim.

>>> extra = with_queries(groups, {"q1": ["a reworded claim"]}, tag="paraphrase")     # doctest: +SKIP
>>> views = with_documents(groups, lambda d: central_summary(d, 2), tag="summary")   # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from lessonlib.core import config
from lessonlib.core.runs import Run, truncate
from lessonlib.cross.data import Group
from lessonlib.cross.model import scoring_class
from lessonlib.cross.train import train_cross_encoder
from lessonlib.evaluation.metrics import per_query_array
from lessonlib.retrieval.rerank import rerank


def with_queries(groups: Sequence[Group], variants: Mapping[str, Sequence[str]], tag: str) -> list[Group]:
    """One extra list per (group, variant of its query) that differs from the query; docs and labels kept.

    ``variants``: qid -> texts (e.g. paraphrases, or the expanded claim). ``meta["augmented"] = tag``.
    """
    out = []
    for g in groups:
        for v in dict.fromkeys(variants.get(g.qid, ())):
            if v.strip() and v != g.query:
                out.append(replace(g, query=v, meta={**g.meta, "augmented": tag}))
    return out


def with_documents(groups: Sequence[Group], view: Callable[[str], str], tag: str) -> list[Group]:
    """One extra list per group whose documents are ``view(doc)`` (kept only when some document changed)."""
    out = []
    for g in groups:
        docs = [view(d) or d for d in g.docs]
        if docs != g.docs:
            out.append(replace(g, docs=docs, meta={**g.meta, "augmented": tag}))
    return out


@dataclass
class VariantResult:
    """One trained variant: its per-query nDCG@10 on each evaluation set, training seconds and lists seen."""

    name: str
    per_query: dict[str, np.ndarray]
    runs: dict[str, Run]
    seconds: float
    n_lists: int
    model: object = None

    def mean(self, split: str) -> float:
        return float(self.per_query[split].mean())


def train_and_rerank(name: str, groups: Sequence[Group], recipe, eval_sets: Mapping[str, tuple], steps: int,
                     model_name: str = config.DEFAULT_MODEL, head: str = "binary", train_fn: Callable | None = None,
                     progress: bool = False) -> VariantResult:
    """Train a fresh cross-encoder of ``recipe.scoring`` (with ``head``) on ``groups`` for exactly ``steps``
    optimizer steps (``recipe``'s loss, batch size, lr, seed, token limits), then re-rank each evaluation set.

    ``eval_sets``: split -> (dataset, first-stage run, qids); the first stage's top ``recipe.eval_k``
    of each qid is re-scored and nDCG@10 computed per query (in ``qids`` order). Every variant starts
    from the same weights and seed, so differences come from the data (or the head) alone.
    ``train_fn(model, groups, steps)`` replaces :func:`lessonlib.cross.train.train_cross_encoder`
    (e.g. :func:`lessonlib.cross.heads.train_multitask`); the trained model is kept in ``result.model``.
    """
    if steps < 1:
        raise ValueError(f"train_and_rerank(steps={steps}): must be >= 1")
    if not groups:
        raise ValueError(f"train_and_rerank({name!r}): no training lists")
    config.seed_everything(recipe.seed)
    model = scoring_class(recipe.scoring)(model_name, head=head, max_length=recipe.max_length, overflow="truncate")
    model.max_length = recipe.train_max_length or recipe.max_length
    t0 = time.perf_counter()
    if train_fn is not None:
        train_fn(model, list(groups), steps)
    else:
        train_cross_encoder(model, list(groups), loss=recipe.loss, epochs=max(1, -(-steps * recipe.batch_size // len(groups))),
                            max_steps=steps, batch_size=recipe.batch_size, lr=recipe.lr, seed=recipe.seed, progress=progress)
    seconds = time.perf_counter() - t0
    model.max_length = recipe.max_length
    per_query, runs = {}, {}
    for split, (ds, run, qids) in eval_sets.items():
        runs[split] = rerank(model, ds, truncate(run, recipe.eval_k, qids), k=recipe.eval_k, show_progress=progress)
        per_query[split] = per_query_array(ds.qrels, runs[split], "ndcg@10", list(qids))
    return VariantResult(name, per_query, runs, seconds, len(groups), model)
