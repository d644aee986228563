"""Probes of what a ranker matches: numbers, named entities, word order, negation, idioms.

Day 10.2 lists syntactic, named-entity and idiom matching among what joint encoding can capture
and a bag of words cannot. These probes measure it on claims (notebook 20, "Entity, numeric and
syntactic matching"):

* **Detectors** (heuristics, said plainly: no NER model is available offline):
  ``find_numbers``: standalone numerals (``12``, ``1,000``, ``0.5``) with an optional unit or ``%``
  (a digit inside a token, as in ``APOE4`` or ``rs647161``, is not a number);
  ``find_entities``: entity-like tokens: a token with an upper-case letter and a digit (``CD8``,
  ``PGAM1``), two or more capitals (``DNA``, ``G-CSF``), a lower-case letter then digits (``p53``),
  an internal capital (``iPSC``), or a capitalised word that does not open the claim
  (``Drosophila``, ``Arabidopsis``). It over-counts (``UK``) and misses lower-case chemicals.
* **Controlled perturbations** of one claim, everything else unchanged: ``change_number`` (the first
  numeral x 10), ``swap_entity`` (the first entity-like token -> another from a pool),
  ``flip_negation`` (insert or remove "not" at the first auxiliary or relation verb),
  ``swap_arguments`` (``A <verb> B`` -> ``B <verb> A`` around the first transitive relation verb)
  and
  ``shuffle_words`` (a random word order: BM25's score is unchanged by construction).
* ``score_shift``: each pair's score before and after, in units of the model's score spread
  (std over a reference set of its scores), so that a cross-encoder's logits, BM25 and cosine are
  on one scale: ``z = (s_after - s_before) / std(reference)``.
* **Idioms**: ``IDIOM_PAIRS`` are *constructed* (query, meaning match, literal-word distractor)
  triples: both documents share the query's topic words; only the meaning doc paraphrases the
  idiom. ``idiom_hits`` counts claims that contain a common idiom (``IDIOMS``): scientific claims
  have essentially none, which is why the probe needs constructed pairs.

Perturbations follow the spirit of CheckList (Ribeiro et al. 2020, "Beyond accuracy: behavioral
testing of NLP models") and of MacAvaney et al. 2022 ("ABNIRML: analyzing the behavior of neural
IR models"), which found neural rankers sensitive to word order and largely blind to negation.

>>> find_numbers("Up to 50% of 1,000 mice died within 3 days; APOE4 is a gene.")
['50%', '1,000', '3 days']
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# ------------------------------------------------------------------------------ detectors
UNITS = r"%|percent|-?fold|mg/kg|mg|kg|g|ml|µl|μl|mm|cm|nm|µm|μm|mmHg|mM|µM|μM|nM|years?|months?|weeks?|days?|hours?|h|min|minutes?|s"
NUMBER_RE = re.compile(rf"(?<![\w.\-/])\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?(?:\s?(?:{UNITS})\b|%)?"
                       rf"|(?<![\w.\-/])\d+(?:\.\d+)?(?:\s?(?:{UNITS})\b|%)?(?![\w])")
_TOKEN_RE = re.compile(r"[\w][\w\-/+αβγδκ]*")
_ENTITY_PATTERNS = [
    re.compile(r"^(?=.*[A-Z])(?=.*\d)[\w\-/+]+$"),  # upper case and a digit: CD8, PGAM1, LATS1/2
    re.compile(r"^(?:[^A-Z]*[A-Z]){2}"),  # two capitals or more: DNA, G-CSF, IncRNAs
    re.compile(r"^[a-z]\d+\w*$"),  # a letter then digits: p53, p150n
    re.compile(r"^[a-z]+[A-Z]\w*$"),  # an internal capital: iPSC, dLNs
]


def find_numbers(text: str) -> list[str]:
    """Standalone numerals with their unit or % (see the module docstring), in order of appearance."""
    return [m.group(0) for m in NUMBER_RE.finditer(text)]


def _is_entity(token: str, first: bool) -> bool:
    if any(p.search(token) for p in _ENTITY_PATTERNS):
        return True
    return not first and token[:1].isupper() and token[1:].islower() and len(token) > 1


def find_entities(text: str) -> list[str]:
    """Entity-like tokens of ``text`` by the heuristic patterns of the module docstring (not an NER model).

    >>> find_entities("Deleting Raptor reduces G-CSF levels in p53 mice.")
    ['Raptor', 'G-CSF', 'p53']
    """
    return [m.group(0) for i, m in enumerate(_TOKEN_RE.finditer(text)) if _is_entity(m.group(0), i == 0)]


def claim_traits(queries: Mapping[str, str]) -> dict[str, dict[str, bool]]:
    """Per query id: ``{"number": has a numeral, "entity": has an entity-like token}``."""
    return {q: {"number": bool(find_numbers(t)), "entity": bool(find_entities(t))} for q, t in queries.items()}


def trait_groups(queries: Mapping[str, str], trait: str) -> dict[str, str]:
    """Query id -> ``"with <trait>"`` / ``"without <trait>"`` (trait ``"number"`` or ``"entity"``),
    the form :func:`lessonlib.evaluation.cost.per_bucket` takes."""
    if trait not in ("number", "entity"):
        raise ValueError(f"trait_groups(trait={trait!r}): expected 'number' or 'entity'")
    traits = claim_traits(queries)
    return {q: f"with {trait}s" if t[trait] else f"without {trait}s" for q, t in traits.items()}


# ------------------------------------------------------------------------------ perturbations
def _rng(text: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(text.encode())])


def change_number(text: str) -> str | None:
    """The first numeral multiplied by 10 (``50%`` -> ``500%``, ``1,000`` -> ``10000``, ``0`` -> ``1``); None without one."""
    m = NUMBER_RE.search(text)
    if m is None:
        return None
    num = re.match(r"[\d,]+(?:\.\d+)?", m.group(0)).group(0)
    value = float(num.replace(",", "")) * 10 or 1.0  # 0 -> 1
    new = str(int(value)) if value == int(value) else f"{value:g}"
    return text[: m.start()] + new + text[m.start() + len(num):]


def swap_entity(text: str, pool: Sequence[str], seed: int = 0) -> str | None:
    """The first entity-like token replaced by a different one drawn from ``pool`` (seeded per claim); None without one."""
    ents = find_entities(text)
    if not ents:
        return None
    choices = sorted({p for p in pool if p != ents[0]})
    if not choices:
        raise ValueError("swap_entity: the pool holds no other entity")
    new = choices[int(_rng(text, seed).integers(len(choices)))]
    return re.sub(rf"(?<![\w\-]){re.escape(ents[0])}(?![\w\-])", lambda _: new, text, count=1)


AUXILIARIES = ("is", "are", "was", "were", "can", "could", "may", "might", "will", "would", "should",
               "does", "do", "did", "has", "have", "had")
RELATION_VERBS = ("increase", "decrease", "reduce", "cause", "promote", "inhibit", "induce", "affect", "improve",
                  "activate", "regulate", "require", "prevent", "lead", "result", "correlate", "contribute",
                  "protect", "enhance", "impair", "suppress", "facilitate", "mediate", "block", "trigger",
                  "predict", "modulate", "drive", "alter", "delay", "accelerate")
INTRANSITIVE = ("lead", "result", "correlate", "contribute")  # need a preposition: not swapped around
_DETERMINERS = ("a", "an", "the", "this", "that", "these", "those", "no", "any", "each", "its", "their")
_HAVE = {"has": "does", "have": "do", "had": "did"}


def _third_person(verb: str) -> str:
    return verb + ("es" if verb.endswith(("s", "sh", "ch", "x")) else "s")


_VERB_FORMS = {**{v: (v, "do") for v in RELATION_VERBS}, **{_third_person(v): (v, "does") for v in RELATION_VERBS}}


def _bare(word: str) -> str:
    return word.lower().strip(".,;:()")


def _first_verb(words: list[str], aux: bool = True) -> tuple[int, str] | None:
    """(index, kind) of the first auxiliary ("aux") or relation verb ("verb"), skipping the first word.

    A relation-verb form counts only after a word that is not a determiner, and its bare form
    ("increase") only after a plural-looking word ending in "s" ("Statins increase"), so that nouns
    such as "a transient decrease" are passed over; after an auxiliary or "not" ("does not affect")
    the bare form counts too. ``aux=False`` looks for relation verbs only. Heuristics: they miss and
    misfire sometimes.
    """
    for i, w in enumerate(words[1:], start=1):
        low, prev = _bare(w), _bare(words[i - 1])
        if aux and low in AUXILIARIES:
            return i, "aux"
        helped = prev in AUXILIARIES or prev == "not"
        if low in _VERB_FORMS and prev not in _DETERMINERS and (low != _VERB_FORMS[low][0] or prev.endswith("s") or helped):
            return i, "verb"
    return None


def _tail(word: str) -> str:
    return word[len(word.rstrip(".,;:")):]


def flip_negation(text: str) -> str | None:
    """Remove the first "not", else insert one: ``X is Y`` -> ``X is not Y``, ``X increases Y`` ->
    ``X does not increase Y``, ``X has Y`` -> ``X does not have Y``; None when no auxiliary or relation
    verb is found."""
    words = text.split()
    for i, w in enumerate(words):
        if w.lower() == "not":
            return " ".join(words[:i] + words[i + 1:])
    found = _first_verb(words)
    if found is None:
        return None
    i, kind = found
    low = _bare(words[i])
    nxt = _bare(words[i + 1]) if i + 1 < len(words) else ""
    if kind == "aux" and low in _HAVE and nxt != "been" and not nxt.endswith(("ed", "en")):  # "has" as the main verb
        return " ".join(words[:i] + [_HAVE[low], "not", "have" + _tail(words[i])] + words[i + 1:])
    if kind == "aux":
        return " ".join(words[: i + 1] + ["not"] + words[i + 1:])
    base, aux = _VERB_FORMS[low]
    return " ".join(words[:i] + [aux, "not", base + _tail(words[i])] + words[i + 1:])


def swap_arguments(text: str) -> str | None:
    """``A <verb> B.`` -> ``B <verb> A.`` around the first transitive relation verb (its auxiliaries and
    "not" move with it); None without one."""
    words = text.rstrip(".").split()
    found = _first_verb(words, aux=False)
    if found is None or found[0] == len(words) - 1:
        return None
    i = found[0]
    if _VERB_FORMS[_bare(words[i])][0] in INTRANSITIVE:
        return None
    j = i
    while j > 1 and (_bare(words[j - 1]) in AUXILIARIES or _bare(words[j - 1]) == "not"):
        j -= 1
    left, verb, right = " ".join(words[:j]), " ".join(words[j: i + 1]), " ".join(words[i + 1:])
    if not find_entities(words[0]):  # a common word opened the claim: lower-case it
        left = left[:1].lower() + left[1:]
    return f"{right[:1].upper()}{right[1:]} {verb} {left}."


def shuffle_words(text: str, seed: int = 0) -> str:
    """The claim's words in a random order (seeded per claim), guaranteed different when two words differ."""
    words = text.rstrip(".").split()
    if len(set(words)) < 2:
        return text
    rng = _rng(text, seed)
    while True:
        order = rng.permutation(len(words))
        out = [words[i] for i in order]
        if out != words:
            return " ".join(out) + "."


