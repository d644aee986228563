"""lessonlib.data.augment: back-translation through MarianMT, neighbour paraphrases, augment_queries.

No translation model can be downloaded here, so the MarianMT code path runs on a tiny, randomly
initialised MarianMTModel with a word-level tokenizer built in memory (a real model and a real
tokenizer, only untrained); the loader's error path is tested against what is really missing.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast

from lessonlib.data import augment as A

WORDS = ["vitamin", "d", "deficiency", "causes", "cancer", "in", "mice", "risk", "of", "tumor", "protein", "cells"]


@pytest.fixture(scope="module")
def tiny_marian():
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])  # as Marian's
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    torch.manual_seed(0)
    cfg = MarianConfig(vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                       decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
                       pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, forced_eos_token_id=1)
    model = MarianMTModel(cfg).eval()
    model.final_logits_bias[0, :3] = -10.0  # an untrained model tends to stop at once; make it emit words
    return model, tokenizer


TEXTS = ["vitamin d deficiency causes cancer", "risk of tumor in mice", "protein", "cells causes cancer in mice", "d"]


def test_translate_returns_one_string_per_text_in_order_and_matches_generate(tiny_marian):
    model, tokenizer = tiny_marian
    tr = A.MarianTranslator(model, tokenizer, batch_size=1, max_new_tokens=6).fit()
    out = tr.translate(TEXTS, show_progress=False)
    assert len(out) == len(TEXTS) and all(isinstance(t, str) and t for t in out)
    for text, got in zip(TEXTS, out):  # reference: generate on one text, decode
        enc = tokenizer([text], return_tensors="pt")
        ids = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], num_beams=1, max_new_tokens=6)
        assert got == tokenizer.batch_decode(ids, skip_special_tokens=True)[0].strip()
    batched = A.MarianTranslator(model, tokenizer, batch_size=2, max_new_tokens=6).translate(TEXTS, show_progress=False)
    assert len(batched) == len(TEXTS)


def test_sampled_translation_is_seeded(tiny_marian):
    model, tokenizer = tiny_marian
    run = lambda seed: A.MarianTranslator(model, tokenizer, do_sample=True, temperature=2.0, seed=seed,
                                          max_new_tokens=8).translate(TEXTS * 3, show_progress=False)
    assert run(0) == run(0)
    assert run(0) != run(1)


def test_back_translate_is_the_round_trip(tiny_marian):
    model, tokenizer = tiny_marian
    fwd = A.MarianTranslator(model, tokenizer, max_new_tokens=6)
    bwd = A.MarianTranslator(model, tokenizer, max_new_tokens=4)
    assert A.back_translate(TEXTS, fwd, bwd, show_progress=False) == bwd.translate(fwd.translate(TEXTS, False), False)


def test_missing_sentencepiece_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentencepiece", None)  # import fails as when not installed
    with pytest.raises(A.TranslatorUnavailable, match="sentencepiece") as err:
        A.load_marian(A.MARIAN_EN_DE)
    assert "\n" not in str(err.value)
    ok, why = A.translation_status()
    assert not ok and "sentencepiece" in why


def test_missing_model_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "sentencepiece", types.ModuleType("sentencepiece"))  # only its presence is checked
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    missing = "Helsinki-NLP/opus-mt-xx-yy"
    with pytest.raises(A.TranslatorUnavailable, match="opus-mt-xx-yy") as err:
        A.load_marian(missing)
    assert "\n" not in str(err.value) and "not installed locally" in str(err.value)
    with pytest.raises(A.TranslatorUnavailable):
        A.back_translate(["x"], missing, missing)


def test_translator_rejects_bad_arguments(tiny_marian):
    with pytest.raises(ValueError, match="batch_size"):
        A.MarianTranslator(batch_size=0)
    with pytest.raises(ValueError, match="tokenizer"):
        A.MarianTranslator(tiny_marian[0]).fit()


@pytest.fixture
def toy_neighbours():
    vocab = ["cancer", "cancers", "tumor", "mice", "mouse", "risk", "risks", "of", "the"]
    rng = np.random.default_rng(0)
    base = rng.normal(size=(len(vocab), 8))
    for a, b in (("cancers", "cancer"), ("tumor", "cancer"), ("mouse", "mice"), ("risks", "risk")):
        base[vocab.index(a)] = base[vocab.index(b)] + 0.1 * rng.normal(size=8)
    return A.EmbeddingNeighbours(k=2, min_similarity=0.9, matrix=base, vocab=vocab).fit()


def test_neighbour_paraphrases_are_distinct_changed_swaps(toy_neighbours):
    text = "the risk of cancer in mice"
    out = A.neighbour_paraphrases(text, toy_neighbours, n=3, p=0.5, seed=0)
    assert 1 <= len(out) <= 3 and len(set(out)) == len(out) and text not in out
    allowed = {"the": {"the"}, "risk": {"risk", "risks"}, "of": {"of"}, "cancer": {"cancer", "cancers", "tumor"},
               "in": {"in"}, "mice": {"mice", "mouse"}}
    for para in out:
        words = para.split()
        assert len(words) == 6 and all(w in allowed[o] for o, w in zip(text.split(), words))
    assert out == A.neighbour_paraphrases(text, toy_neighbours, n=3, p=0.5, seed=0)
    assert A.neighbour_paraphrases("zzz qqq", toy_neighbours, n=2) == []  # nothing can change
    with pytest.raises(ValueError, match="n=0"):
        A.neighbour_paraphrases(text, toy_neighbours, n=0)


def test_augment_queries_copies_judgements_to_new_ids():
    queries = {"1": "a b", "2": "c d"}
    qrels = {"1": {"d1": 1}, "2": {"d2": 1, "d3": 1}}
    q, r = A.augment_queries(queries, {"1": ["a x", "a b", "a x", "y b"], "2": []}, qrels)
    assert q == {"1": "a b", "2": "c d", "1#aug0": "a x", "1#aug1": "y b"}  # unchanged and repeated variants dropped
    assert r["1#aug0"] == {"d1": 1} and r["1#aug1"] == {"d1": 1} and r["2"] == {"d2": 1, "d3": 1}
    r["1#aug0"]["d9"] = 1
    assert qrels["1"] == {"d1": 1}  # copies, not views
    with pytest.raises(ValueError, match="not in queries"):
        A.augment_queries(queries, {"3": ["z"]})
