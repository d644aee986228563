"""lessonlib.tasks.spec_matching: the seeded spec-matching catalogue is deterministic and its judgments are right."""

from __future__ import annotations

import re

import pytest

from lessonlib.tasks import spec_matching


@pytest.fixture(scope="module")
def built():
    return spec_matching.build_catalogue(n_products=30, n_queries=90, seed=0)


def test_same_seed_same_collection_other_seed_another(built):
    train, test = spec_matching.build_catalogue(n_products=30, n_queries=90, seed=0)
    assert train.corpus == built[0].corpus and test.queries == built[1].queries and test.qrels == built[1].qrels
    other = spec_matching.build_catalogue(n_products=30, n_queries=90, seed=1)[1]
    assert other.queries != built[1].queries


def test_splits_share_the_catalogue_and_partition_the_queries(built):
    train, test = built
    assert train.corpus is test.corpus or train.corpus == test.corpus
    assert not set(train.queries) & set(test.queries)
    assert len(train.queries) + len(test.queries) == 90 and len(test.corpus) == 4 * 30


def _satisfied_by_hand(spec_value, op, value):
    return {"=": spec_value == value, ">=": spec_value >= value, "<=": spec_value <= value}[op]


def test_judgments_are_complete_all_constraints_relevant_one_violation_judged_zero(built):
    for ds in built:
        for q, cons in ds.meta["constraints"].items():
            cat = ds.meta["category"][q]
            for d in ds.corpus:
                if ds.meta["category"][d] != cat:
                    assert d not in ds.qrels[q]
                    continue
                ok = [_satisfied_by_hand(ds.meta["specs"][d][a], op, v) for a, op, v in cons]
                if all(ok):
                    assert ds.qrels[q].get(d) == 1
                elif sum(ok) == len(ok) - 1:
                    assert ds.qrels[q].get(d) == 0
                else:
                    assert d not in ds.qrels[q]
            assert any(g > 0 for g in ds.qrels[q].values()), "the target product always satisfies its query"


def test_each_product_page_states_each_of_its_specs_in_one_of_its_forms(built):
    train = built[0]
    for d, doc in train.corpus.items():
        cat = train.meta["category"][d]
        for a in spec_matching.CATEGORIES[cat]["attributes"]:
            forms = a.forms[train.meta["specs"][d][a.name]]
            assert any(f"{a.name.capitalize()}: {f}." in doc["text"] for f in forms), (d, a.name, doc["text"])


def test_query_types_follow_their_definition(built):
    for ds in built:
        for q, qtype in ds.meta["query_types"].items():
            cons = ds.meta["constraints"][q]
            text = ds.queries[q]
            ranged = [c for c in cons if c[1] != "="]
            if qtype == "range":
                assert len(ranged) == 1 and re.search(r"\bat (least|most)\b", text)
            else:
                assert not ranged and "at least" not in text and "at most" not in text
            cat = ds.meta["category"][q]
            attrs = {a.name: a for a in spec_matching.CATEGORIES[cat]["attributes"]}
            canonical = all(attrs[a].forms[v][0] in text for a, _, v in cons)
            if qtype == "exact":
                assert canonical


def test_range_semantics_by_hand():
    assert spec_matching.satisfies({"capacity": 2000}, [("capacity", ">=", 1000)]) == [True]
    assert spec_matching.satisfies({"capacity": 500}, [("capacity", ">=", 1000), ("capacity", "<=", 500)]) == [False, True]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="test_fraction"):
        spec_matching.build_catalogue(test_fraction=1.0)
    with pytest.raises(ValueError, match="n_products"):
        spec_matching.build_catalogue(n_products=1)