PERTURBATIONS: dict[str, Callable[[str], str | None]] = {
    "number x10": change_number, "negation flipped": flip_negation,
    "subject/object swapped": swap_arguments, "words shuffled": shuffle_words,
}


def perturb(queries: Mapping[str, str], how: Callable[[str], str | None]) -> dict[str, str]:
    """``{qid: how(text)}`` for the queries where the perturbation applies (returns a different text)."""
    out = {}
    for q, t in queries.items():
        new = how(t)
        if new is not None and new != t:
            out[q] = new
    return out


# ------------------------------------------------------------------------------ measuring the shift
@dataclass
class Shift:
    """Scores of the same pairs before and after a perturbation, and the spread used as unit."""

    before: np.ndarray  # (n,)
    after: np.ndarray  # (n,)
    scale: float

    @property
    def z(self) -> np.ndarray:
        """(after - before) / scale per pair: negative = the perturbed claim scores lower."""
        return (self.after - self.before) / self.scale

    @property
    def mean_z(self) -> float:
        return float(self.z.mean())

    @property
    def share_lower(self) -> float:
        """Share of pairs whose score went down (ties count as not lower)."""
        return float(np.mean(self.after < self.before))


def score_shift(score: Callable[[list[str], list[str]], np.ndarray], originals: Sequence[str],
                perturbed: Sequence[str], docs: Sequence[str], reference: Sequence[float]) -> Shift:
    """Score ``(originals[i], docs[i])`` and ``(perturbed[i], docs[i])`` with ``score(queries, docs) -> (n,)``;
    the unit is ``std(reference)``, the model's scores over a reference set (e.g. all candidate pairs).

    z_i = (score(perturbed_i, d_i) - score(original_i, d_i)) / std(reference)
    """
    if not (len(originals) == len(perturbed) == len(docs)):
        raise ValueError(f"score_shift: {len(originals)} originals, {len(perturbed)} perturbed, {len(docs)} docs")
    if not originals:
        raise ValueError("score_shift: no pairs")
    scale = float(np.std(np.asarray(reference, dtype=np.float64)))
    if not scale > 0:
        raise ValueError("score_shift: the reference scores have zero spread")
    before = np.asarray(score(list(originals), list(docs)), dtype=np.float64)
    after = np.asarray(score(list(perturbed), list(docs)), dtype=np.float64)
    return Shift(before, after, scale)


