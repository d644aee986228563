"""Interpretability: attention maps, gradient x input, integrated gradients, deletion, perturbations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.cross import interpret


@pytest.fixture(scope="module")
def tiny():
    """A small random BERT classifier with MiniLM's tokenizer (no download, seconds to build)."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from lessonlib.interaction.matrix import minilm_path

    tok = AutoTokenizer.from_pretrained(str(minilm_path()))
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, num_labels=1, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    model = BertForSequenceClassification(cfg).eval()
    return model, tok


Q, D = "vitamin d lowers fracture risk", "Vitamin D supplements reduce the risk of hip fracture in older adults."


def test_attention_maps_are_row_stochastic_with_one_map_per_layer_and_head(tiny):
    model, tok = tiny
    att = interpret.attention_maps(model, tok, Q, D)
    T = len(att.tokens)
    assert att.maps.shape == (2, 4, T, T)
    np.testing.assert_allclose(att.maps.sum(-1), 1.0, atol=1e-5)
    assert len(att.query_positions) + len(att.doc_positions) + 3 == T  # [CLS], 2x[SEP]
    qd = interpret.query_doc_attention(att)
    assert qd.shape == (len(att.doc_positions),) and (qd >= 0).all()


def test_integrated_gradients_completeness_on_a_known_function():
    w = torch.tensor([1.0, -2.0, 0.5])
    f = lambda x: torch.tanh(x @ w) + (x**2).sum(-1)  # noqa: E731
    x = torch.tensor([0.3, 0.1, -0.7])
    attr = interpret.integrated_gradients(f, x, steps=64)
    assert attr.sum().item() == pytest.approx((f(x[None]) - f(torch.zeros(1, 3))).item(), abs=1e-3)


def test_integrated_gradients_of_a_linear_function_is_weight_times_input():
    w = torch.tensor([2.0, -1.0])
    x = torch.tensor([3.0, 4.0])
    attr = interpret.integrated_gradients(lambda z: z @ w, x, steps=4)
    torch.testing.assert_close(attr, w * x)


def test_ig_completeness_on_a_transformer_cross_encoder(tiny):
    model, tok = tiny
    sal = interpret.token_saliency(model, tok, Q, D, method="ig", steps=64)
    assert sal.scores.shape == (len(sal.tokens),)
    gap, delta = sal.completeness_gap, abs(sal.f_x - sal.f_baseline)
    assert gap <= 0.05 * max(delta, 1e-3) + 1e-4, (gap, delta)


def test_gradient_x_input_matches_autograd_by_hand(tiny):
    model, tok = tiny
    sal = interpret.token_saliency(model, tok, Q, D, method="grad_x_input")
    enc = interpret.encode_pair(tok, Q, D)
    x = model.get_input_embeddings()(enc["input_ids"]).detach().requires_grad_(True)
    out = model(inputs_embeds=x, attention_mask=enc["attention_mask"], token_type_ids=enc["token_type_ids"]).logits[0, 0]
    out.backward()
    np.testing.assert_allclose(sal.scores, (x.grad * x).sum(-1)[0].detach().numpy(), rtol=1e-4, atol=1e-6)


def test_counterfactual_deletion_changes_the_score_of_a_lexical_scorer():
    def overlap(qs, ds):
        return np.array([len(set(q.lower().split()) & set(d.lower().split())) for q, d in zip(qs, ds)], dtype=float)

    deltas = dict(interpret.counterfactual_deletion(overlap, "aspirin stroke risk", "aspirin lowers stroke risk in adults"))
    assert deltas["aspirin"] == 1.0 and deltas["stroke"] == 1.0
    assert deltas["adults"] == 0.0
    q_deltas = dict(interpret.counterfactual_deletion(overlap, "aspirin stroke", "aspirin lowers stroke", side="query"))
    assert q_deltas["aspirin"] == 1.0


def test_counterfactual_deletion_on_a_transformer_changes_the_score(tiny):
    model, tok = tiny
    deltas = interpret.counterfactual_deletion(interpret.score_fn_for(model, tok), Q, D)
    assert len(deltas) == len(set(D.split()))
    assert max(abs(d) for _, d in deltas) > 0


def test_typos_are_deterministic_and_change_about_rate_of_long_words():
    text = " ".join(["protein", "expression", "increases", "apoptosis", "cells"] * 20)
    a, b = interpret.add_typos(text, 0.3, seed=1), interpret.add_typos(text, 0.3, seed=1)
    assert a == b and a != text
    changed = sum(x != y for x, y in zip(a.split(), text.split()))
    assert 15 <= changed <= 45
    assert interpret.add_typos(text, 0.0) == text
    with pytest.raises(ValueError, match="rate"):
        interpret.add_typos(text, 1.5)


def test_typos_reach_words_with_punctuation_and_every_chosen_word_changes():
    # Claims end words with '.', ',' or ')' and join them with '-': those words must get typos too,
    # and at rate 1.0 every word of 4+ letters must change (no edit that leaves the word as it was).
    text = "Aspirin (low-dose) reduces stroke, heart-attack risk in adults. TNF-alpha p53 cells."
    words = ["Aspirin", "reduces", "stroke", "heart", "attack", "risk", "adults", "alpha", "cells"]
    for seed in range(20):
        out = interpret.add_typos(text, 1.0, seed=seed)
        for w in words:
            assert w not in out.replace("-", " ").replace(",", " ").replace(".", " ").split(), (seed, w, out)
        # Short words, digits and punctuation are kept; first and last letters of edited words too.
        assert out.count("(") == 1 and out.count(")") == 1 and out.count("-") == 3 and "p53" in out
        assert " in " in out and out.endswith(".")
    long_words = 50
    text = " ".join(["expression", "apoptosis", "increases"] * long_words)
    changed = sum(a != b for a, b in zip(interpret.add_typos(text, 0.5, seed=3).split(), text.split()))
    assert 0.35 * 3 * long_words <= changed <= 0.65 * 3 * long_words


def test_typo_queries_use_one_seed_per_query():
    queries = {f"q{i}": "protein expression increases apoptosis in tumour cells" for i in range(40)}
    out = interpret.typo_queries(queries, 0.5, seed=0)
    assert out == interpret.typo_queries(queries, 0.5, seed=0) and set(out) == set(queries)
    assert out["q3"] == interpret.add_typos(queries["q3"], 0.5, seed=sorted(queries).index("q3"))  # i in id order
    assert len(set(out.values())) > 30  # the same text gets different typos in different queries
    assert interpret.typo_queries(queries, 0.0) == queries


def test_inject_terms_appends():
    assert interpret.inject_terms("aspirin stroke", ["banana", "cat"]) == "aspirin stroke banana cat"


def test_saliency_is_deterministic(tiny):
    model, tok = tiny
    a = interpret.token_saliency(model, tok, Q, D, steps=8)
    b = interpret.token_saliency(model, tok, Q, D, steps=8)
    np.testing.assert_array_equal(a.scores, b.scores)
