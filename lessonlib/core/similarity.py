"""lessonlib's one similarity vocabulary: the same names in the losses, the dual encoders, the
samplers and the indexes (introduced in notebook 01_foundations, §2 "Similarity measures").

Similarities, s(q, d), higher = closer:

- ``"ip"``:       q . d                                  inner product (DPR, Karpukhin et al. 2020;
                                                         FAISS ``METRIC_INNER_PRODUCT``)
- ``"cosine"``:   q . d / (|q| |d|)                      the inner product of L2-normalised vectors
                                                         (Sentence-BERT, Reimers & Gurevych 2019)
- ``"l2"``:       -|q - d|^2 = 2 q . d - |q|^2 - |d|^2   the negative *squared* Euclidean distance,
                                                         FAISS's convention (``IndexFlatL2`` returns
                                                         squared distances; lessonlib negates them)
- ``"bilinear"``: q^T W d, W (dim, dim) learned          only where a W exists: the dual encoders'
                                                         ``Similarity`` (starts at W = I, i.e. ``"ip"``)

Distances, D(a, b), lower = closer (triplet and contrastive losses):

- ``"l2"``:         |a - b|            Euclidean (FaceNet, Schroff et al. 2015; sentence-transformers'
                                       ``EUCLIDEAN`` triplet / siamese metric)
- ``"squared_l2"``: |a - b|^2
- ``"cosine"``:     1 - cos(a, b)      (sentence-transformers' ``COSINE_DISTANCE``)

On unit vectors |q - d|^2 = 2 - 2 cos(q, d) and q . d = cos(q, d): ``"ip"``, ``"cosine"`` and
``"l2"`` rank documents identically; they differ only on unnormalised vectors. The similarity
``"l2"`` and the distance ``"l2"`` also rank identically (x -> -x^2 is decreasing on x >= 0).

Old names are refused, with the new one in the message (no aliases): ``"dot"`` is ``"ip"``,
``"euclidean"`` is ``"l2"``, ``"squared_euclidean"`` is ``"squared_l2"``.

Two boundaries translate, and only there:

- sentence-transformers' ``similarity_fn_name`` (``config_sentence_transformers.json``):
  ``"cosine"`` <-> ``"cosine"``, ``"ip"`` <-> ``"dot"``, ``"l2"`` <-> ``"euclidean"`` (ST's
  euclidean is -|a - b|, not squared: the scores differ, the ranking is the same).
- FAISS metrics: ``"ip"`` -> ``METRIC_INNER_PRODUCT``, ``"cosine"`` -> ``METRIC_INNER_PRODUCT``
  (after L2-normalising the vectors), ``"l2"`` -> ``METRIC_L2``.

>>> check_similarity("InfoNCELoss", "dot")
Traceback (most recent call last):
ValueError: InfoNCELoss(similarity='dot'): lessonlib calls it 'ip'; expected one of 'ip', 'cosine', 'l2', 'bilinear'
"""

from __future__ import annotations

from collections.abc import Sequence

SIMILARITIES = ("ip", "cosine", "l2", "bilinear")
FIXED_SIMILARITIES = ("ip", "cosine", "l2")  # no learned parameter: losses, samplers, numpy scoring
INDEX_METRICS = ("ip", "l2")  # an index scores the vectors it stores as given (cosine: normalise, then "ip")
DISTANCES = ("l2", "squared_l2", "cosine")

_OLD_SIMILARITIES = {
    "dot": "lessonlib calls it 'ip'",
    "euclidean": "lessonlib calls it 'l2' (-||a-b||^2, which ranks as -||a-b||)",
}
_OLD_DISTANCES = {
    "euclidean": "lessonlib calls it 'l2'",
    "squared_euclidean": "lessonlib calls it 'squared_l2'",
}

# sentence-transformers' similarity_fn_name <-> lessonlib (ST's "euclidean" is -||a-b||: same ranking as "l2")
TO_SENTENCE_TRANSFORMERS = {"cosine": "cosine", "ip": "dot", "l2": "euclidean"}
FROM_SENTENCE_TRANSFORMERS = {st: ours for ours, st in TO_SENTENCE_TRANSFORMERS.items()}

# lessonlib similarity -> name of the faiss.METRIC_* constant ("cosine": normalise the vectors first)
FAISS_METRICS = {"ip": "METRIC_INNER_PRODUCT", "cosine": "METRIC_INNER_PRODUCT", "l2": "METRIC_L2"}


def _expected(allowed: Sequence[str]) -> str:
    return "expected one of " + ", ".join(repr(a) for a in allowed)


def check_similarity(owner: str, name: str, allowed: Sequence[str] = SIMILARITIES, param: str = "similarity") -> str:
    """``name`` if it is in ``allowed``, else a one-line ValueError naming ``owner(param=name)``, the
    new name of an old one, and the allowed values."""
    if name in allowed:
        return name
    hint = _OLD_SIMILARITIES.get(name) if isinstance(name, str) else None
    if name == "cosine" and "ip" in allowed:
        hint = "L2-normalise the vectors and use 'ip'"
    elif name == "bilinear":
        hint = "'bilinear' needs a learned W (lessonlib.dual.encoders.Similarity)"
    raise ValueError(f"{owner}({param}={name!r}): {hint + '; ' if hint else ''}{_expected(allowed)}")


def check_distance(owner: str, name: str, param: str = "distance") -> str:
    """``name`` if it is one of :data:`DISTANCES`, else a one-line ValueError (with the new name of an old one)."""
    if name in DISTANCES:
        return name
    hint = _OLD_DISTANCES.get(name) if isinstance(name, str) else None
    raise ValueError(f"{owner}({param}={name!r}): {hint + '; ' if hint else ''}{_expected(DISTANCES)}")


def to_sentence_transformers(name: str) -> str:
    """The ``similarity_fn_name`` sentence-transformers uses for lessonlib's ``name`` (``"ip"`` -> ``"dot"``)."""
    return TO_SENTENCE_TRANSFORMERS[check_similarity("to_sentence_transformers", name, tuple(TO_SENTENCE_TRANSFORMERS))]


def from_sentence_transformers(st_name: str | None) -> str:
    """lessonlib's name for a sentence-transformers ``similarity_fn_name`` (``None``, ST's unset default, is cosine)."""
    if st_name is None:
        return "cosine"
    if st_name not in FROM_SENTENCE_TRANSFORMERS:
        raise ValueError(f"sentence-transformers similarity_fn_name={st_name!r} has no lessonlib similarity: "
                         f"{_expected(tuple(FROM_SENTENCE_TRANSFORMERS))}")
    return FROM_SENTENCE_TRANSFORMERS[st_name]


def faiss_metric(name: str, owner: str = "faiss_metric", param: str = "metric") -> int:
    """The ``faiss.METRIC_*`` constant for a lessonlib similarity (``"cosine"`` needs normalised vectors)."""
    import faiss  # deferred: only callers that build FAISS indexes pay for it

    return getattr(faiss, FAISS_METRICS[check_similarity(owner, name, tuple(FAISS_METRICS), param)])
