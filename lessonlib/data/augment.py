"""Data augmentation for dual encoders: query edits, document crops and self-supervised pairs.

Query augmentation (the query stays about the same thing):
  :func:`synonym_swap` (neighbours in the transformer's own input-embedding matrix,
  :class:`EmbeddingNeighbours`), :func:`neighbour_paraphrases` (several distinct swaps of one
  query), :func:`word_deletion`, :func:`word_reorder`; :func:`back_translate` through MarianMT
  (:class:`MarianTranslator`, when the models are installed locally); :func:`augment_queries`
  turns per-query variants into extra training queries that keep their relevance judgements;
  :func:`pig_latin` renders a text in a rule-made "second language".
Document augmentation (the passage still answers the query):
  :func:`random_crop`, :func:`split_title_content`, :func:`split_sentences`, :func:`passages`
  (sentence / paragraph / window granularity), :func:`sample_passage`; :func:`synthetic_revision`,
  :func:`synthetic_versions` (made-up later versions of documents, for temporal consistency).
Self-supervised (query, positive) pairs from raw text, no labels:
  :func:`inverse_cloze_pairs` (ICT, Lee, Chang & Toutanova 2019), :func:`independent_crop_pairs`
  (Contriever, Izacard et al. 2021), :func:`title_content_pairs`.

Every random function takes ``seed`` (an int or a ``numpy.random.Generator``): same seed, same output.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

from lessonlib.core import config
from lessonlib.core.hub import resolve_model

Seed = int | np.random.Generator


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check_p(owner: str, name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{owner}({name}={p}): must be in [0, 1]")


_WORD = re.compile(r"^(\W*)(.*?)(\W*)$")


# ------------------------------------------------------------------------------------------ query


class EmbeddingNeighbours:
    """Nearest tokens in a transformer's input (word-piece) embedding matrix: cheap "synonyms".

    The rows of the input embedding matrix E (vocab × d) are the vectors the model starts from;
    tokens whose rows have a high cosine similarity are used alike by the model (often synonyms,
    inflections, or siblings such as "protein"/"proteins"/"enzyme"). Only whole-word tokens are
    returned (no "##" pieces, special or ``[unused]`` tokens, digits-only, or the word itself).

        nbrs(w) = top-k_{v ≠ w} cos(E[w], E[v])

    Args:
        model: model id or folder (resolved with :func:`lessonlib.core.hub.resolve_model`).
        k: neighbours returned per word.
        min_similarity: neighbours below this cosine are dropped.
        matrix, vocab: give both to skip loading a model (tests, other models): E (V, d) and the
            token strings in row order.

    >>> nb = EmbeddingNeighbours(k=3)            # doctest: +SKIP
    >>> [w for w, _ in nb.neighbours("protein")]  # doctest: +SKIP
    ['proteins', ...]
    """

    def __init__(
        self,
        model: str | os.PathLike = config.DEFAULT_MODEL,
        k: int = 5,
        min_similarity: float = 0.4,
        matrix: np.ndarray | None = None,
        vocab: Sequence[str] | None = None,
    ) -> None:
        if k < 1:
            raise ValueError(f"EmbeddingNeighbours(k={k}): k must be >= 1")
        if (matrix is None) != (vocab is None):
            raise ValueError("EmbeddingNeighbours: give both matrix and vocab, or neither")
        self.model = model
        self.k = k
        self.min_similarity = min_similarity
        self.matrix = matrix
        self.vocab = vocab
        self.unit_: np.ndarray | None = None
        self.index_: dict[str, int] = {}
        self.allowed_: np.ndarray | None = None
        self._cache: dict[str, list[tuple[str, float]]] = {}

    def fit(self) -> EmbeddingNeighbours:
        """Load E and the vocabulary (from the model's safetensors and tokenizer) and normalise E."""
        matrix, vocab = self.matrix, self.vocab
        if matrix is None:
            matrix, vocab = _load_input_embeddings(self.model)
        e = np.asarray(matrix, dtype=np.float32)
        if len(vocab) != len(e):
            raise ValueError(f"EmbeddingNeighbours: vocab has {len(vocab)} tokens, matrix {len(e)} rows")
        self.unit_ = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        self.index_ = {tok: i for i, tok in enumerate(vocab)}
        self.vocab_ = list(vocab)
        self.allowed_ = np.array([_is_word_token(t) for t in vocab])
        return self

    def neighbours(self, word: str) -> list[tuple[str, float]]:
        """The ``k`` nearest whole-word tokens of ``word`` with their cosine; [] if ``word`` is not one token."""
        if self.unit_ is None:
            self.fit()
        key = word.lower()
        if key in self._cache:
            return self._cache[key]
        row = self.index_.get(key)
        if row is None:
            self._cache[key] = []
            return []
        sims = self.unit_ @ self.unit_[row]
        sims = np.where(self.allowed_, sims, -np.inf)
        sims[row] = -np.inf
        top = np.argpartition(-sims, self.k)[: self.k + 1]
        top = top[np.argsort(-sims[top], kind="stable")]
        out = [(self.vocab_[i], float(sims[i])) for i in top if sims[i] >= self.min_similarity and self.vocab_[i] != key]
        self._cache[key] = out[: self.k]
        return self._cache[key]


def _is_word_token(tok: str) -> bool:
    return tok.isalpha() and not tok.startswith("##") and not (tok.startswith("[") and tok.endswith("]")) and len(tok) > 1


def _load_input_embeddings(model: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    from safetensors import safe_open
    from transformers import AutoTokenizer

    path = resolve_model(model)
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    vocab = [tok for tok, _ in sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])]
    weights = path / "model.safetensors"
    if weights.exists():
        with safe_open(str(weights), "np") as f:
            keys = [k for k in f.keys() if k.endswith(("word_embeddings.weight", "embed_tokens.weight"))]  # noqa: SIM118
            if keys:
                return f.get_tensor(keys[0]).astype(np.float32), vocab
    from transformers import AutoModel  # any other layout: load the model once

    return AutoModel.from_pretrained(str(path)).get_input_embeddings().weight.detach().float().numpy(), vocab