def bm25_pair_scores(bm25, queries: Sequence[str], doc_ids: Sequence[str]) -> np.ndarray:
    """BM25 score of ``queries[i]`` against indexed document ``doc_ids[i]`` (a fitted
    :class:`lessonlib.retrieval.bm25.BM25`); (n,)."""
    col = {d: j for j, d in enumerate(bm25.doc_ids_)}
    rows = bm25.score_matrix(list(queries))
    return np.array([rows[i, col[d]] for i, d in enumerate(doc_ids)], dtype=np.float64)


# ------------------------------------------------------------------------------ idioms
IDIOMS = ("tip of the iceberg", "silver bullet", "double-edged sword", "through the roof", "back to square one",
          "takes a toll", "nick of time", "elephant in the room", "piece of cake", "break the ice",
          "hit the nail on the head", "under the weather", "once in a blue moon", "the last straw",
          "a blessing in disguise", "cut corners", "in the same boat", "on the fence", "spill the beans",
          "red herring", "wild goose chase", "throw in the towel", "a drop in the ocean", "at the end of the day",
          "low-hanging fruit", "game changer", "cutting edge", "holy grail", "perfect storm", "rule of thumb")


def idiom_hits(texts: Mapping[str, str], idioms: Sequence[str] = IDIOMS) -> dict[str, list[str]]:
    """``{id: [idioms found]}`` for the texts that contain one of ``idioms`` (case-insensitive, word bounded)."""
    pats = [(i, re.compile(rf"\b{re.escape(i)}\b", re.IGNORECASE)) for i in idioms]
    out = {}
    for key, text in texts.items():
        found = [i for i, p in pats if p.search(text)]
        if found:
            out[key] = found
    return out


