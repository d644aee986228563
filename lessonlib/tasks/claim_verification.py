"""Scientific claim verification on SciFact: retrieve abstracts, select rationales, predict labels.

The task and its data are SciFact's (Wadden et al., 2020, "Fact or Fiction: Verifying Scientific
Claims", EMNLP). Dense passage retrieval for open-domain QA (Karpukhin et al., 2020) is the same
pipeline with a question instead of a claim and an answer span instead of a label::

    claim c --retriever--> top-k abstracts a_1..a_k          (BM25, dense, hybrid: any run)
            --rationale selector--> sentences S(c, a) ⊆ a      (at most 3, score >= threshold)
            --label predictor--> y(c, a) in {SUPPORT, CONTRADICT, NOT_ENOUGH_INFO}

An abstract whose selection is empty, or whose label is NOT_ENOUGH_INFO, is left out of the
predictions (VeriSci's convention). Predictions use the leaderboard format:
``{claim_id: {doc_id: {"label": "SUPPORT" | "CONTRADICT", "sentences": [int, ...]}}}``.

Data (SciFact's own release, the ``original/`` folder beside the BEIR files):

* ``corpus.jsonl``: ``{"doc_id", "title", "abstract": [sentence, ...], "structured"}``
* ``claims_{train,dev}.jsonl``: ``{"id", "claim", "evidence": {doc_id: [{"sentences": [i, ...],
  "label"}]}, "cited_doc_ids"}``; every rationale of one (claim, abstract) has the same label.
  ``claims_test.jsonl`` has no labels (SciFact keeps them private): evaluate on ``dev``, which is
  BEIR's ``test`` split of SciFact.

Metrics: the official ones (``verisci/evaluate/lib/metrics.py`` of allenai/scifact), see
:func:`scifact_metrics`; :func:`rationale_selection_f1` and :func:`label_scores` are the
oracle-input measures of the paper's Table 3.

Models here are small on purpose (they must train on 2 CPU cores): sentence vectors of a dual
encoder with logistic-regression heads (:class:`RationaleSelector`, :class:`LabelPredictor`), and a
MiniLM cross-encoder with a 3-way head (:class:`CrossEncoderNLI`), where VeriSci uses RoBERTa-large.

>>> dev = claims_for(course_dataset("test"))               # doctest: +SKIP
>>> store = SentenceStore(dev.abstracts, embed)             # doctest: +SKIP
>>> preds = verify(store, selector.select(store, candidates_from_run(run, 3)), label_model)  # doctest: +SKIP
>>> scifact_metrics(dev, preds)["abstract_label_only"]["f1"]                                  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lessonlib.core import config
from lessonlib.core.vectors import l2_normalize
from lessonlib.data.augment import split_sentences
from lessonlib.data import Dataset
from lessonlib.core.runs import Run, rank_documents, topk

if TYPE_CHECKING:  # pragma: no cover
    from lessonlib.data import Dataset

SUPPORT, CONTRADICT, NEI = "SUPPORT", "CONTRADICT", "NOT_ENOUGH_INFO"
#: The three labels, in the column order of every ``predict_proba``.
LABELS: tuple[str, str, str] = (SUPPORT, CONTRADICT, NEI)
#: The official scorer reads only the first 3 predicted sentences of an abstract for abstract-level scores.
MAX_ABSTRACT_SENTS = 3
#: BEIR's split name -> SciFact's claims file (BEIR's "test" split of SciFact is SciFact's dev set).
BEIR_TO_SCIFACT_SPLIT = {"train": "train", "test": "dev"}

RELEASE_URL = "https://scifact.s3-us-west-2.amazonaws.com/release/latest/data.tar.gz"

Predictions = dict[str, dict[str, dict]]


class NoEvidenceLabels(FileNotFoundError):
    """The data at hand has no SciFact evidence labels (not SciFact, or no ``original/`` folder)."""


# ============================================================================= data
@dataclass(frozen=True)
class Abstract:
    """One abstract as a list of sentences (SciFact's segmentation)."""

    doc_id: str
    title: str
    sentences: tuple[str, ...]
    structured: bool = False

    def text(self) -> str:
        """Title and sentences joined by spaces: the BEIR document text."""
        return " ".join([self.title, *self.sentences]).strip()


@dataclass(frozen=True)
class Evidence:
    """The gold evidence of one (claim, abstract): its label and its rationales (sentence-index sets)."""

    label: str
    rationales: tuple[tuple[int, ...], ...]

    @property
    def sentences(self) -> tuple[int, ...]:
        """Every rationale sentence of the abstract (the union of the rationales), sorted."""
        return tuple(sorted({i for r in self.rationales for i in r}))


@dataclass(frozen=True)
class Claim:
    """A claim, its evidence abstracts (``evidence``: doc id -> :class:`Evidence`) and cited abstracts."""

    id: str
    text: str
    evidence: Mapping[str, Evidence]
    cited_doc_ids: tuple[str, ...]

    def label_for(self, doc_id: str) -> str:
        """The gold label of (claim, doc): SUPPORT / CONTRADICT for evidence abstracts, else NEI."""
        ev = self.evidence.get(doc_id)
        return ev.label if ev else NEI


@dataclass
class ClaimSet:
    """Claims of one split with the abstracts they may cite (``abstracts``: the whole corpus)."""

    claims: dict[str, Claim]
    abstracts: dict[str, Abstract]
    split: str
    source: str = ""

    def __len__(self) -> int:
        return len(self.claims)

    def __iter__(self):
        return iter(self.claims.values())

    def subset(self, claim_ids: Iterable[str]) -> ClaimSet:
        """The claims with these ids (unknown ids are an error), same abstracts."""
        ids = list(claim_ids)
        missing = [c for c in ids if c not in self.claims]
        if missing:
            raise KeyError(f"ClaimSet.subset: {len(missing)} claim ids are not in the {self.split} claims, e.g. {missing[0]!r}")
        return ClaimSet({c: self.claims[c] for c in ids}, self.abstracts, self.split, self.source)

    def texts(self) -> dict[str, str]:
        """claim id -> claim text (the ``queries`` of a retrieval run)."""
        return {c.id: c.text for c in self}

    def evidence_qrels(self) -> dict[str, dict[str, int]]:
        """qrels of the evidence abstracts (grade 1), for claims that have some: retrieval recall of evidence."""
        return {c.id: {d: 1 for d in c.evidence} for c in self if c.evidence}

    def cited_qrels(self) -> dict[str, dict[str, int]]:
        """qrels of the cited abstracts (BEIR's relevance: evidence and NEI abstracts alike)."""
        return {c.id: {d: 1 for d in c.cited_doc_ids} for c in self if c.cited_doc_ids}

    def label_counts(self) -> dict[str, int]:
        """Number of (claim, cited abstract) pairs per gold label."""
        counts = dict.fromkeys(LABELS, 0)
        for c in self:
            for d in c.cited_doc_ids:
                counts[c.label_for(d)] += 1
        return counts

    def describe(self) -> str:
        n_ev = sum(len(c.evidence) for c in self)
        n_nei = sum(1 for c in self if not c.evidence)
        return (f"SciFact {self.split} claims: {len(self)} claims ({n_nei} without evidence), {n_ev} evidence "
                f"abstracts, {sum(len(e.rationales) for c in self for e in c.evidence.values())} rationales; "
                f"{len(self.abstracts):,} abstracts")


def _jsonl(path: Path, what: str) -> list[tuple[int, dict]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} file not found (SciFact's release: {RELEASE_URL})")
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{lineno}: malformed JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
        rows.append((lineno, row))
    if not rows:
        raise ValueError(f"{path}: no {what} in the file")
    return rows


def read_abstracts(path: str | os.PathLike) -> dict[str, Abstract]:
    """SciFact's ``corpus.jsonl`` -> ``{doc_id: Abstract}`` (ids as strings, file order kept).

    Errors name the file and line: malformed JSON, a missing ``doc_id``, an ``abstract`` that is
    not a non-empty list of strings, a duplicate id.

    >>> abstracts = read_abstracts("data/scifact/original/corpus.jsonl")   # doctest: +SKIP
    >>> abstracts["4983"].sentences[0][:30]                                # doctest: +SKIP
    'Alterations of the architectur'
    """
    path = Path(path)
    out: dict[str, Abstract] = {}
    for lineno, row in _jsonl(path, "abstracts"):
        if "doc_id" not in row:
            raise ValueError(f'{path}:{lineno}: abstract has no "doc_id" (is this SciFact\'s corpus.jsonl, not BEIR\'s?)')
        doc_id = str(row["doc_id"])
        sents = row.get("abstract")
        if not isinstance(sents, list) or not sents or not all(isinstance(s, str) for s in sents):
            raise ValueError(f'{path}:{lineno}: abstract {doc_id!r}: "abstract" must be a non-empty list of sentences')
        if doc_id in out:
            raise ValueError(f"{path}:{lineno}: duplicate abstract id {doc_id!r}")
        out[doc_id] = Abstract(doc_id, str(row.get("title") or ""), tuple(sents), bool(row.get("structured", False)))
    return out


def read_claims(path: str | os.PathLike, abstracts: Mapping[str, Abstract]) -> dict[str, Claim]:
    """SciFact's ``claims_<split>.jsonl`` -> ``{claim_id: Claim}``, checked against ``abstracts``.

    Errors (file:line): malformed JSON, no ``id`` / empty ``claim``, an unknown label, a sentence
    index outside its abstract, an evidence or cited abstract missing from the corpus, an evidence
    abstract that is not cited, two labels for one (claim, abstract). Duplicate cited ids are
    dropped (one dev claim lists an abstract twice).

    >>> claims = read_claims(folder / "claims_dev.jsonl", abstracts)        # doctest: +SKIP
    >>> claims["3"].evidence["14717500"].rationales                          # doctest: +SKIP
    ((2, 5), (7,))
    """
    path = Path(path)
    out: dict[str, Claim] = {}
    for lineno, row in _jsonl(path, "claims"):
        where = f"{path}:{lineno}"
        if "id" not in row:
            raise ValueError(f'{where}: claim has no "id"')
        cid = str(row["id"])
        text = str(row.get("claim") or "").strip()
        if not text:
            raise ValueError(f"{where}: claim {cid!r} has an empty text")
        if cid in out:
            raise ValueError(f"{where}: duplicate claim id {cid!r}")
        cited = tuple(dict.fromkeys(str(d) for d in row.get("cited_doc_ids") or []))
        for d in cited:
            if d not in abstracts:
                raise ValueError(f"{where}: claim {cid!r} cites abstract {d!r}, which is not in the corpus")
        evidence = {}
        for doc_id, sets in (row.get("evidence") or {}).items():
            doc_id = str(doc_id)
            if doc_id not in abstracts:
                raise ValueError(f"{where}: claim {cid!r}: evidence abstract {doc_id!r} is not in the corpus")
            if doc_id not in cited:
                raise ValueError(f"{where}: claim {cid!r}: evidence abstract {doc_id!r} is not among cited_doc_ids")
            labels = {s.get("label") for s in sets}
            if len(labels) != 1 or not labels <= {SUPPORT, CONTRADICT}:
                raise ValueError(f"{where}: claim {cid!r} / abstract {doc_id!r}: labels {sorted(map(str, labels))}; "
                                 f"expected one of {SUPPORT!r} or {CONTRADICT!r}")
            n = len(abstracts[doc_id].sentences)
            rationales = []
            for s in sets:
                idx = tuple(int(i) for i in s.get("sentences") or [])
                if not idx or not all(0 <= i < n for i in idx):
                    raise ValueError(f"{where}: claim {cid!r} / abstract {doc_id!r}: rationale sentences {list(idx)} "
                                     f"must be non-empty indices in [0, {n})")
                rationales.append(idx)
            evidence[doc_id] = Evidence(labels.pop(), tuple(rationales))
        out[cid] = Claim(cid, text, evidence, cited)
    return out


def find_original(folder: str | os.PathLike | None = None) -> Path | None:
    """SciFact's ``original/`` folder: ``folder`` if given, else ``$LESSONLIB_DATA/scifact/original``,
    then the user cache (``~/.cache/lessonlib/datasets/scifact/original``); None when absent."""
    if folder is not None:
        places = [Path(folder)]
    else:
        places = []
        root = config.data_root()
        if root:
            places.append(root / "scifact" / "original")
        places.append(config.cache_dir("datasets") / "scifact" / "original")
    for place in places:
        if (place / "corpus.jsonl").is_file():
            return place
    return None


def load_claims(split: str = "dev", folder: str | os.PathLike | None = None) -> ClaimSet:
    """SciFact claims with evidence for ``split`` ("train" or "dev") and the whole corpus of abstracts.

    >>> dev = load_claims("dev")     # doctest: +SKIP
    >>> len(dev), len(dev.abstracts) # doctest: +SKIP
    (300, 5183)
    """
    if split == "test":
        raise ValueError("load_claims(split='test'): SciFact's test claims carry no labels (they are kept private); "
                         "use split='dev' (BEIR's 'test' split of SciFact is SciFact's dev set)")
    if split not in ("train", "dev"):
        raise ValueError(f"load_claims(split={split!r}): expected 'train' or 'dev'")
    where = find_original(folder)
    if where is None:
        looked = folder or "$LESSONLIB_DATA/scifact/original and ~/.cache/lessonlib/datasets/scifact/original"
        raise NoEvidenceLabels(f"SciFact's own release (claims with evidence labels) not found in {looked}; "
                               f"unpack {RELEASE_URL} there (corpus.jsonl, claims_train.jsonl, claims_dev.jsonl)")
    abstracts = read_abstracts(where / "corpus.jsonl")
    claims = read_claims(where / f"claims_{split}.jsonl", abstracts)
    if not any(c.evidence for c in claims.values()):
        raise ValueError(f"{where / f'claims_{split}.jsonl'}: no claim has evidence labels")
    return ClaimSet(claims, abstracts, split, str(where))


def claims_for(dataset) -> ClaimSet:
    """The SciFact claims (with evidence) of a :class:`lessonlib.data.Dataset`'s queries.

    The dataset must be SciFact in BEIR layout (``course_dataset()`` or ``load_dataset("scifact")``),
    possibly a subset; its split maps to SciFact's (BEIR test = SciFact dev). Raises
    :class:`NoEvidenceLabels` (with the reason) for any other collection, e.g. the bundled sample.

    >>> dev = claims_for(course_dataset("test"))    # doctest: +SKIP
    >>> dev.evidence_qrels()["3"]                    # doctest: +SKIP
    {'14717500': 1}
    """
    if dataset.meta.get("source", dataset.name) != "scifact":
        raise NoEvidenceLabels(f"{dataset.meta.get('title', dataset.name)!r} has no claim-verification labels "
                               "(only SciFact has evidence sentences and SUPPORT/CONTRADICT labels)")
    split = str(dataset.split).split("-")[0]
    if split not in BEIR_TO_SCIFACT_SPLIT:
        raise ValueError(f"claims_for: dataset split {dataset.split!r}; expected 'train' or 'test'")
    folder = Path(dataset.meta["path"]) / "original" if dataset.meta.get("path") else None
    claims = load_claims(BEIR_TO_SCIFACT_SPLIT[split], folder if folder and folder.is_dir() else None)
    missing = [q for q in dataset.queries if q not in claims.claims]
    if missing:
        raise ValueError(f"claims_for: {len(missing)} queries of the dataset are not SciFact {claims.split} claims, e.g. {missing[0]!r}")
    return claims.subset(list(dataset.queries))


def claims_dataset(claims: ClaimSet, corpus_from: Dataset) -> Dataset:
    """A :class:`lessonlib.data.Dataset` to retrieve for ``claims``: the corpus of ``corpus_from`` (a Dataset)
    plus every abstract the claims cite; queries = the claims, qrels = their cited abstracts.

    On the whole of SciFact this is just the corpus; on a fast-mode subset it lets train claims be
    retrieved from the (already encoded) test subset's corpus plus their own cited abstracts.

    >>> train_run = dense_run(claims_dataset(fit_claims, course_dataset("test")), k=20)   # doctest: +SKIP
    """
    corpus = dict(corpus_from.corpus)
    for c in claims:
        for d in c.cited_doc_ids:
            if d not in corpus:
                a = claims.abstracts[d]
                corpus[d] = {"title": a.title, "text": " ".join(a.sentences)}
    meta = {"title": "SciFact", "source": "scifact", "claims_split": claims.split}
    return Dataset("scifact", corpus, claims.texts(), claims.cited_qrels(), f"{claims.split}-claims", meta)


def abstracts_from_corpus(corpus: Mapping[str, dict]) -> dict[str, Abstract]:
    """BEIR documents -> :class:`Abstract` objects, sentences cut by :func:`lessonlib.data.augment.split_sentences`
    (for collections that come without a sentence segmentation, e.g. the bundled sample).

    >>> abstracts_from_corpus({"d": {"title": "T", "text": "One. Two."}})["d"].sentences  # doctest: +SKIP
    ('One.', 'Two.')
    """
    out = {}
    for doc_id, doc in corpus.items():
        sents = split_sentences(doc.get("text", "")) or [doc.get("text", "") or doc.get("title", "")]
        out[doc_id] = Abstract(doc_id, doc.get("title", "") or "", tuple(sents))
    return out


# ============================================================================= sentence vectors
class SentenceStore:
    """Unit vectors of claims and of abstract sentences, encoded in batches on demand.

    Args:
        abstracts: doc id -> :class:`Abstract`.
        embed: ``list[str] -> float32 (n, d)`` for sentences (e.g. ``lessonlib.dual.encode.encode``).
        embed_queries: the same for claims (default ``embed``).

    Vectors are L2-normalised, so a dot product is a cosine.

    >>> store = SentenceStore(dev.abstracts, lambda t: encode(MODEL, t, max_length=64))  # doctest: +SKIP
    >>> store.encode_docs(["4983"]); store.sentences("4983").shape                         # doctest: +SKIP
    (10, 384)
    """

    def __init__(self, abstracts: Mapping[str, Abstract], embed: Callable[[list[str]], np.ndarray],
                 embed_queries: Callable[[list[str]], np.ndarray] | None = None) -> None:
        self.abstracts = abstracts
        self.embed = embed
        self.embed_queries = embed_queries or embed
        self._sent: dict[str, np.ndarray] = {}
        self._claim: dict[str, np.ndarray] = {}
        self._claim_text: dict[str, str] = {}

    def encode_docs(self, doc_ids: Iterable[str]) -> int:
        """Encode the sentences of these abstracts (those not yet encoded); returns how many sentences."""
        todo = [d for d in dict.fromkeys(doc_ids) if d not in self._sent]
        unknown = [d for d in todo if d not in self.abstracts]
        if unknown:
            raise KeyError(f"SentenceStore.encode_docs: {len(unknown)} doc ids are not abstracts, e.g. {unknown[0]!r}")
        texts = [s for d in todo for s in self.abstracts[d].sentences]
        if not texts:
            return 0
        vecs = l2_normalize(self.embed(texts))
        if vecs.shape[0] != len(texts):
            raise ValueError(f"SentenceStore: embed returned {vecs.shape[0]} vectors for {len(texts)} sentences")
        start = 0
        for d in todo:
            n = len(self.abstracts[d].sentences)
            self._sent[d] = vecs[start : start + n]
            start += n
        return len(texts)

    def encode_claims(self, texts: Mapping[str, str]) -> None:
        """Encode claims ``{claim_id: text}`` (those not yet encoded)."""
        todo = [c for c in texts if c not in self._claim]
        if todo:
            vecs = l2_normalize(self.embed_queries([texts[c] for c in todo]))
            for c, v in zip(todo, vecs):
                self._claim[c] = v
                self._claim_text[c] = texts[c]

    def sentences(self, doc_id: str) -> np.ndarray:
        """(m, d) vectors of the abstract's m sentences (encode_docs first)."""
        if doc_id not in self._sent:
            raise KeyError(f"SentenceStore.sentences({doc_id!r}): not encoded; call encode_docs([...]) first")
        return self._sent[doc_id]

    def claim(self, claim_id: str) -> np.ndarray:
        """(d,) vector of a claim (encode_claims first)."""
        if claim_id not in self._claim:
            raise KeyError(f"SentenceStore.claim({claim_id!r}): not encoded; call encode_claims({{...}}) first")
        return self._claim[claim_id]

    def claim_text(self, claim_id: str) -> str:
        self.claim(claim_id)
        return self._claim_text[claim_id]

    def cosines(self, claim_id: str, doc_id: str) -> np.ndarray:
        """(m,) cosine of the claim with each sentence of the abstract."""
        return self.sentences(doc_id) @ self.claim(claim_id)

    @property
    def n_sentences(self) -> int:
        """Sentences encoded so far."""
        return sum(len(v) for v in self._sent.values())


# ============================================================================= candidates
@dataclass(frozen=True)
class Candidate:
    """One (claim, abstract) pair on its way through the pipeline; ``sentences`` is the selected rationale."""

    claim_id: str
    doc_id: str
    sentences: tuple[int, ...] = ()
    score: float = 0.0  # the retriever's score


def candidates_from_run(run: Run, k: int, claim_ids: Iterable[str] | None = None) -> list[Candidate]:
    """The top ``k`` abstracts of each claim of ``run`` (ties as trec_eval breaks them), as candidates.

    >>> candidates_from_run({"c": {"a": 0.2, "b": 0.9}}, k=1)  # doctest: +SKIP
    [Candidate(claim_id='c', doc_id='b', sentences=(), score=0.9)]
    """
    if k < 1:
        raise ValueError(f"candidates_from_run(k={k}): k must be >= 1")
    ids = list(run) if claim_ids is None else list(claim_ids)
    return [Candidate(c, d, (), float(run[c][d])) for c in ids if c in run for d in rank_documents(run[c])[:k]]


def oracle_candidates(claims: ClaimSet, include_nei: bool = True, gold_rationales: bool = True) -> list[Candidate]:
    """Candidates of the oracle-abstract setting: every evidence abstract of each claim (with its gold
    rationale when ``gold_rationales``), and the cited abstracts without evidence when ``include_nei``."""
    out = []
    for c in claims:
        for d in c.cited_doc_ids:
            ev = c.evidence.get(d)
            if ev is None and not include_nei:
                continue
            out.append(Candidate(c.id, d, ev.sentences if (ev and gold_rationales) else ()))
    return out


def pool_docs(claims: ClaimSet, runs: Iterable[Run] = (), k: int = 0,
              negatives: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """Abstracts whose sentences a reader will need: each claim's cited abstracts, the top ``k`` of each
    run, and its ``negatives`` (no duplicates, first-seen order)."""
    docs = [d for c in claims for d in c.cited_doc_ids]
    for run in runs:
        docs += [cand.doc_id for cand in candidates_from_run(run, k, claims.claims)] if k else []
    docs += [d for c in claims for d in (negatives or {}).get(c.id, [])]
    return list(dict.fromkeys(docs))


def hard_negatives(run: Run, claims: ClaimSet, n: int = 1) -> dict[str, list[str]]:
    """For each claim, its ``n`` best-ranked abstracts of ``run`` that it does not cite (NEI examples).

    >>> hard_negatives({"52": {"11": 0.9, "16": 0.5}}, claims, n=1)  # doctest: +SKIP
    {'52': ['16']}
    """
    out = {}
    for c in claims:
        ranked = [d for d in rank_documents(run.get(c.id, {})) if d not in c.cited_doc_ids]
        out[c.id] = ranked[:n]
    return out


# ============================================================================= rationale selection
def pair_features(u: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Features of a claim vector u (d,) against the sentence vectors V (m, d) of one abstract -> (m, 2d + 4).

    phi(c, s_i) = [u * v_i, |u - v_i|, cos_i, cos_i - max_j cos_j, i / (m - 1), [i == 0]]:
    the elementwise product and difference of SBERT/InferSent classifiers (Conneau et al. 2017;
    Reimers & Gurevych 2019), the cosine, its gap to the best sentence of the abstract, and the
    sentence's relative position (SciFact's rationales sit mostly in the results at the end).

    >>> pair_features(np.ones(4) / 2, np.eye(4)[:3]).shape
    (3, 12)
    """
    V = np.asarray(V, dtype=np.float32)
    m = V.shape[0]
    cos = V @ u
    pos = np.arange(m, dtype=np.float32) / max(m - 1, 1)
    return np.hstack([V * u, np.abs(V - u), cos[:, None], (cos - cos.max())[:, None], pos[:, None],
                      (np.arange(m) == 0).astype(np.float32)[:, None]])


class RationaleSelector:
    """Picks the rationale sentences of an abstract for a claim: score >= ``threshold``, best first,
    at most ``max_sentences``.

    * ``method="cosine"`` (zero-shot): score = cos(claim vector, sentence vector);
    * ``method="logistic"`` (trained on SciFact): P(rationale | phi(c, s)) of a logistic regression
      over :func:`pair_features`, fitted on the sentences of the training claims' evidence
      abstracts (label 1 for gold rationale sentences), plus all sentences of optional
      ``negatives`` abstracts (label 0). VeriSci's selector is the same classifier on RoBERTa-large.

    Learned state: ``model_`` (scikit-learn's LogisticRegression, unscaled features), ``n_train_``.

    >>> sel = RationaleSelector("logistic", threshold=0.5).fit(store, train_claims)     # doctest: +SKIP
    >>> sel.select(store, [Candidate("13", "4983")])[0].sentences                          # doctest: +SKIP
    (4,)
    """

    def __init__(self, method: str = "cosine", threshold: float = 0.5, max_sentences: int = 3, C: float = 1.0,
                 seed: int = 0) -> None:
        if method not in ("cosine", "logistic"):
            raise ValueError(f"RationaleSelector(method={method!r}): expected 'cosine' or 'logistic'")
        if max_sentences < 1:
            raise ValueError(f"RationaleSelector(max_sentences={max_sentences}): must be >= 1")
        self.method = method
        self.threshold = threshold
        self.max_sentences = max_sentences
        self.C = C
        self.seed = seed

    def fit(self, store: SentenceStore, claims: ClaimSet, negatives: Mapping[str, Sequence[str]] | None = None) -> RationaleSelector:
        """Train the logistic selector (a no-op for ``"cosine"``); sentences must be in ``store``."""
        if self.method == "cosine":
            return self
        from sklearn.linear_model import LogisticRegression

        X, y = [], []
        for c in claims:
            u = store.claim(c.id)
            for d, ev in c.evidence.items():
                gold = set(ev.sentences)
                X.append(pair_features(u, store.sentences(d)))
                y.extend(int(i in gold) for i in range(len(store.abstracts[d].sentences)))
            for d in (negatives or {}).get(c.id, []):
                F = pair_features(u, store.sentences(d))
                X.append(F)
                y.extend([0] * len(F))
        if not X or len(set(y)) < 2:
            raise ValueError("RationaleSelector.fit: need claims with evidence (rationale and non-rationale sentences)")
        # No feature standardisation: a rare hashed / embedding dimension would get a huge scaled value
        # and dominate unseen pairs; unscaled, the L2 penalty keeps the weights on the features that
        # generalise (cosine, position) unless C is large.
        self.model_ = LogisticRegression(C=self.C, max_iter=3000, random_state=self.seed)
        self.model_.fit(np.vstack(X), np.asarray(y))
        self.n_train_ = len(y)
        return self

    def scores(self, store: SentenceStore, claim_id: str, doc_id: str) -> np.ndarray:
        """(m,) score of every sentence of the abstract (cosine, or P(rationale))."""
        if self.method == "cosine":
            return store.cosines(claim_id, doc_id)
        if not hasattr(self, "model_"):
            raise ValueError("RationaleSelector(method='logistic'): call fit(...) first")
        return self.model_.predict_proba(pair_features(store.claim(claim_id), store.sentences(doc_id)))[:, 1]

    def select(self, store: SentenceStore, candidates: Sequence[Candidate], threshold: float | None = None,
               at_least: int = 0) -> list[Candidate]:
        """The candidates with ``sentences`` set: indices (in abstract order) of the best sentences whose
        score >= threshold, at most ``max_sentences``; ``at_least`` keeps that many even below it."""
        t = self.threshold if threshold is None else threshold
        out = []
        for cand in candidates:
            s = self.scores(store, cand.claim_id, cand.doc_id)
            order = np.argsort(-s, kind="stable")[: self.max_sentences]
            keep = [int(i) for j, i in enumerate(order) if s[i] >= t or j < at_least]
            out.append(replace(cand, sentences=tuple(sorted(keep))))
        return out


# ============================================================================= label prediction
def rationale_vector(store: SentenceStore, cand: Candidate) -> np.ndarray:
    """The unit mean of the selected sentences' vectors (d,) (zeros for an empty selection)."""
    if not cand.sentences:
        return np.zeros(store.claim(cand.claim_id).shape, dtype=np.float32)
    v = store.sentences(cand.doc_id)[list(cand.sentences)].mean(0)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def label_features(store: SentenceStore, candidates: Sequence[Candidate]) -> np.ndarray:
    """(n, 4d + 2) features of (claim u, rationale v) pairs: [u, v, |u - v|, u * v, cos(u, v), max_i cos(u, s_i)]
    (the InferSent / SBERT classification features, Conneau et al. 2017; Reimers & Gurevych 2019).

    >>> label_features(store, [Candidate("3", "14717500", (2, 5))]).shape  # doctest: +SKIP
    (1, 1538)
    """
    rows = []
    for cand in candidates:
        u, v = store.claim(cand.claim_id), rationale_vector(store, cand)
        best = float(store.cosines(cand.claim_id, cand.doc_id)[list(cand.sentences)].max()) if cand.sentences else 0.0
        rows.append(np.concatenate([u, v, np.abs(u - v), u * v, [float(u @ v), best]]))
    return np.asarray(rows, dtype=np.float32)


def labelled_pairs(store: SentenceStore, claims: ClaimSet, selector: RationaleSelector,
                       negatives: Mapping[str, Sequence[str]] | None = None,
                       include_cited_nei: bool = True) -> tuple[list[Candidate], list[str]]:
    """Labelled (claim, abstract, rationale) pairs: (claim, gold rationale) of every evidence abstract -> its
    label; (claim, the selector's best sentences, at least one) of cited abstracts without evidence and of
    ``negatives`` -> NEI. Returns ``(candidates, labels)``.

    For training a label model, and, without ``negatives``, as the oracle inputs of the paper's Table 3
    (gold abstracts and rationales). VeriSci trains on the first two kinds; the third (retrieved,
    uncited abstracts) teaches the model to say NEI to the wrong abstracts that retrieval hands it.
    """
    cands, labels = [], []
    nei: list[Candidate] = []
    for c in claims:
        for d in c.cited_doc_ids:
            if d in c.evidence:
                cands.append(Candidate(c.id, d, c.evidence[d].sentences))
                labels.append(c.evidence[d].label)
            elif include_cited_nei:
                nei.append(Candidate(c.id, d))
        nei += [Candidate(c.id, d) for d in (negatives or {}).get(c.id, []) if d not in c.cited_doc_ids]
    nei = selector.select(store, nei, at_least=1)
    return cands + nei, labels + [NEI] * len(nei)


class LabelPredictor:
    """SUPPORT / CONTRADICT / NOT_ENOUGH_INFO from (claim, rationale) sentence vectors: multinomial logistic
    regression over :func:`label_features` (unscaled), ``C`` the inverse L2 strength (choose it on
    validation: the vector features are ~1/sqrt(d) in size, so they need a larger C than the cosines).

    Learned state: ``model_`` (scikit-learn's LogisticRegression). ``predict_proba`` columns follow :data:`LABELS`.

    >>> lp = LabelPredictor(C=0.1).fit(store, *labelled_pairs(store, train, selector))   # doctest: +SKIP
    >>> lp.predict(store, test_candidates)[:3]                                                # doctest: +SKIP
    ['SUPPORT', 'NOT_ENOUGH_INFO', 'CONTRADICT']
    """

    def __init__(self, C: float = 1.0, class_weight: str | None = None, seed: int = 0) -> None:
        if C <= 0:
            raise ValueError(f"LabelPredictor(C={C}): C must be > 0")
        self.C = C
        self.class_weight = class_weight
        self.seed = seed

    def fit(self, store: SentenceStore, candidates: Sequence[Candidate], labels: Sequence[str]) -> LabelPredictor:
        from sklearn.linear_model import LogisticRegression

        y = _label_ids(labels, "LabelPredictor.fit")
        self.model_ = LogisticRegression(C=self.C, max_iter=3000, class_weight=self.class_weight, random_state=self.seed)
        self.model_.fit(label_features(store, candidates), y)
        return self

    def predict_proba(self, store: SentenceStore, candidates: Sequence[Candidate]) -> np.ndarray:
        """(n, 3) probabilities in :data:`LABELS` order."""
        if not hasattr(self, "model_"):
            raise ValueError("LabelPredictor: call fit(...) first")
        if not candidates:
            return np.zeros((0, 3))
        p = self.model_.predict_proba(label_features(store, candidates))
        out = np.zeros((len(candidates), 3))
        out[:, self.model_.classes_] = p
        return out

    def predict(self, store: SentenceStore, candidates: Sequence[Candidate]) -> list[str]:
        return [LABELS[i] for i in self.predict_proba(store, candidates).argmax(1)]


def _label_ids(labels: Sequence[str], where: str) -> np.ndarray:
    bad = sorted({lab for lab in labels if lab not in LABELS})
    if bad:
        raise ValueError(f"{where}: unknown labels {bad}; expected {list(LABELS)}")
    return np.asarray([LABELS.index(lab) for lab in labels])


class CrossEncoderNLI:
    """A cross-encoder label model: ``[CLS] claim [SEP] rationale [SEP]`` -> 3 logits, fine-tuned with
    cross-entropy (the label model of VeriSci, Wadden et al. 2020, here on the MiniLM backbone).

    The rationale text is the selected sentences in abstract order. Training runs through
    :class:`lessonlib.core.trainer.Trainer` (AdamW, warm-up + linear decay); ``class_weight="balanced"``
    weights the cross-entropy by n / (3 n_c), since a fresh head on a few hundred pairs otherwise
    collapses to the majority label.

    >>> nli = CrossEncoderNLI(epochs=2).fit(store, train_cands, train_labels)   # doctest: +SKIP
    >>> nli.predict(store, test_cands)[:2]                                      # doctest: +SKIP
    ['SUPPORT', 'NOT_ENOUGH_INFO']
    """

    def __init__(self, model_name: str = config.DEFAULT_MODEL, max_length: int = 160, epochs: int = 2,
                 batch_size: int = 16, lr: float = 3e-5, max_steps: int | None = None, seed: int = 0,
                 device: str | None = None, progress: bool = True, class_weight: str | None = "balanced") -> None:
        if class_weight not in (None, "balanced"):
            raise ValueError(f"CrossEncoderNLI(class_weight={class_weight!r}): expected None or 'balanced'")
        self.class_weight = class_weight
        self.model_name = model_name
        self.max_length = max_length
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_steps = max_steps
        self.seed = seed
        self.device = device
        self.progress = progress

    @staticmethod
    def pair_text(store: SentenceStore, cand: Candidate) -> tuple[str, str]:
        sents = store.abstracts[cand.doc_id].sentences
        chosen = cand.sentences or tuple(range(min(1, len(sents))))
        return store.claim_text(cand.claim_id), " ".join(sents[i] for i in chosen)

    def fit(self, store: SentenceStore, candidates: Sequence[Candidate], labels: Sequence[str]) -> CrossEncoderNLI:
        import torch

        from lessonlib.cross import CrossEncoder  # deferred: pulls in torch
        from lessonlib.core.trainer import Trainer, TrainerConfig  # deferred: pulls in torch

        y = _label_ids(labels, "CrossEncoderNLI.fit")
        config.seed_everything(self.seed)
        self.model_ = CrossEncoder(self.model_name, head="graded", num_grades=3, max_length=self.max_length,
                                   max_query_length=min(64, self.max_length // 2), overflow="truncate", device=self.device)
        examples = [(*self.pair_text(store, c), int(t)) for c, t in zip(candidates, y)]
        counts = np.bincount(y, minlength=3).astype(np.float64)
        # "balanced": weight n / (3 n_c) per class, so the majority label (NEI) cannot win by default
        weight = torch.tensor(len(y) / (3 * np.maximum(counts, 1)), dtype=torch.float32) if self.class_weight else None

        def loss_fn(model, batch):
            feats = model.encode_pairs([b[0] for b in batch], [b[1] for b in batch])
            logits = model.model(**feats).logits.float()
            target = torch.tensor([b[2] for b in batch], device=logits.device)
            w = weight.to(logits.device) if weight is not None else None
            return torch.nn.functional.cross_entropy(logits, target, weight=w)

        cfg = TrainerConfig(lr=self.lr, epochs=self.epochs, max_steps=self.max_steps, batch_size=self.batch_size,
                            seed=self.seed, progress=self.progress, bf16=False, device=str(self.model_.device))
        self.history_ = Trainer(self.model_, loss_fn, cfg).train(examples)
        return self

    def predict_proba(self, store: SentenceStore, candidates: Sequence[Candidate], batch_size: int = 32) -> np.ndarray:
        """(n, 3) probabilities in :data:`LABELS` order."""
        import torch

        if not hasattr(self, "model_"):
            raise ValueError("CrossEncoderNLI: call fit(...) first")
        pairs = [self.pair_text(store, c) for c in candidates]
        out = np.zeros((len(pairs), 3))
        self.model_.model.eval()
        with torch.inference_mode():
            for s in range(0, len(pairs), batch_size):
                chunk = pairs[s : s + batch_size]
                feats = self.model_.encode_pairs([p[0] for p in chunk], [p[1] for p in chunk])
                out[s : s + len(chunk)] = self.model_.model(**feats).logits.float().softmax(-1).cpu().numpy()
        return out

    def predict(self, store: SentenceStore, candidates: Sequence[Candidate]) -> list[str]:
        return [LABELS[i] for i in self.predict_proba(store, candidates).argmax(1)]


# ============================================================================= the pipeline
def verify(store: SentenceStore, candidates: Sequence[Candidate],
           label_model: LabelPredictor | CrossEncoderNLI | CachedLabels) -> Predictions:
    """Label the candidates (whose ``sentences`` a selector filled) -> predictions in SciFact's format.

    A candidate with no selected sentence is NOT_ENOUGH_INFO without asking the label model (VeriSci);
    NEI pairs are left out, as the official format requires.

    >>> verify(store, selector.select(store, candidates_from_run(run, 3)), label_model)   # doctest: +SKIP
    {'3': {'14717500': {'label': 'SUPPORT', 'sentences': [2, 5]}}, ...}
    """
    with_rationale = [c for c in candidates if c.sentences]
    labels = label_model.predict(store, with_rationale) if with_rationale else []
    preds: Predictions = {}
    for cand, label in zip(with_rationale, labels):
        if label != NEI:
            preds.setdefault(cand.claim_id, {})[cand.doc_id] = {"label": label, "sentences": list(cand.sentences)}
    return preds


class CachedLabels:
    """Wraps a label model so that a (claim, abstract, rationale) is labelled once: choosing k on validation
    re-labels the same top abstracts for every k.

    >>> memo = CachedLabels(nli)                  # doctest: +SKIP
    >>> verify(store, cands, memo)                # doctest: +SKIP
    """

    def __init__(self, label_model) -> None:
        self.label_model = label_model
        self._seen: dict[Candidate, str] = {}

    def predict(self, store: SentenceStore, candidates: Sequence[Candidate]) -> list[str]:
        key = [replace(c, score=0.0) for c in candidates]
        todo = list(dict.fromkeys(c for c in key if c not in self._seen))
        if todo:
            self._seen.update(zip(todo, self.label_model.predict(store, todo)))
        return [self._seen[c] for c in key]


def best_setting(grid: Iterable, score: Callable[[object], float]) -> tuple[object, dict]:
    """``(argmax, {setting: score})`` over ``grid`` (first best on ties): hyperparameters chosen on validation.

    >>> best_setting([0.1, 1, 10], lambda C: val_f1(C))  # doctest: +SKIP
    (1, {0.1: 0.31, 1: 0.42, 10: 0.40})
    """
    table = {g: float(score(g)) for g in grid}
    if not table:
        raise ValueError("best_setting: empty grid")
    return max(table, key=table.get), table


# ============================================================================= metrics
def _f1(correct: int, retrieved: int, relevant: int) -> dict[str, float]:
    p = correct / retrieved if retrieved else 0.0
    r = correct / relevant if relevant else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def scifact_metrics(claims: ClaimSet, predictions: Mapping[str, Mapping[str, Mapping]],
                    max_abstract_sentences: int = MAX_ABSTRACT_SENTS) -> dict[str, dict[str, float]]:
    """The four SciFact measures (micro precision / recall / F1 over all claims of ``claims``).

    * abstract_label_only: a predicted abstract is correct if it is an evidence abstract and its label
      is the gold one. P = correct / predicted abstracts, R = correct / evidence abstracts.
    * abstract_rationalized: also, its first ``max_abstract_sentences`` predicted sentences contain a
      whole gold rationale.
    * sentence_selection: a predicted sentence is correct if its abstract is an evidence abstract and
      it belongs to a gold rationale all of whose sentences are predicted. P = correct / predicted
      sentences, R = correct / gold rationale sentences.
    * sentence_label: also, the abstract's predicted label is the gold one.

    Predictions labelled NOT_ENOUGH_INFO are ignored; claims missing from ``predictions`` predict
    nothing. Where a count is 0, precision / recall / F1 are 0 (the official script divides by zero).
    Definitions: ``verisci/evaluate/lib/metrics.py`` (allenai/scifact), Wadden et al. 2020, §4.

    >>> scifact_metrics(dev, {"3": {"14717500": {"label": "SUPPORT", "sentences": [2, 5]}}})["abstract_rationalized"]  # doctest: +SKIP
    {'precision': 1.0, 'recall': 0.0048, 'f1': 0.0095}
    """
    n = {"relevant_abs": 0, "retrieved_abs": 0, "label_only": 0, "rationalized": 0,
         "relevant_sent": 0, "retrieved_sent": 0, "selection": 0, "sentence_label": 0}
    for claim in claims:
        n["relevant_abs"] += len(claim.evidence)
        n["relevant_sent"] += sum(len(r) for ev in claim.evidence.values() for r in ev.rationales)
        for doc_id, pred in (predictions.get(claim.id) or {}).items():
            label = pred.get("label")
            if label == NEI:
                continue
            if label not in (SUPPORT, CONTRADICT):
                raise ValueError(f"scifact_metrics: claim {claim.id!r} / abstract {doc_id!r}: label {label!r}; "
                                 f"expected {SUPPORT!r}, {CONTRADICT!r} or {NEI!r}")
            sents = [int(i) for i in pred.get("sentences", [])]
            n["retrieved_abs"] += 1
            n["retrieved_sent"] += len(sents)
            ev = claim.evidence.get(str(doc_id))
            if ev is None:
                continue
            gold_sets = [set(r) for r in ev.rationales]
            label_ok = label == ev.label
            if label_ok:
                n["label_only"] += 1
                first = set(sents[:max_abstract_sentences])
                if any(g <= first for g in gold_sets):
                    n["rationalized"] += 1
            chosen = set(sents)
            good = sum(1 for i in chosen if any(i in g and g <= chosen for g in gold_sets))
            n["selection"] += good
            n["sentence_label"] += good * label_ok
    return {
        "abstract_label_only": _f1(n["label_only"], n["retrieved_abs"], n["relevant_abs"]),
        "abstract_rationalized": _f1(n["rationalized"], n["retrieved_abs"], n["relevant_abs"]),
        "sentence_selection": _f1(n["selection"], n["retrieved_sent"], n["relevant_sent"]),
        "sentence_label": _f1(n["sentence_label"], n["retrieved_sent"], n["relevant_sent"]),
    }


def rationale_selection_f1(claims: ClaimSet, candidates: Sequence[Candidate]) -> dict[str, float]:
    """Rationale selection alone (the paper's Table 3, oracle abstracts): micro P / R / F1 of the selected
    sentences of ``candidates``, a sentence counting as correct only with its whole gold rationale.
    Relevant = every gold rationale sentence of every claim in ``claims``.

    >>> gold_abstracts = oracle_candidates(dev, include_nei=False, gold_rationales=False)  # doctest: +SKIP
    >>> rationale_selection_f1(dev, selector.select(store, gold_abstracts))["f1"]           # doctest: +SKIP
    0.41
    """
    relevant = sum(len(r) for c in claims for ev in c.evidence.values() for r in ev.rationales)
    retrieved = correct = 0
    for cand in candidates:
        chosen = set(cand.sentences)
        retrieved += len(chosen)
        ev = claims.claims[cand.claim_id].evidence.get(cand.doc_id) if cand.claim_id in claims.claims else None
        if ev is not None:
            gold_sets = [set(r) for r in ev.rationales]
            correct += sum(1 for i in chosen if any(i in g and g <= chosen for g in gold_sets))
    return _f1(correct, retrieved, relevant)


def label_scores(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """Accuracy, macro-F1 over the 3 labels and per-label F1 of a label model on given inputs (Table 3).

    >>> label_scores(["SUPPORT", "CONTRADICT"], ["SUPPORT", "SUPPORT"])["accuracy"]  # doctest: +SKIP
    0.5
    """
    if len(gold) != len(predicted):
        raise ValueError(f"label_scores: {len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        raise ValueError("label_scores: no labels")
    g, p = _label_ids(gold, "label_scores(gold)"), _label_ids(predicted, "label_scores(predicted)")
    out = {"accuracy": float((g == p).mean())}
    f1s = []
    for i, name in enumerate(LABELS):
        tp, fp, fn = int(((p == i) & (g == i)).sum()), int(((p == i) & (g != i)).sum()), int(((p != i) & (g == i)).sum())
        f = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        out[f"f1_{name}"] = f
        f1s.append(f)
    out["macro_f1"] = float(np.mean(f1s))
    return out


# ============================================================================= passage boundaries
def passage_units(abstracts: Mapping[str, Abstract], doc_ids: Sequence[str], size: int | None = 1, stride: int = 1,
                  with_title: bool = False) -> tuple[list[str], np.ndarray]:
    """Cut abstracts into retrieval units of ``size`` consecutive sentences every ``stride`` sentences
    (``size=None``: the whole abstract, title included); ``with_title`` prepends the title to each unit
    (DPR's passages carry their article's title, Karpukhin et al. 2020).

    Returns the unit texts and ``owner`` (n_units,): the index in ``doc_ids`` of each unit's abstract.

    >>> passage_units({"x": Abstract("x", "T", ("a.", "b.", "c."))}, ["x"], size=2)[0]
    ['a. b.', 'b. c.']
    """
    if size is not None and size < 1:
        raise ValueError(f"passage_units(size={size}): size must be >= 1 (or None for whole abstracts)")
    if stride < 1:
        raise ValueError(f"passage_units(stride={stride}): stride must be >= 1")
    texts, owner = [], []
    for j, d in enumerate(doc_ids):
        a = abstracts[d]
        if size is None:
            units = [a.text()]
        else:
            s = a.sentences
            starts = range(0, max(len(s) - size, 0) + 1, stride)
            units = [" ".join(s[i : i + size]) for i in starts]
            if with_title and a.title:
                units = [f"{a.title} {u}" for u in units]
        texts += units
        owner += [j] * len(units)
    return texts, np.asarray(owner, dtype=np.int64)


def bm25_passage_run(abstracts: Mapping[str, Abstract], doc_ids: Sequence[str], queries: Mapping[str, str],
                     size: int | None = 1, stride: int = 1, with_title: bool = False, k: int = 100) -> dict[str, dict[str, float]]:
    """BM25 over passage units (see :func:`passage_units`), each abstract scored by its best unit
    (MaxP, Dai & Callan 2019) -> a run of abstracts, top ``k`` per query (abstracts with no matching term left out).

    >>> run = bm25_passage_run(dev.abstracts, ds.doc_ids, ds.queries, size=1, with_title=True)  # doctest: +SKIP
    """
    from lessonlib.cross.longdoc import aggregate  # deferred: pulls in torch
    from lessonlib.retrieval.bm25 import BM25  # deferred: pulls in scipy

    texts, owner = passage_units(abstracts, doc_ids, size, stride, with_title)
    bm25 = BM25().fit(texts)
    qids = list(queries)
    run: dict[str, dict[str, float]] = {}
    for start in range(0, len(qids), 64):
        block = bm25.score_matrix([queries[q] for q in qids[start : start + 64]]).toarray()
        docs = np.vstack([aggregate(row, owner, len(doc_ids), "maxp") for row in block])
        scores, idx = topk(docs, k)
        for q, srow, irow in zip(qids[start : start + 64], scores, idx):
            run[q] = {doc_ids[j]: float(s) for s, j in zip(srow, irow) if s > 0}
    return run


def maxp_run(store: SentenceStore, run: Run, k: int, top: int = 1, claim_ids: Iterable[str] | None = None) -> dict[str, dict[str, float]]:
    """Re-rank each claim's top ``k`` abstracts of ``run`` by the mean of their ``top`` best sentence cosines
    (top=1: MaxP) instead of the whole-abstract vector: sentence granularity inside a dense pipeline.

    >>> maxp_run(store, dense_run(ds), k=5)  # doctest: +SKIP
    {'3': {'14717500': 0.71, ...}, ...}
    """
    out = {}
    for cand in candidates_from_run(run, k, claim_ids):
        cos = np.sort(store.cosines(cand.claim_id, cand.doc_id))[::-1][:top]
        out.setdefault(cand.claim_id, {})[cand.doc_id] = float(cos.mean())
    return out


def rationale_token_offsets(claims: ClaimSet, count_tokens: Callable[[list[str]], Sequence[int]]) -> np.ndarray:
    """Where each gold rationale sentence starts, in tokens from the start of ``title + " " + abstract``
    (the text a dual encoder reads): title tokens plus the tokens of the sentences before it.

    ``count_tokens(texts)`` returns the number of tokens of each text without special tokens. Rationale
    sentences that start past the encoder's ``max_length`` are invisible to a truncated abstract vector.

    >>> words = lambda texts: [len(t.split()) for t in texts]
    >>> a = {"d": Abstract("d", "a title", ("one.", "two more."))}
    >>> rationale_token_offsets(ClaimSet({"c": Claim("c", "q", {"d": Evidence(SUPPORT, ((1,),))}, ("d",))}, a, "dev"), words)
    array([3])
    """
    docs = sorted({d for c in claims for d in c.evidence})
    offsets = []
    for d in docs:
        a = claims.abstracts[d]
        lens = [int(n) for n in count_tokens([a.title, *a.sentences])]
        starts = np.cumsum([0, *lens])  # starts[i + 1] = tokens before sentence i
        for c in claims:
            ev = c.evidence.get(d)
            if ev is not None:
                offsets += [int(starts[i + 1]) for i in ev.sentences]
    return np.asarray(offsets, dtype=np.int64)


# ============================================================================= published figures
#: VeriSci, the SciFact baseline (Wadden et al., 2020, EMNLP, "Fact or Fiction: Verifying Scientific Claims"):
#: TF-IDF retrieval of the top 3 abstracts, RoBERTa-large rationale selector (trained on SciFact) and
#: RoBERTa-large label predictor (FEVER, then SciFact). Values in percent, as published.
VERISCI_PUBLISHED: dict[str, dict] = {
    "open_test_sentence_label_f1": {"value": 39.5, "where": "Table 4, open setting, SciFact test set"},
    "open_test_abstract_rationalized_f1": {"value": 46.5, "where": "Table 4, open setting, SciFact test set"},
    "oracle_dev_rationale_selection_f1": {"value": 72.1, "where": "Table 3, gold abstracts, SciFact dev set"},
    "oracle_dev_label_accuracy": {"value": 81.9, "where": "Table 3, gold abstracts and rationales, SciFact dev set"},
}