def synonym_swap(
    text: str,
    neighbours: EmbeddingNeighbours,
    p: float = 0.2,
    seed: Seed = 0,
    stopwords: Iterable[str] = (),
    min_length: int = 3,
) -> str:
    """Replace each word, with probability ``p``, by one of its embedding neighbours (chosen uniformly).

    Words without neighbours (not a single vocabulary token, shorter than ``min_length``, or in
    ``stopwords``) stay; leading/trailing punctuation and an initial capital are kept. A cheap
    stand-in for thesaurus synonym replacement (EDA, Wei & Zou 2019) that needs no external
    resource. Caveat worth measuring: embedding neighbours are *related* words, not always
    synonyms ("increases" -> "decreases", "deficiency" -> "mutation"), which can flip a claim.
    """
    _check_p("synonym_swap", "p", p)
    rng = _rng(seed)
    stop = {s.lower() for s in stopwords}
    out = []
    for token in text.split():
        pre, core, post = _WORD.match(token).groups()
        if len(core) >= min_length and core.lower() not in stop and rng.random() < p:
            cands = neighbours.neighbours(core)
            if cands:
                new = cands[int(rng.integers(len(cands)))][0]
                core = new.capitalize() if core[:1].isupper() else new
        out.append(pre + core + post)
    return " ".join(out)


def word_deletion(text: str, p: float = 0.1, seed: Seed = 0) -> str:
    """Drop each word independently with probability ``p`` (at least one word is kept)."""
    _check_p("word_deletion", "p", p)
    rng = _rng(seed)
    words = text.split()
    if not words:
        return text
    keep = rng.random(len(words)) >= p
    if not keep.any():
        keep[int(rng.integers(len(words)))] = True
    return " ".join(w for w, k in zip(words, keep) if k)


