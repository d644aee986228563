"""Exercise 10 (14_cross_encoder_foundations §1.1-1.2): monoBERT input, [CLS] q [SEP] d [SEP] with segment ids."""

from __future__ import annotations

import numpy as np

from lessonlib.core import config
from lessonlib.core.hub import resolve_model
from lessonlib.cross.interpret import encode_pair
from lessonlib.cross.joint import pair_tokens
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register

_PAIR_TOKENIZER = None


def pair_tokenizer():
    """MiniLM's pair template ([CLS] A [SEP] B [SEP], segments 0/1) on raw token ids.

    The real tokenizer (tokenizer.json, the one ``CrossEncoder`` loads) maps text to ids; to apply its
    post-processor and its ``only_second`` truncation to GIVEN ids we put them behind a word-level
    vocabulary "t<id>" -> id. Loading ``tokenizers`` takes well under a second, transformers seconds.
    """
    global _PAIR_TOKENIZER
    if _PAIR_TOKENIZER is None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        real = Tokenizer.from_file(str(resolve_model(config.DEFAULT_MODEL) / "tokenizer.json"))
        vocab = {f"t{i}": i for i in range(real.get_vocab_size())}
        tok = Tokenizer(models.WordLevel(vocab, unk_token="t100"))
        tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        tok.post_processor = real.post_processor
        _PAIR_TOKENIZER = tok
    return _PAIR_TOKENIZER


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for q_len, d_len, max_length, name in [(3, 10, 32, "everything fits"), (5, 40, 32, "the document is truncated"),
                                           (8, 100, 64, "a long document"), (1, 5, 6, "room for exactly one document token"),
                                           (4, 20, 9, "a tight max_length"), (6, 0, 16, "an empty document"),
                                           (2, 300, 256, "max_length 256"), (10, 3, 14, "fits exactly: no truncation at the limit"),
                                           (7, 12, 18, "one document token too many")]:
        # max_length >= q_len + 4: at least one document token fits (else the tokenizer refuses the pair)
        out.append(Case(name, {"query_ids": [int(i) for i in rng.integers(999, 30000, q_len)],
                               "doc_ids": [int(i) for i in rng.integers(999, 30000, d_len)], "max_length": max_length}))
    return out


def reference(query_ids, doc_ids, max_length):
    tok = pair_tokenizer()
    tok.enable_truncation(max_length, strategy="only_second")
    enc = tok.encode(" ".join(f"t{i}" for i in query_ids), " ".join(f"t{i}" for i in doc_ids))
    return {"input_ids": list(enc.ids), "token_type_ids": list(enc.type_ids)}


def _pair(query_ids, doc, cls_id=101, sep_id=102, doc_type=1):
    return {"input_ids": [cls_id, *query_ids, sep_id, *doc, sep_id],
            "token_type_ids": [0] * (len(query_ids) + 2) + [doc_type] * (len(doc) + 1)}


def wrong_two_special_tokens(query_ids, doc_ids, max_length, cls_id=101, sep_id=102):
    return _pair(query_ids, doc_ids[: max_length - len(query_ids) - 2], cls_id, sep_id)


def wrong_no_truncation(query_ids, doc_ids, max_length, cls_id=101, sep_id=102):
    return _pair(query_ids, doc_ids, cls_id, sep_id)


def wrong_all_segment_zero(query_ids, doc_ids, max_length, cls_id=101, sep_id=102):
    return _pair(query_ids, doc_ids[: max_length - len(query_ids) - 3], cls_id, sep_id, doc_type=0)


def wrong_keeps_the_tail(query_ids, doc_ids, max_length, cls_id=101, sep_id=102):
    room = max_length - len(query_ids) - 3
    return _pair(query_ids, doc_ids[len(doc_ids) - room:] if len(doc_ids) > room else doc_ids, cls_id, sep_id)


register(ExerciseCheck(
    id="monobert_input", title="monoBERT input: [CLS] q [SEP] d [SEP] with segment ids",
    practises="14_cross_encoder_foundations — joint encoding and segments (Day 10.2 §1.1-1.2)",
    cases=cases, reference=reference,
    hint="input_ids = [CLS] + query + [SEP] + doc[:max_length - len(query) - 3] + [SEP]; token_type_ids are 0 "
         "up to and including the first [SEP], 1 for the document and the final [SEP].",
    wrong={
        "three special tokens share max_length ([CLS] and two [SEP]): the document keeps max_length - len(query) - 3 tokens.":
            wrong_two_special_tokens,
        "the pair must fit in max_length: truncate the DOCUMENT (only_second) to what is left.": wrong_no_truncation,
        "the document and the final [SEP] are segment 1 (token_type_ids), the query part segment 0.": wrong_all_segment_zero,
        "truncation keeps the START of the document and drops its end.": wrong_keeps_the_tail,
    },
    blocks=(pair_tokenizer, encode_pair, pair_tokens),
))
