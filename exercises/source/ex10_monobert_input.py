# exercise: monobert_input
# function: monobert_input
# practises: 14_cross_encoder_foundations — joint encoding and segments (Day 10.2 §1.1-1.2)
# title: monoBERT input: [CLS] q [SEP] d [SEP] with segment ids

# %% [markdown]
# # Exercise 10 — The monoBERT input: `[CLS] q [SEP] d [SEP]` with segment ids
#
# **Practises:** notebook `14_cross_encoder_foundations`, Day 10.2 §1.1–1.2 (the deep interaction paradigm,
# mathematical framework).
#
# A cross-encoder reads the query and the document **together**, so that every layer's attention connects
# query and document tokens (monoBERT; Nogueira & Cho, 2019, "Passage Re-ranking with BERT"). BERT's pair input
# (Devlin et al., 2019) is
#
# `[CLS] q_1 … q_m [SEP] d_1 … d_r [SEP]`   with segment (token type) ids `0 … 0 0 | 1 … 1 1`
#
# and it holds at most `max_length` tokens: the query is kept whole and the **document is cut to its first**
# r = min(len(doc), max_length − m − 3) tokens (the tokenizer's `truncation="only_second"`, which
# `lessonlib.cross.CrossEncoder.encode_pairs` uses).
#
# Write `monobert_input(query_ids, doc_ids, max_length, cls_id=101, sep_id=102)`: the query's and the
# document's token ids (lists of int, without special tokens) → `{"input_ids": [...], "token_type_ids": [...]}`
# (lists of int). MiniLM's vocabulary has `[CLS]` = 101 and `[SEP]` = 102. Every case leaves room for at least one
# document token (max_length ≥ m + 4).
#
# `check("monobert_input", monobert_input)` compares with all-MiniLM-L6-v2's own pair template and truncation (its
# `tokenizer.json`) on named hidden cases: "everything fits", "the document is truncated", "room for exactly one
# document token", "an empty document", "fits exactly: no truncation at the limit", "one document token too many".
# While your function runs, the check's tokenizer and lessonlib's pair encoders (`cross.interpret.encode_pair`,
# `cross.joint.pair_tokens`) cannot be called: the check stops them ("... is not available during this check"),
# because this exercise asks you to write it yourself. A failing case is shown by its name, with its inputs
# (summarised when large), the expected and your output, and a hint, the specific one when your output matches a
# classic mistake.

# %%
from lessonlib.workbook.checks import check


def monobert_input(query_ids: list[int], doc_ids: list[int], max_length: int, cls_id: int = 101,
                   sep_id: int = 102) -> dict[str, list[int]]:
    # BEGIN SOLUTION
    budget = max_length - len(query_ids) - 3
    doc = doc_ids[:budget]
    input_ids = [cls_id, *query_ids, sep_id, *doc, sep_id]
    token_type_ids = [0] * (len(query_ids) + 2) + [1] * (len(doc) + 1)
    return {"input_ids": input_ids, "token_type_ids": token_type_ids}
    # END SOLUTION


# %%
result = check("monobert_input", monobert_input)