def word_reorder(text: str, n_swaps: int = 1, max_distance: int | None = None, seed: Seed = 0) -> str:
    """Swap ``n_swaps`` random pairs of words (at most ``max_distance`` positions apart if given).

    Bag-of-words models are blind to it; a dual encoder should be *nearly* so for keyword queries.
    """
    if n_swaps < 0:
        raise ValueError(f"word_reorder(n_swaps={n_swaps}): must be >= 0")
    rng = _rng(seed)
    words = text.split()
    if len(words) < 2:
        return text
    for _ in range(n_swaps):
        i = int(rng.integers(len(words)))
        if max_distance is None:
            j = int(rng.integers(len(words) - 1))
            j = j + 1 if j >= i else j
        else:
            lo, hi = max(0, i - max_distance), min(len(words) - 1, i + max_distance)
            choices = [x for x in range(lo, hi + 1) if x != i]
            j = choices[int(rng.integers(len(choices)))]
        words[i], words[j] = words[j], words[i]
    return " ".join(words)


def neighbour_paraphrases(
    text: str,
    neighbours: EmbeddingNeighbours,
    n: int = 2,
    p: float = 0.3,
    seed: Seed = 0,
    stopwords: Iterable[str] = (),
    max_tries: int = 10,
) -> list[str]:
    """Up to ``n`` distinct paraphrases of ``text``, each a :func:`synonym_swap` that changed something.

    Synonym replacement as query augmentation (EDA, Wei & Zou 2019), with the "synonyms" taken
    from the model's own input-embedding neighbours (:class:`EmbeddingNeighbours`) so no thesaurus
    is needed. Each try draws a new swap; identical or unchanged texts are dropped, so fewer than
    ``n`` come back for a query with few swappable words ([] when none can change).

    >>> neighbour_paraphrases("vitamin d deficiency causes cancer", EmbeddingNeighbours(), n=2)  # doctest: +SKIP
    ['vitamin d deficiency causes tumor', 'vitamin d insufficiency causes cancer']
    """
    if n < 1:
        raise ValueError(f"neighbour_paraphrases(n={n}): n must be >= 1")
    rng = _rng(seed)
    out: list[str] = []
    for _ in range(n * max_tries):
        variant = synonym_swap(text, neighbours, p=p, seed=rng, stopwords=stopwords)
        if variant != text and variant not in out:
            out.append(variant)
            if len(out) == n:
                break
    return out


_VOWELS = "aeiouAEIOU"


def pig_latin(text: str) -> str:
    """``text`` in Pig Latin, a rule-made "second language": "protein binds" -> "oteinpray indsbay".

    Per word (letters only; punctuation, digits and case of the first letter kept): a word that
    starts with a vowel gets "way" appended; otherwise its leading consonants move to the end,
    followed by "ay". Deterministic and invertible enough for a human, but the word pieces a
    transformer sees change completely: a synthetic stand-in for a language the model was not
    trained on, where no translation model or parallel data can be had (notebook 02,
    cross-lingual alignment).
    """
    out = []
    for token in text.split():
        pre, core, post = _WORD.match(token).groups()
        if core.isalpha():
            cap = core[0].isupper()
            low = core.lower()
            lead = len(low) - len(low.lstrip("bcdfghjklmnpqrstvwxyz"))
            new = low + "way" if lead == 0 else low[lead:] + low[:lead] + "ay"
            core = new.capitalize() if cap else new
        out.append(pre + core + post)
    return " ".join(out)


