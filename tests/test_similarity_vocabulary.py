"""One similarity vocabulary (lessonlib.core.similarity) across losses, encoders, samplers and indexes.

Every similarity= / kind= / metric= / distance= parameter takes exactly the vocabulary's names; the
old names ("dot", "euclidean", "squared_euclidean") are refused with a one-line message naming the
new one; sentence-transformers' and FAISS's names appear only at those boundaries, and round-trip.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lessonlib import losses as L
from lessonlib.core import similarity as V
from lessonlib.dual import samplers as S
from lessonlib.dual.encode import dense_scores, load_model_similarity
from lessonlib.dual.encoders import DualEncoder, Similarity, similarity_matrix
from lessonlib.evaluation.cross_vs_dual import fit_sign_pattern
from lessonlib.index import FaissIndex, FlatIndex, HNSWIndex, IVFIndex

ROOT = Path(__file__).resolve().parents[1]
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
OLD = {"dot": "ip", "euclidean": "l2"}
OLD_DISTANCES = {"euclidean": "l2", "squared_euclidean": "squared_l2"}

g = torch.Generator().manual_seed(0)
Q, P, N = torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g), torch.randn(4, 2, 8, generator=g)
QN, DN = Q.numpy(), torch.randn(30, 8, generator=g).numpy()
IDS_Q, IDS_D = [f"q{i}" for i in range(4)], [f"d{i}" for i in range(30)]


def test_the_vocabulary():
    assert V.SIMILARITIES == ("ip", "cosine", "l2", "bilinear")
    assert V.FIXED_SIMILARITIES == ("ip", "cosine", "l2")
    assert V.INDEX_METRICS == ("ip", "l2")
    assert V.DISTANCES == ("l2", "squared_l2", "cosine")
    from lessonlib.dual import encoders
    from lessonlib.index import base

    assert encoders.SIMILARITIES is V.SIMILARITIES and base.METRICS is V.INDEX_METRICS  # one definition, re-used


def test_the_vocabulary_module_is_light():
    code = ("import sys, lessonlib.core.similarity; "
            "heavy = [m for m in ('torch', 'faiss', 'numpy', 'sentence_transformers') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ----------------------------------------------------------------------------- the names each owner takes
SIMILARITY_OWNERS = {
    "InfoNCELoss": (V.FIXED_SIMILARITIES, lambda s: L.InfoNCELoss(0.5, similarity=s)(Q, P, N)),
    "MultipleNegativesRankingLoss": (V.FIXED_SIMILARITIES, lambda s: L.MultipleNegativesRankingLoss(similarity=s)(Q, P)),
    "MarginRankingLoss": (V.FIXED_SIMILARITIES, lambda s: L.MarginRankingLoss(0.2, similarity=s)(Q, P, N)),
    "MarginMSELoss": (V.FIXED_SIMILARITIES, lambda s: L.MarginMSELoss(similarity=s)(Q, P, N, torch.zeros(4, 2))),
    "candidate_scores": (V.FIXED_SIMILARITIES, lambda s: L.candidate_scores(Q, N, s)),
    "Similarity": (V.SIMILARITIES, lambda s: Similarity(s, dim=8)(Q, P)),
    "similarity_matrix": (V.SIMILARITIES, lambda s: similarity_matrix(QN, DN, s, weight=np.eye(8, dtype=np.float32))),
    "dense_scores": (V.SIMILARITIES, lambda s: dense_scores(QN, DN, s, weight=np.eye(8, dtype=np.float32))),
    "DenseHardNegatives.from_embeddings": (
        V.FIXED_SIMILARITIES, lambda s: S.DenseHardNegatives.from_embeddings(IDS_Q, QN, IDS_D, DN, s, depth=5)),
    "DynamicHardNegatives": (V.FIXED_SIMILARITIES, lambda s: S.DynamicHardNegatives({"q": "x"}, ["d"], ["y"], similarity=s)),
    "FlatIndex": (V.INDEX_METRICS, lambda m: FlatIndex(8, metric=m).add(DN).search(QN, 3)),
    "IVFIndex": (V.INDEX_METRICS, lambda m: IVFIndex(8, metric=m, nlist=2, nprobe=2).train(DN).add(DN).search(QN, 3)),
    "HNSWIndex": (V.INDEX_METRICS, lambda m: HNSWIndex(8, metric=m).add(DN).search(QN, 3)),
    "FaissIndex": (V.INDEX_METRICS, lambda m: FaissIndex("Flat", 8, metric=m).add(DN).search(QN, 3)),
}
DISTANCE_OWNERS = {
    "TripletLoss": lambda d: L.TripletLoss(0.5, distance=d)(Q, P, N[:, 0]),
    "BatchHardTripletLoss": lambda d: L.BatchHardTripletLoss(0.5, distance=d)(Q, labels=torch.tensor([0, 0, 1, 1])),
    "ContrastiveLoss": lambda d: L.ContrastiveLoss(0.5, distance=d)(Q, P, torch.tensor([1, 0, 1, 0])),
    "OnlineContrastiveLoss": lambda d: L.OnlineContrastiveLoss(0.5, distance=d)(Q, P, torch.tensor([1, 0, 1, 0])),
}


@pytest.mark.parametrize("owner", list(SIMILARITY_OWNERS))
def test_similarity_owners_take_exactly_their_vocabulary(owner):
    allowed, build = SIMILARITY_OWNERS[owner]
    assert set(allowed) <= set(V.SIMILARITIES)
    for name in allowed:
        build(name)  # accepted (and computes)
    for name in [n for n in V.SIMILARITIES if n not in allowed] + ["manhattan", "IP", ""]:
        with pytest.raises(ValueError, match=r"expected one of") as err:
            build(name)
        assert "\n" not in str(err.value) and repr(name) in str(err.value)


@pytest.mark.parametrize("owner", list(SIMILARITY_OWNERS))
@pytest.mark.parametrize("old", list(OLD))
def test_old_similarity_names_fail_with_the_new_name(owner, old):
    allowed, build = SIMILARITY_OWNERS[owner]
    with pytest.raises(ValueError) as err:
        build(old)
    message = str(err.value)
    assert "\n" not in message
    assert f"={old!r}): lessonlib calls it {OLD[old]!r}" in message, message
    assert message.endswith("expected one of " + ", ".join(repr(a) for a in allowed))


@pytest.mark.parametrize("owner", list(DISTANCE_OWNERS))
def test_distance_owners_take_exactly_the_distances(owner):
    build = DISTANCE_OWNERS[owner]
    for name in V.DISTANCES:
        build(name)
    for old, new in OLD_DISTANCES.items():
        with pytest.raises(ValueError) as err:
            build(old)
        assert f"(distance={old!r}): lessonlib calls it {new!r}; expected one of 'l2', 'squared_l2', 'cosine'" in str(err.value)
    for name in ("ip", "manhattan"):
        with pytest.raises(ValueError, match="expected one of 'l2', 'squared_l2', 'cosine'"):
            build(name)


def test_the_messages_name_owner_parameter_and_hint():
    with pytest.raises(ValueError, match=r"^Similarity\(kind='dot'\): lessonlib calls it 'ip'; "):
        Similarity("dot")
    with pytest.raises(ValueError, match=r"^FlatIndex\(metric='cosine'\): L2-normalise the vectors and use 'ip'; "):
        FlatIndex(8, metric="cosine")
    with pytest.raises(ValueError, match=r"^InfoNCELoss\(similarity='bilinear'\): 'bilinear' needs a learned W"):
        L.InfoNCELoss(similarity="bilinear")
    with pytest.raises(ValueError, match=r"^fit_sign_pattern\(scorer='dot'\): lessonlib calls it 'ip'; expected one of 'ip', 'mlp'$"):
        fit_sign_pattern(np.ones((2, 2)), 2, "dot")
    assert fit_sign_pattern(np.array([[1.0, -1.0], [-1.0, 1.0]]), 2, "ip", steps=200).accuracy == 1.0


def test_the_similarities_compute_their_formulas_everywhere():
    """Losses (torch), encoders (torch and numpy), samplers and indexes agree on each name."""
    from lessonlib.losses._similarity import distance_matrix, score_matrix

    q, d = torch.from_numpy(QN).double(), torch.from_numpy(DN).double()
    formulas = {"ip": q @ d.T, "cosine": torch.nn.functional.normalize(q, dim=-1) @ torch.nn.functional.normalize(d, dim=-1).T,
                "l2": -torch.cdist(q, d) ** 2}
    for name, expected in formulas.items():
        assert torch.allclose(score_matrix(q, d, name), expected, atol=1e-8), name
        assert torch.allclose(Similarity(name)(q, d), expected, atol=1e-8), name
        assert np.allclose(similarity_matrix(QN, DN, name), expected.numpy(), atol=1e-4), name
        run = S.DenseHardNegatives.from_embeddings(IDS_Q, QN, IDS_D, DN, name, depth=30).run
        assert np.allclose([[run[qi][di] for di in IDS_D] for qi in IDS_Q], expected.numpy(), atol=1e-4), name
    for name in V.INDEX_METRICS:
        for index in (FlatIndex(8, metric=name), FaissIndex("Flat", 8, metric=name)):
            scores, ids = index.add(DN).search(QN, 30)
            assert np.allclose(scores, np.take_along_axis(formulas[name].numpy(), ids, 1), atol=1e-4), (index, name)
    assert torch.allclose(distance_matrix(q, d, "l2"), torch.cdist(q, d), atol=1e-8)
    assert torch.allclose(distance_matrix(q, d, "squared_l2"), torch.cdist(q, d) ** 2, atol=1e-8)
    assert torch.allclose(distance_matrix(q, d, "cosine"), 1 - formulas["cosine"], atol=1e-8)


# ----------------------------------------------------------------------------- the two boundaries
def test_faiss_boundary():
    import faiss

    assert V.faiss_metric("ip") == faiss.METRIC_INNER_PRODUCT
    assert V.faiss_metric("cosine") == faiss.METRIC_INNER_PRODUCT
    assert V.faiss_metric("l2") == faiss.METRIC_L2
    with pytest.raises(ValueError, match="lessonlib calls it 'ip'"):
        V.faiss_metric("dot")
    # IndexFlatL2 returns squared distances: lessonlib's "l2" similarity is exactly their negation
    flat = faiss.IndexFlat(8, V.faiss_metric("l2"))
    flat.add(DN)
    dist, ids = flat.search(QN, 5)
    assert np.allclose(-dist, np.take_along_axis(similarity_matrix(QN, DN, "l2"), ids, 1), atol=1e-4)
    # "cosine" through METRIC_INNER_PRODUCT after normalising
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    flat = faiss.IndexFlat(8, V.faiss_metric("cosine"))
    flat.add(unit(DN))
    sims, ids = flat.search(unit(QN), 5)
    assert np.allclose(sims, np.take_along_axis(similarity_matrix(QN, DN, "cosine"), ids, 1), atol=1e-5)


def test_sentence_transformers_names_round_trip():
    for ours, theirs in V.TO_SENTENCE_TRANSFORMERS.items():
        assert V.from_sentence_transformers(V.to_sentence_transformers(ours)) == ours
        assert V.to_sentence_transformers(V.from_sentence_transformers(theirs)) == theirs
    assert V.TO_SENTENCE_TRANSFORMERS == {"cosine": "cosine", "ip": "dot", "l2": "euclidean"}
    assert V.from_sentence_transformers(None) == "cosine"  # ST's default when unset
    with pytest.raises(ValueError, match="similarity_fn_name='manhattan'"):
        V.from_sentence_transformers("manhattan")
    with pytest.raises(ValueError, match="'bilinear' needs a learned W"):
        V.to_sentence_transformers("bilinear")


@pytest.mark.parametrize("similarity, st_name", [("ip", "dot"), ("l2", "euclidean")])
def test_dual_encoder_keeps_its_similarity_through_a_sentence_transformers_folder(tmp_path, similarity, st_name):
    from sentence_transformers import SentenceTransformer

    m = DualEncoder.from_pretrained(MINILM, normalize=False, similarity=similarity).eval()
    folder = m.save(tmp_path / "model")
    assert json.loads((folder / "config_sentence_transformers.json").read_text())["similarity_fn_name"] == st_name
    again = DualEncoder.load(folder)
    assert again.similarity.kind == similarity
    assert load_model_similarity(folder) == similarity
    st = SentenceTransformer(str(folder), device="cpu")
    assert st.similarity_fn_name == st_name
    # a folder sentence-transformers itself wrote (no dual_encoder.json) translates the same way
    st.save(str(tmp_path / "st"))
    assert not (tmp_path / "st" / "dual_encoder.json").exists()
    assert load_model_similarity(tmp_path / "st") == similarity
    assert DualEncoder.load(tmp_path / "st").similarity.kind == similarity
    # ST's scores and ours: equal for "dot"/"ip", the same ranking for "euclidean"/"l2"
    texts = ["statins lower cholesterol", "vitamin d and bone density", "a short note", "cholesterol drugs"]
    with torch.no_grad():
        ours = m.score(m.embed_queries(texts[:2]), m.embed_docs(texts))
    theirs = st.similarity(torch.from_numpy(st.encode(texts[:2])), torch.from_numpy(st.encode(texts)))
    assert torch.equal(ours.argsort(dim=1, descending=True), theirs.argsort(dim=1, descending=True))
    if similarity == "ip":
        assert torch.allclose(ours, theirs, atol=1e-3)
    else:
        assert torch.allclose(ours, -(theirs ** 2), rtol=1e-4, atol=1e-3)


# ----------------------------------------------------------------------------- no old name left in the code
def _python_files():
    yield from (ROOT / "lessonlib").rglob("*.py")
    yield from (ROOT / "bench").glob("*.py")
    yield from (ROOT / "exercises" / "source").glob("*.py")


def test_no_default_or_argument_uses_an_old_name():
    params = {"similarity", "distance", "metric", "scorer"}
    bad = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            pairs = []
            if isinstance(node, ast.FunctionDef):
                a = node.args
                pairs += list(zip([x.arg for x in a.args[len(a.args) - len(a.defaults):]], a.defaults))
                pairs += [(x.arg, dflt) for x, dflt in zip(a.kwonlyargs, a.kw_defaults) if dflt is not None]
            elif isinstance(node, ast.Call):
                pairs += [(k.arg, k.value) for k in node.keywords]
            for name, value in pairs:
                if name in params and isinstance(value, ast.Constant) and value.value in {"dot", "euclidean", "squared_euclidean"}:
                    bad.append(f"{path.relative_to(ROOT)}:{value.lineno} {name}={value.value!r}")
    assert bad == []
