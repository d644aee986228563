"""lessonlib.dual.encoders: pooling, similarities, towers, the dual encoder and its save formats.

The oracle is sentence-transformers: the same weights must give the same vectors, and a saved
model must load in SentenceTransformer and encode identically.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lessonlib.dual.encoders import BiLSTMTower, CNNTower, DualEncoder, Pooling, Similarity, similarity_matrix
from lessonlib.core.hub import resolve_model

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
TEXTS = [
    "Statins lower LDL cholesterol.",
    "   whitespace around   ",
    "A much longer document about the effect of vitamin D on bone density in older adults. " * 40,
    "",
    "short",
]


@pytest.fixture(scope="module")
def model():
    return DualEncoder.from_pretrained(MINILM).eval()


@pytest.fixture(scope="module")
def st_model():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(resolve_model(MINILM)), device="cpu")


# ----------------------------------------------------------------------------- pooling
def _padded_batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(3, 6, 8, generator=g)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]])
    return hidden, mask


def test_pooling_modes_ignore_padding():
    hidden, mask = _padded_batch()
    for i, n in enumerate(mask.sum(1).tolist()):
        real = hidden[i, :n]
        assert torch.allclose(Pooling("mean")(hidden, mask)[i], real.mean(0), atol=1e-6)
        assert torch.allclose(Pooling("max")(hidden, mask)[i], real.max(0).values)
        assert torch.equal(Pooling("cls")(hidden, mask)[i], hidden[i, 0])


def test_attention_pooling_starts_as_mean_and_learns_weights():
    hidden, mask = _padded_batch()
    pool = Pooling("attention", dim=8)
    assert torch.allclose(pool(hidden, mask), Pooling("mean")(hidden, mask), atol=1e-6)
    with torch.no_grad():
        pool.scorer.weight.normal_()
    w = pool.attention_weights(hidden, mask)
    assert torch.allclose(w.sum(1), torch.ones(3))
    assert (w[mask == 0] == 0).all()
    manual = (torch.softmax(pool.scorer(hidden[1, :3]).squeeze(-1), 0)[:, None] * hidden[1, :3]).sum(0)
    assert torch.allclose(pool(hidden, mask)[1], manual, atol=1e-6)


def test_bad_pooling_mode_is_named():
    with pytest.raises(ValueError, match="mode='sum'"):
        Pooling("sum")


# ----------------------------------------------------------------------------- similarity
def test_similarities_match_their_formulas():
    g = torch.Generator().manual_seed(1)
    q, d = torch.randn(4, 5, generator=g), torch.randn(7, 5, generator=g)
    assert torch.allclose(Similarity("ip")(q, d), q @ d.T)
    assert torch.allclose(Similarity("l2")(q, d), -torch.cdist(q, d) ** 2, atol=1e-4)
    cos = torch.nn.functional.cosine_similarity(q[:, None], d[None], dim=-1)
    assert torch.allclose(Similarity("cosine")(q, d), cos, atol=1e-6)
    bil = Similarity("bilinear", dim=5)
    assert torch.allclose(bil(q, d), q @ d.T, atol=1e-6)  # identity start
    for kind in ("cosine", "ip", "l2"):
        assert np.allclose(similarity_matrix(q.numpy(), d.numpy(), kind), Similarity(kind)(q, d).numpy(), atol=1e-4)


def test_on_unit_vectors_cosine_ip_and_l2_rank_identically():
    g = torch.Generator().manual_seed(2)
    q = torch.nn.functional.normalize(torch.randn(3, 16, generator=g), dim=-1)
    d = torch.nn.functional.normalize(torch.randn(50, 16, generator=g), dim=-1)
    ranks = [Similarity(k)(q, d).argsort(dim=1, descending=True) for k in ("cosine", "ip", "l2")]
    assert torch.equal(ranks[0], ranks[1]) and torch.equal(ranks[0], ranks[2])


# ----------------------------------------------------------------------------- transformer dual encoder
def test_embeddings_equal_sentence_transformers(model, st_model):
    with torch.no_grad():
        ours = model.embed_docs(TEXTS).numpy()
    theirs = st_model.encode(TEXTS, convert_to_numpy=True)
    assert np.abs(ours - theirs).max() < 1e-5
    assert model.last_truncated == 1  # the long text


def test_embed_has_gradients_and_score_uses_similarity(model):
    q = model.embed_queries(["vitamin d"])
    d = model.embed_docs(TEXTS[:2])
    assert q.requires_grad and q.shape == (1, 384)
    s = model.score(q, d)
    assert s.shape == (1, 2)
    assert torch.allclose(s, q @ d.T, atol=1e-6)  # normalised: cosine == ip
    s.sum().backward()
    assert model.query_tower.model.embeddings.word_embeddings.weight.grad is not None
    model.zero_grad()


def test_query_max_length_truncates_queries_only():
    m = DualEncoder.from_pretrained(MINILM, query_max_length=8)
    with torch.no_grad():
        m.embed_queries(["one two three four five six seven eight nine ten"])
        assert m.last_truncated == 1
        m.embed_docs(["one two three four five six seven eight nine ten"])
        assert m.last_truncated == 0


@pytest.mark.parametrize(
    "kwargs",
    [dict(pooling="mean"), dict(pooling="cls", projection_dim=32), dict(pooling="max", normalize=False, similarity="ip"),
     dict(pooling="mean", normalize=False, similarity="l2")],
    ids=["mean", "cls+projection", "max-unnormalised-ip", "mean-unnormalised-l2"],
)
def test_saved_folder_loads_in_sentence_transformers_identically(kwargs, tmp_path):
    from sentence_transformers import SentenceTransformer

    m = DualEncoder.from_pretrained(MINILM, **kwargs).eval()
    assert m.sentence_transformers_compatible
    folder = m.save(tmp_path / "model")
    assert (folder / "modules.json").exists() and (folder / "0_Transformer" / "model.safetensors").exists()
    st = SentenceTransformer(str(folder), device="cpu")
    with torch.no_grad():
        ours = m.embed_docs(TEXTS).numpy()
    assert np.abs(st.encode(TEXTS) - ours).max() < 1e-5
    assert st.max_seq_length == 256
    similarity = kwargs.get("similarity", "cosine")
    assert st.similarity_fn_name == {"cosine": "cosine", "ip": "dot", "l2": "euclidean"}[similarity]
    again = DualEncoder.load(folder).eval()
    assert again.similarity.kind == similarity  # translated back from ST's name
    with torch.no_grad():
        assert np.abs(again.embed_docs(TEXTS).numpy() - ours).max() < 1e-6


def test_non_sentence_transformers_models_round_trip_in_own_format(tmp_path):
    torch.manual_seed(0)
    m = DualEncoder.from_pretrained(MINILM, pooling="attention", shared=False, similarity="bilinear",
                                    projection_dim=16, query_max_length=32).eval()
    with torch.no_grad():  # make the learned parts non-trivial
        m.query_tower.pooling.scorer.weight.normal_()
        m.similarity.weight.add_(0.1 * torch.randn_like(m.similarity.weight))
        m.doc_tower.model.embeddings.word_embeddings.weight[:50].mul_(2)
    assert not m.sentence_transformers_compatible
    folder = m.save(tmp_path / "asym")
    assert not (folder / "modules.json").exists()
    assert json.loads((folder / "dual_encoder.json").read_text())["sentence_transformers"] is False
    back = DualEncoder.load(folder).eval()
    assert back.query_max_length == 32 and not back.shared
    with torch.no_grad():
        for kind in ("query", "doc"):
            assert torch.allclose(back.embed(TEXTS[:3], kind), m.embed(TEXTS[:3], kind), atol=1e-6)
        q, d = m.embed_queries(TEXTS[:2]), m.embed_docs(TEXTS[:3])
        assert torch.allclose(back.score(q, d), m.score(q, d), atol=1e-6)


def test_asymmetric_towers_have_separate_weights():
    m = DualEncoder.from_pretrained(MINILM, shared=False)
    with torch.no_grad():
        same = torch.allclose(m.embed_queries(TEXTS[:1]), m.embed_docs(TEXTS[:1]))
        m.doc_tower.model.embeddings.word_embeddings.weight.mul_(1.5)
        changed = not torch.allclose(m.embed_queries(TEXTS[:1]), m.embed_docs(TEXTS[:1]))
    assert same and changed


# ----------------------------------------------------------------------------- towers from scratch
@pytest.mark.parametrize("tower_cls", [BiLSTMTower, CNNTower])
def test_scratch_towers_are_padding_invariant_and_trainable(tower_cls, tmp_path):
    tower = tower_cls(MINILM, embed_dim=16, seed=0)
    assert tower.embed.num_embeddings == len(tower.tokenizer)  # the pretrained vocabulary
    m = DualEncoder(tower, normalize=True, similarity="cosine").eval()
    with torch.no_grad():
        alone = m.embed_docs(["statins lower cholesterol"])
        padded = m.embed_docs(["statins lower cholesterol", TEXTS[2]])[:1]
    assert torch.allclose(alone, padded, atol=1e-5)  # padding never changes a vector
    m.train()
    loss = -m.score(m.embed_queries(["a b"]), m.embed_docs(["a b c"])).sum()
    loss.backward()
    assert tower.embed.weight.grad is not None and tower.embed.weight.grad.abs().sum() > 0
    m.eval()
    folder = m.save(tmp_path / tower_cls.__name__)
    back = DualEncoder.load(folder).eval()
    with torch.no_grad():
        assert torch.allclose(back.embed_docs(TEXTS[:3]), m.embed_docs(TEXTS[:3]), atol=1e-6)


def test_float16_checkpoint_loads_as_float32(tmp_path):
    """A checkpoint saved in float16 (as for a GPU) must come back as float32 weights that train."""
    from transformers import AutoModel, AutoTokenizer

    path = resolve_model(MINILM)
    AutoModel.from_pretrained(str(path), dtype=torch.float16).save_pretrained(tmp_path / "half")
    AutoTokenizer.from_pretrained(str(path)).save_pretrained(tmp_path / "half")
    m = DualEncoder.from_pretrained(str(tmp_path / "half"))
    assert {p.dtype for p in m.parameters()} == {torch.float32}
    loss = m.embed_docs(TEXTS[:2]).sum()
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)