def augment_queries(
    queries: Mapping[str, str],
    variants: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Mapping[str, int]] | None = None,
    tag: str = "aug",
) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """Extra training queries from per-query variants: ``{qid}#{tag}{i}`` keeps ``qid``'s judgements.

    Returns ``(queries, qrels)`` holding the originals plus every variant that differs from its
    original (variants of queries absent from ``queries`` are an error). A variant is a new
    *query* for the same relevant documents, which is what query augmentation means for a dual
    encoder: more (query, positive) pairs, the positives unchanged. Use only on training queries.
    """
    unknown = sorted(set(variants) - set(queries))
    if unknown:
        raise ValueError(f"augment_queries(variants=...): {len(unknown)} query ids not in queries, e.g. {unknown[0]!r}")
    out_q = dict(queries)
    out_rel = {q: dict(r) for q, r in (qrels or {}).items()}
    for qid in sorted(variants):
        for i, text in enumerate(v for v in dict.fromkeys(variants[qid]) if v != queries[qid]):
            new = f"{qid}#{tag}{i}"
            out_q[new] = text
            if qrels is not None and qid in qrels:
                out_rel[new] = dict(qrels[qid])
    return out_q, out_rel


# ------------------------------------------------------------------------------------------ back-translation

MARIAN_EN_DE = "Helsinki-NLP/opus-mt-en-de"
MARIAN_DE_EN = "Helsinki-NLP/opus-mt-de-en"


class TranslatorUnavailable(RuntimeError):
    """A MarianMT model or its tokenizer's dependency (``sentencepiece``) is not installed locally."""


