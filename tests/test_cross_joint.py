"""Joint encoding: the pair's tokens and segments, input embeddings, attention blocks, matching, query dependence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.cross import CrossEncoder
from lessonlib.cross.joint import (
    block_attention, doc_state_similarity, embedding_parts, match_attention, pair_tokens, sentence_deletion,
)
from lessonlib.cross.interpret import Attention, attention_maps

Q, D = "vitamin d lowers fracture risk", "Vitamin D supplements reduce the risk of hip fracture in older adults."


@pytest.fixture(scope="module")
def ce():
    torch.manual_seed(0)
    return CrossEncoder(device="cpu", max_length=64, max_query_length=16)


def test_pair_tokens_are_the_tokenizers_pair_encoding_with_segments_by_hand(ce):
    pt = pair_tokens(ce, Q, D)
    ref = ce.tokenizer(Q, D, truncation="only_second", max_length=64)
    assert pt.input_ids.tolist() == ref["input_ids"]
    assert pt.token_type_ids.tolist() == ref["token_type_ids"]
    q_ids = ce.tokenizer(Q, add_special_tokens=False)["input_ids"]
    # [CLS] q [SEP] -> segment 0, d [SEP] -> segment 1 (exercise 10's formula)
    assert pt.token_type_ids.tolist() == [0] * (len(q_ids) + 2) + [1] * (len(pt.tokens) - len(q_ids) - 2)
    assert pt.segments[0] == "[CLS]" and pt.segments[len(q_ids) + 1] == "[SEP]" and pt.segments[-1] == "[SEP]"
    assert set(pt.segments[1: len(q_ids) + 1]) == {"query"} and set(pt.segments[len(q_ids) + 2: -1]) == {"doc"}
    rows = pt.rows()
    assert rows[1] == {"position": 1, "token": pt.tokens[1], "token_type_id": 0, "segment": "query"}


def test_embedding_parts_sum_and_layernorm_reproduce_the_models_embedding_layer(ce):
    parts = embedding_parts(ce, Q, D)
    enc = ce.encode_pairs([Q], [D])
    ce.model.eval()
    with torch.no_grad():
        ref = ce.model.base_model.embeddings(input_ids=enc["input_ids"], token_type_ids=enc["token_type_ids"])[0]
    assert np.allclose(parts["output"], ref.numpy(), atol=1e-5)
    assert np.allclose(parts["sum"], parts["word"] + parts["position"] + parts["segment"], atol=1e-6)
    seg_table = ce.model.base_model.embeddings.token_type_embeddings.weight.detach().numpy()
    types = enc["token_type_ids"][0].numpy()
    assert np.allclose(parts["segment"], seg_table[types])


def _toy_attention(seed: int = 0) -> Attention:
    tokens = ["[CLS]", "aspirin", "stroke", "[SEP]", "aspirin", "lowers", "stroke", "risk", "[SEP]"]
    types = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(2, 3, 9, 9))
    maps = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return Attention(tokens, types, maps)


def test_block_attention_by_hand_and_rows_sum_to_one():
    att = _toy_attention()
    share = block_attention(att)
    q, d = [1, 2], [4, 5, 6, 7]
    for layer in range(2):
        for head in range(3):
            m = att.maps[layer, head]
            by_hand = np.mean([m[i, d].sum() for i in q])
            assert np.isclose(share["query->doc"][layer, head], by_hand)
            assert np.isclose(share["cls->sep"][layer, head], m[0, [3, 8]].sum())
    for src in ("cls", "query", "doc", "sep"):
        total = sum(share[f"{src}->{dst}"] for dst in ("cls", "query", "doc", "sep"))
        assert np.allclose(total, 1.0)


def test_match_attention_is_one_for_uniform_rows_and_counts_the_preference_by_hand():
    att = _toy_attention()
    uniform = Attention(att.tokens, att.token_type_ids, np.full_like(att.maps, 1 / 9))
    assert np.allclose(match_attention(uniform), 1.0)
    maps = np.full_like(att.maps, 1e-3)
    maps[..., 1, 4] = 1.0  # query "aspirin" looks at doc "aspirin"
    maps[..., 2, :] = 1 / 9  # query "stroke": no preference
    m = match_attention(Attention(att.tokens, att.token_type_ids, maps))
    ratio_aspirin = 1.0 / np.mean([1.0, 1e-3, 1e-3, 1e-3])
    assert np.allclose(m, (ratio_aspirin + 1.0) / 2)
    no_match = Attention(["[CLS]", "a", "[SEP]", "b", "[SEP]"], np.array([0, 0, 0, 1, 1]), np.full((1, 1, 5, 5), 0.2))
    assert np.isnan(match_attention(no_match)).all()


def test_block_attention_on_the_real_model_covers_every_layer_and_head(ce):
    att = attention_maps(ce, query=Q, doc=D, max_length=64)
    share = block_attention(att)
    L, H = ce.model.config.num_hidden_layers, ce.model.config.num_attention_heads
    assert share["query->doc"].shape == (L, H)
    assert (share["query->doc"] > 0).all()  # every query token can see the document, in every layer


def test_doc_states_do_not_depend_on_the_query_at_the_input_and_do_after_attention(ce):
    same = doc_state_similarity(ce, D, Q, Q)
    assert same.shape == (ce.model.config.num_hidden_layers + 1,) and np.allclose(same, 1.0, atol=1e-5)
    other = doc_state_similarity(ce, D, Q, "statins cause muscle pain in elderly")
    assert np.isclose(other[0], 1.0, atol=1e-6)  # same tokens, same positions, same segments
    assert other[-1] < 0.9999


def test_sentence_deletion_with_a_lexical_scorer_by_hand():
    def overlap(qs, ds):
        return np.array([len(set(q.lower().split()) & set(d.lower().split())) for q, d in zip(qs, ds)], float)

    sents = ["Aspirin lowers risk.", "Cats sleep a lot.", "Stroke is common."]
    delta = sentence_deletion(overlap, "aspirin stroke risk", sents)
    # full doc matches {risk., stroke} -> 'risk.' has a dot; words: aspirin, stroke
    full = overlap(["aspirin stroke risk"], [" ".join(sents)])[0]
    by_hand = [full - overlap(["aspirin stroke risk"], [" ".join(s for j, s in enumerate(sents) if j != i)])[0]
               for i in range(3)]
    assert np.allclose(delta, by_hand) and delta[1] == 0 and delta[0] > 0
    with pytest.raises(ValueError):
        sentence_deletion(overlap, "q", [])
