"""Number / entity detectors, controlled claim perturbations, score shifts and the idiom probe."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.evaluation import matching_probes as mp
from lessonlib.retrieval.bm25 import BM25


@pytest.mark.parametrize("text, numbers", [
    ("Up to 50% of 1,000 mice died within 3 days.", ["50%", "1,000", "3 days"]),
    ("A 2.5-fold rise at 10 mg/kg.", ["2.5-fold", "10 mg/kg"]),
    ("APOE4 and rs647161 and CD8 carry digits inside tokens.", []),
    ("Arginine 90 in p150n binds EB1.", ["90"]),
    ("No numerals here.", []),
])
def test_find_numbers(text, numbers):
    assert mp.find_numbers(text) == numbers


def test_find_entities_patterns_and_sentence_start():
    assert mp.find_entities("Cold exposure increases BAT recruitment in Drosophila.") == ["BAT", "Drosophila"]
    assert mp.find_entities("APOE4 in iPSC neurons with p53 and G-CSF.") == ["APOE4", "iPSC", "p53", "G-CSF"]
    assert mp.find_entities("statins lower blood cholesterol.") == []


def test_traits_and_groups():
    qs = {"a": "Drug TNF at 5 mg works.", "b": "statins work."}
    assert mp.claim_traits(qs) == {"a": {"number": True, "entity": True}, "b": {"number": False, "entity": False}}
    assert mp.trait_groups(qs, "number") == {"a": "with numbers", "b": "without numbers"}
    with pytest.raises(ValueError, match="trait"):
        mp.trait_groups(qs, "colour")


def test_change_number():
    assert mp.change_number("Purity of up to 50% is reached.") == "Purity of up to 500% is reached."
    assert mp.change_number("A total of 1,000 people.") == "A total of 10000 people."
    assert mp.change_number("0-dimensional biomaterials.") == "1-dimensional biomaterials."
    assert mp.change_number("It rose 2.5 fold.") == "It rose 25 fold."
    assert mp.change_number("CD8 cells.") is None


def test_swap_entity_is_seeded_and_different():
    pool = ["TNF", "IL6", "CD4", "BRCA1"]
    out = mp.swap_entity("BRCA1 mutations raise risk.", pool, seed=0)
    assert out == mp.swap_entity("BRCA1 mutations raise risk.", pool, seed=0)
    assert out.endswith(" mutations raise risk.") and not out.startswith("BRCA1")
    assert mp.swap_entity("statins work.", pool) is None
    with pytest.raises(ValueError, match="pool"):
        mp.swap_entity("BRCA1 matters.", ["BRCA1"])


@pytest.mark.parametrize("text, flipped", [
    ("Statins increase blood cholesterol.", "Statins do not increase blood cholesterol."),
    ("Cold exposure increases BAT recruitment.", "Cold exposure does not increase BAT recruitment."),
    ("CCL19 is absent within dLNs.", "CCL19 is not absent within dLNs."),
    ("Lack of clpC does not affect sporulation.", "Lack of clpC does affect sporulation."),
    ("Bariatric surgery has a positive impact.", "Bariatric surgery does not have a positive impact."),
    ("The drug has been shown to work.", "The drug has not been shown to work."),
    ("A transient decrease in methylation is necessary.", "A transient decrease in methylation is not necessary."),
    ("Rapid rates govern fidelity", None),
])
def test_flip_negation(text, flipped):
    assert mp.flip_negation(text) == flipped


def test_flip_negation_twice_restores_the_claim():
    text = "Cold exposure increases BAT recruitment."
    assert mp.flip_negation(mp.flip_negation(text)) == "Cold exposure does increase BAT recruitment."  # "do"-support stays
    aux = "CCL19 is absent within dLNs."
    assert mp.flip_negation(mp.flip_negation(aux)) == aux


def test_swap_arguments():
    assert mp.swap_arguments("Statins increase blood cholesterol.") == "Blood cholesterol increase statins."
    assert mp.swap_arguments("Deleting Raptor reduces G-CSF levels.") == "G-CSF levels reduces deleting Raptor."
    assert mp.swap_arguments("Lack of clpC does not affect sporulation.") == "Sporulation does not affect lack of clpC."
    assert mp.swap_arguments("Smoking leads to cancer.") is None  # needs a preposition
    assert mp.swap_arguments("CCL19 is absent.") is None
    assert mp.swap_arguments("Histone loss and a transient decrease in methylation is necessary.") is None  # a noun


def test_shuffle_keeps_the_words_and_bm25_cannot_see_it():
    text = "Cold exposure increases brown fat recruitment in mice."
    out = mp.shuffle_words(text, seed=3)
    assert out != text and sorted(out.rstrip(".").split()) == sorted(text.rstrip(".").split())
    bm25 = BM25().fit(["brown fat recruitment after cold exposure in mice", "unrelated text about stars"], ["d1", "d2"])
    before, after = mp.bm25_pair_scores(bm25, [text, out], ["d1", "d1"])
    assert before > 0 and before == pytest.approx(after)


def test_perturb_keeps_only_changed_claims():
    qs = {"a": "Statins increase cholesterol.", "b": "Rapid rates govern fidelity"}
    assert mp.perturb(qs, mp.flip_negation) == {"a": "Statins do not increase cholesterol."}


def test_score_shift_units():
    score = lambda qs, ds: np.array([len(q) for q in qs], dtype=float)
    sh = mp.score_shift(score, ["abcd", "ab"], ["ab", "abcd"], ["d", "d"], reference=[0.0, 2.0])
    np.testing.assert_allclose(sh.z, [-2.0, 2.0])  # std([0, 2]) = 1
    assert sh.mean_z == 0.0 and sh.share_lower == 0.5
    with pytest.raises(ValueError, match="spread"):
        mp.score_shift(score, ["a"], ["b"], ["d"], reference=[1.0, 1.0])
    with pytest.raises(ValueError, match="originals"):
        mp.score_shift(score, ["a"], [], ["d"], reference=[0.0, 1.0])


def test_idioms_found_and_probe_margin():
    hits = mp.idiom_hits({"1": "It is the tip of the iceberg.", "2": "Statins lower LDL.", "3": "A Silver Bullet!"})
    assert hits == {"1": ["tip of the iceberg"], "3": ["silver bullet"]}
    for query, meaning, distractor in mp.IDIOM_PAIRS:  # every constructed query holds its idiom, the meaning doc does not
        assert mp.idiom_hits({"q": query}) and not mp.idiom_hits({"m": meaning})
    overlap = lambda qs, ds: np.array([len(set(q.lower().split()) & set(d.lower().split())) for q, d in zip(qs, ds)], float)
    margins = mp.idiom_probe(overlap)
    assert margins.shape == (len(mp.IDIOM_PAIRS),)
    assert np.mean(margins < 0) >= 0.5  # word overlap prefers the literal distractor: the probe is built that way