class MarianTranslator:
    """A MarianMT translation model (Junczys-Dowmunt et al. 2018; OPUS-MT, Tiedemann & Thottingal 2020).

    Configure with a model id or folder (``Helsinki-NLP/opus-mt-en-de``...), load with :meth:`fit`
    (offline only: the model must be in a local folder or the Hugging Face cache), translate with
    :meth:`translate`. ``model``/``tokenizer`` objects may be passed instead of an id (any
    transformers seq2seq model with ``generate`` and a tokenizer for it), e.g. a small one in tests.

    Decoding: greedy (``num_beams=1``) or beam search; ``do_sample=True`` draws with the given
    ``temperature`` under ``seed`` (sampled back-translation gives more varied paraphrases,
    Edunov et al. 2018, "Understanding Back-Translation at Scale").

    Raises :class:`TranslatorUnavailable` (one line, naming what is missing) from :meth:`fit`.

    >>> MarianTranslator("Helsinki-NLP/opus-mt-en-de").fit().translate(["Vitamin D prevents cancer."])  # doctest: +SKIP
    ['Vitamin D verhindert Krebs.']
    """

    def __init__(
        self,
        model: str | os.PathLike | object = MARIAN_EN_DE,
        tokenizer: object | None = None,
        batch_size: int = 16,
        num_beams: int = 1,
        max_new_tokens: int = 128,
        do_sample: bool = False,
        temperature: float = 1.0,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"MarianTranslator(batch_size={batch_size}): must be >= 1")
        if num_beams < 1:
            raise ValueError(f"MarianTranslator(num_beams={num_beams}): must be >= 1")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.num_beams = num_beams
        self.max_new_tokens = max_new_tokens
        self.do_sample = do_sample
        self.temperature = temperature
        self.seed = seed
        self.device = device
        self.model_ = None
        self.tokenizer_ = None

    def fit(self) -> MarianTranslator:
        """Load the model and tokenizer from local files (never the network)."""
        if not isinstance(self.model, (str, os.PathLike)):
            if self.tokenizer is None:
                raise ValueError("MarianTranslator(model=<object>): pass tokenizer= with a model object")
            self.model_, self.tokenizer_ = self.model, self.tokenizer
        else:
            self.model_, self.tokenizer_ = load_marian(self.model)
            if self.tokenizer is not None:
                self.tokenizer_ = self.tokenizer
        self.model_.to(self.device).eval()
        return self

    def translate(self, texts: Sequence[str], show_progress: bool = True) -> list[str]:
        """Translations of ``texts``, in order (batched ``generate``, no gradients)."""
        import torch  # deferred: torch is only needed once a translator runs

        if self.model_ is None:
            self.fit()
        texts = list(texts)
        out: list[str] = []
        generator_seed = torch.random.initial_seed()
        torch.manual_seed(self.seed)
        try:
            starts = range(0, len(texts), self.batch_size)
            for s in tqdm(starts, desc="translate", unit="batch", disable=not show_progress or len(starts) < 2):
                enc = self.tokenizer_(texts[s : s + self.batch_size], return_tensors="pt", padding=True, truncation=True)
                enc = {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
                with torch.no_grad():
                    ids = self.model_.generate(
                        **enc, num_beams=self.num_beams, max_new_tokens=self.max_new_tokens,
                        do_sample=self.do_sample, temperature=self.temperature if self.do_sample else None,
                    )
                out.extend(t.strip() for t in self.tokenizer_.batch_decode(ids, skip_special_tokens=True))
        finally:
            torch.manual_seed(generator_seed)
        return out


def load_marian(model: str | os.PathLike) -> tuple[object, object]:
    """(MarianMTModel, MarianTokenizer) from a local folder or the Hugging Face cache.

    Raises :class:`TranslatorUnavailable` with one line naming what is missing: the
    ``sentencepiece`` package (MarianTokenizer needs it) or the model files.
    """
    try:
        import sentencepiece  # noqa: F401  # deferred: optional; only MarianTokenizer needs it
    except ImportError:
        raise TranslatorUnavailable(
            f"back-translation with {model}: the 'sentencepiece' package is not installed (MarianTokenizer needs it; pip install sentencepiece)"
        ) from None
    try:
        path = resolve_model(model)
    except FileNotFoundError:
        raise TranslatorUnavailable(
            f"back-translation: MarianMT model {model} is not installed locally (no Hugging Face cache entry; "
            f"online: huggingface-cli download {model})"
        ) from None
    import transformers  # deferred: heavy, only needed to translate

    return transformers.MarianMTModel.from_pretrained(str(path)), transformers.MarianTokenizer.from_pretrained(str(path))


def translation_status(models: Sequence[str | os.PathLike] = (MARIAN_EN_DE, MARIAN_DE_EN)) -> tuple[bool, str]:
    """(True, "") when every model in ``models`` loads offline, else (False, the one-line reason)."""
    try:
        for m in models:
            load_marian(m)
    except TranslatorUnavailable as err:
        return False, str(err)
    return True, ""


def back_translate(
    texts: Sequence[str],
    forward: MarianTranslator | str | os.PathLike = MARIAN_EN_DE,
    backward: MarianTranslator | str | os.PathLike = MARIAN_DE_EN,
    show_progress: bool = True,
) -> list[str]:
    """Paraphrases by a round trip through a pivot language: ``backward(forward(text))``.

    Back-translation (Sennrich, Haddow & Birch 2016; for queries/questions, Yu et al. 2018
    "QANet") rewrites wording while keeping meaning. ``forward``/``backward`` are
    :class:`MarianTranslator` objects or model ids (default English -> German -> English).

    Raises :class:`TranslatorUnavailable` (one line) when a model is not installed locally.

    >>> back_translate(["Vitamin D deficiency raises cancer risk."])  # doctest: +SKIP
    ['Vitamin D deficiency increases the risk of cancer.']
    """
    fwd = forward if isinstance(forward, MarianTranslator) else MarianTranslator(forward)
    bwd = backward if isinstance(backward, MarianTranslator) else MarianTranslator(backward)
    return bwd.translate(fwd.translate(texts, show_progress), show_progress)


# ------------------------------------------------------------------------------------------ documents

_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[\"'])")


def split_sentences(text: str) -> list[str]:
    """Sentences by a rule: split after . ! ? followed by space and a capital, digit or bracket.

    Good enough for scientific abstracts (it does not split "e.g. the" or "p < 0.05"); no model.
    """
    return [s.strip() for s in _SENT_END.split(text.strip()) if s.strip()]


def split_title_content(doc: dict | str) -> tuple[str, str]:
    """(title, content) of a BEIR document dict; for a plain string, its first sentence and the rest."""
    if isinstance(doc, dict):
        return doc.get("title", "") or "", doc.get("text", "") or ""
    sents = split_sentences(doc)
    return (sents[0], " ".join(sents[1:])) if sents else ("", "")


def passages(text: str, granularity: str = "sentence", size: int = 3, stride: int | None = None) -> list[str]:
    """Cut ``text`` into units of one granularity.

    - ``"sentence"``: one sentence each;
    - ``"paragraph"``: blank-line separated blocks; a text with none is cut into blocks of ``size``
      sentences (abstracts are one paragraph);
    - ``"window"``: windows of ``size`` words every ``stride`` words (default: no overlap);
    - ``"document"``: the whole text.
    """
    if size < 1:
        raise ValueError(f"passages(size={size}): must be >= 1")
    if granularity == "document":
        return [text.strip()] if text.strip() else []
    if granularity == "sentence":
        return split_sentences(text)
    if granularity == "paragraph":
        paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        if len(paras) > 1:
            return paras
        sents = split_sentences(text)
        return [" ".join(sents[i : i + size]) for i in range(0, len(sents), size)]
    if granularity == "window":
        stride = stride or size
        if stride < 1:
            raise ValueError(f"passages(stride={stride}): must be >= 1")
        words = text.split()
        starts = range(0, max(1, len(words) - size + stride), stride)
        return [" ".join(words[s : s + size]) for s in starts if words[s : s + size]]
    raise ValueError(f"passages(granularity={granularity!r}): expected 'sentence', 'paragraph', 'window' or 'document'")


def synthetic_revision(text: str, months: int, edits_per_year: float = 1.0, deletion: float = 0.05, seed: Seed = 0) -> str:
    """A made-up later version of ``text``, ``months`` after it: the older the gap, the more edits.

    Edits = max(1, round(edits_per_year * months / 12)); each edit drops one random sentence (while
    more than one is left) and deletes each word with probability ``deletion``. A *synthetic*
    stand-in for real document versions (revised abstracts, edited pages) with known time gaps,
    for the temporal-consistency section of notebook 02; real versioned collections exist (e.g.
    Wikipedia revision histories) but not offline here.
    """
    if months < 0:
        raise ValueError(f"synthetic_revision(months={months}): must be >= 0")
    _check_p("synthetic_revision", "deletion", deletion)
    rng = _rng(seed)
    sents = split_sentences(text) or [text]
    for _ in range(max(1, int(round(edits_per_year * months / 12)))):  # noqa: RUF046
        if len(sents) > 1:
            sents.pop(int(rng.integers(len(sents))))
        sents = [word_deletion(s, deletion, rng) for s in sents]
    return " ".join(sents)


def synthetic_versions(docs: Mapping[str, str], max_months: int = 36, seed: Seed = 0, **revision) -> list[tuple[str, str, int]]:
    """(doc id, later version, months between) for every document: a seeded gap in 1..``max_months``
    and :func:`synthetic_revision` (``revision`` keyword arguments passed on). Synthetic timestamps."""
    if max_months < 1:
        raise ValueError(f"synthetic_versions(max_months={max_months}): must be >= 1")
    rng = _rng(seed)
    out = []
    for did in docs:
        months = int(rng.integers(1, max_months + 1))
        out.append((did, synthetic_revision(docs[did], months, seed=rng, **revision), months))
    return out


def sample_passage(text: str, granularity: str = "sentence", size: int = 3, seed: Seed = 0) -> str:
    """One unit of :func:`passages`, drawn uniformly (the whole text if it has none)."""
    units = passages(text, granularity, size)
    return units[int(_rng(seed).integers(len(units)))] if units else text


def random_crop(text: str, min_ratio: float = 0.1, max_ratio: float = 0.5, seed: Seed = 0, min_words: int = 1) -> str:
    """A contiguous span of words, its length a uniform fraction in [min_ratio, max_ratio] of the text.

    The cropping of Contriever (Izacard et al. 2021, "Unsupervised Dense Information Retrieval with
    Contrastive Learning"), which uses 10%–50% of the document.
    """
    if not 0.0 < min_ratio <= max_ratio <= 1.0:
        raise ValueError(f"random_crop(min_ratio={min_ratio}, max_ratio={max_ratio}): need 0 < min <= max <= 1")
    rng = _rng(seed)
    words = text.split()
    if not words:
        return text
    length = max(min_words, int(round(rng.uniform(min_ratio, max_ratio) * len(words))))  # noqa: RUF046
    length = min(length, len(words))
    start = int(rng.integers(len(words) - length + 1))
    return " ".join(words[start : start + length])


# ------------------------------------------------------------------------------------------ pairs


class Pair(NamedTuple):
    """A self-supervised training pair: ``query`` text, ``positive`` text, the source ``doc_id``."""

    query: str
    positive: str
    doc_id: str


def _docs(corpus: dict[str, dict] | Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    if isinstance(corpus, dict):
        return [(did, f"{d.get('title', '')} {d.get('text', '')}".strip() if isinstance(d, dict) else str(d)) for did, d in corpus.items()]
    return [(str(did), text) for did, text in corpus]


def inverse_cloze_pairs(
    corpus: dict[str, dict] | Sequence[tuple[str, str]],
    n_pairs: int | None = None,
    keep_prob: float = 0.1,
    min_sentences: int = 3,
    seed: Seed = 0,
) -> list[Pair]:
    """Inverse cloze task: a sentence is the query, its passage *without* that sentence the positive.

    For each sampled document with at least ``min_sentences`` sentences, pick one sentence at
    random; with probability ``keep_prob`` it is left in the context (Lee, Chang & Toutanova 2019,
    "Latent Retrieval for Weakly Supervised Open Domain Question Answering", keep it 10% of the
    time so the model also learns word matching). Documents are drawn without replacement (all of
    the eligible ones when ``n_pairs`` is None), in a seeded order.

    ``corpus``: BEIR dict (doc id -> {"title", "text"}; the title is not used) or (id, text) pairs.
    """
    _check_p("inverse_cloze_pairs", "keep_prob", keep_prob)
    rng = _rng(seed)
    items = corpus.items() if isinstance(corpus, dict) else corpus
    eligible = []
    for did, doc in items:
        text = doc.get("text", "") if isinstance(doc, dict) else doc
        sents = split_sentences(text)
        if len(sents) >= min_sentences:
            eligible.append((str(did), sents))
    order = rng.permutation(len(eligible))[: n_pairs if n_pairs is not None else len(eligible)]
    pairs = []
    for i in order:
        did, sents = eligible[i]
        j = int(rng.integers(len(sents)))
        context = sents if rng.random() < keep_prob else sents[:j] + sents[j + 1 :]
        pairs.append(Pair(sents[j], " ".join(context), did))
    return pairs


def independent_crop_pairs(
    corpus: dict[str, dict] | Sequence[tuple[str, str]],
    n_pairs: int | None = None,
    min_ratio: float = 0.1,
    max_ratio: float = 0.5,
    deletion: float = 0.1,
    seed: Seed = 0,
) -> list[Pair]:
    """Contriever's positives: two independent random crops of one document (they may overlap).

    Each crop is :func:`random_crop` then :func:`word_deletion` with probability ``deletion``
    (Izacard et al. 2021 use 10% token deletion). The pair is "about the same document", the
    only supervision there is.
    """
    rng = _rng(seed)
    docs = [d for d in _docs(corpus) if d[1].split()]
    order = rng.permutation(len(docs))[: n_pairs if n_pairs is not None else len(docs)]
    pairs = []
    for i in order:
        did, text = docs[i]
        a, b = (word_deletion(random_crop(text, min_ratio, max_ratio, rng), deletion, rng) for _ in range(2))
        pairs.append(Pair(a, b, did))
    return pairs


def title_content_pairs(corpus: dict[str, dict]) -> list[Pair]:
    """(title, content) of every document with both: titles act as short, keyword-like queries."""
    out = []
    for did, doc in corpus.items():
        title, content = split_title_content(doc)
        if title.strip() and content.strip():
            out.append(Pair(title.strip(), content.strip(), did))
    return out
