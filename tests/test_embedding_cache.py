"""The on-disk embedding cache: every stored text is found again, whatever its key's bytes."""

from __future__ import annotations

import numpy as np

from lessonlib.core.cache import EmbeddingCache, text_key


def test_texts_whose_key_ends_in_a_nul_byte_are_found_again(tmp_path):
    # numpy's fixed-width bytes drop trailing NULs; 1 key in 256 ends in one.
    texts = [f"text {i}" for i in range(4000)]
    nul = [t for t in texts if text_key(t).endswith(b"\0")]
    assert nul, "the sample must contain a key ending in a NUL byte"
    cache = EmbeddingCache("ns", root=tmp_path)
    vecs = np.random.default_rng(0).normal(size=(len(texts), 4)).astype(np.float32)
    cache.put(texts, vecs, np.arange(len(texts)))
    got, lens, found = EmbeddingCache("ns", root=tmp_path).get(texts)
    assert found.all(), f"{(~found).sum()} stored texts not found"
    np.testing.assert_array_equal(got, vecs)
    np.testing.assert_array_equal(lens, np.arange(len(texts)))