IDIOM_PAIRS: tuple[tuple[str, str, str], ...] = (  # CONSTRUCTED for this probe: (query, meaning match, literal distractor)
    ("Statin therapy is a double-edged sword for the heart.",
     "Statin therapy both helps and harms the heart.",
     "A sword with a double edge was kept beside the statin therapy records of the heart clinic."),
    ("Antibiotic use in farming went through the roof.",
     "Antibiotic use in farming increased sharply.",
     "Antibiotic use in farming was recorded in barns through holes in the roof."),
    ("This vaccine is a silver bullet for measles.",
     "This vaccine alone completely solves measles.",
     "This vaccine vial was made of silver and shaped like a bullet for measles clinics."),
    ("The obesity data are only the tip of the iceberg.",
     "The obesity data show only a small part of a much larger problem.",
     "The obesity data were collected at the tip of an iceberg in the Arctic."),
    ("After the failed trial the cancer drug team is back to square one.",
     "After the failed trial the cancer drug team had to start again from the beginning.",
     "After the failed trial the cancer drug team moved back to the office on square one."),
    ("Sleep loss takes a toll on memory.",
     "Sleep loss harms memory.",
     "Sleep loss was measured at a toll booth where drivers took memory tests."),
    ("Screening caught the tumour in the nick of time.",
     "Screening found the tumour just before it was too late.",
     "Screening of the tumour measured a nick in the tissue over time."),
    ("Insulin resistance is the elephant in the room for diabetes care.",
     "Insulin resistance is an obvious problem that diabetes care ignores.",
     "Insulin resistance was studied in an elephant kept in a room of the diabetes care centre."),
)


def idiom_probe(score: Callable[[list[str], list[str]], np.ndarray],
                pairs: Sequence[tuple[str, str, str]] = IDIOM_PAIRS) -> np.ndarray:
    """Margin per constructed triple: score(query, meaning) - score(query, literal distractor); > 0 = meaning wins."""
    if not pairs:
        raise ValueError("idiom_probe: no pairs")
    qs = [q for q, _, _ in pairs]
    good = np.asarray(score(qs, [m for _, m, _ in pairs]), dtype=np.float64)
    bad = np.asarray(score(qs, [d for _, _, d in pairs]), dtype=np.float64)
    return good - bad
