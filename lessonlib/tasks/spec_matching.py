"""Technical-specification matching: a seeded synthetic product catalogue with requirement queries.

A case study for Day 10.2 §7.2 ("E-commerce premium search: technical specification matching,
professional equipment"). No such public collection ships offline, so this module *generates*
one, deterministically, and says exactly how (so what it can and cannot show is clear):

Generator (``build_catalogue(seed=...)``, ``numpy.random.default_rng(seed)``):

1. Four categories (SSDs, USB-C chargers, monitors, ball bearings), each with 3-4 attributes
   (``CATEGORIES``). A product draws every attribute uniformly from its value grid; a quarter
   of the products are *near twins* of an earlier product of the same category, equal but for
   one attribute (the hard negatives of spec search).
2. A product page (the document) states each attribute once, in one of its surface forms drawn
   at random ("1 TB" / "1000 GB" / "1TB"; "PCIe Gen4 x4 NVMe" for "NVMe PCIe 4.0"; "QHD" for
   2560x1440), in random order, plus two filler sentences (warranty, colour) with numbers of
   their own.
3. A query picks a target product and 2-3 of its attributes as constraints, of one type:
   ``exact`` (every constraint in the canonical form, equality), ``paraphrase`` (equality, at
   least one constraint in another surface form than the canonical one) or ``range`` (one
   numeric constraint as "at least X" / "at most X", with X a grid value on the right side of
   the target's).
4. Judgments are complete: every product of the category that satisfies *all* constraints is
   relevant (grade 1); every product that violates exactly one is judged 0 (a near miss);
   the rest are unjudged (and not relevant: they violate two or more, or are another category).

What it can show: whether a ranker matches exact spec tokens, treats surface forms of one value
as equal, compares numbers against a range, and separates near twins; with complete judgments,
so no relevant document is unjudged. What it cannot show: the vocabulary, noise and query mix of
a real catalogue. Train and test queries share the templates and surface forms (different
products and constraint combinations), so a model trained on the train split is measured on
in-template generalisation: an upper bound for real data.

>>> train, test = build_catalogue(n_products=40, n_queries=60, seed=0)
>>> sorted(set(test.meta["query_types"].values()))
['exact', 'paraphrase', 'range']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lessonlib.data import Dataset


@dataclass(frozen=True)
class Attribute:
    """One spec field: its value grid and each value's surface forms (the first is canonical).

    ``numeric`` attributes also accept range constraints; their values are numbers in ``unit``.
    """

    name: str
    forms: Mapping  # value -> tuple of surface forms (canonical first)
    numeric: bool = False
    unit: str = ""

    @property
    def values(self) -> list:
        return list(self.forms)


def _num(values, unit_forms):
    return {v: tuple(f.format(v=v, t=v / 1000 if v >= 1000 else v) for f in unit_forms(v)) for v in values}


CATEGORIES: dict[str, dict] = {
    "ssd": {"noun": "SSD", "attributes": [
        Attribute("capacity", _num([250, 500, 1000, 2000, 4000], lambda v: ("{t:g} TB", "{v} GB", "{t:g}TB") if v >= 1000
                                   else ("{v} GB", "{v}GB", "{v} gigabytes")), numeric=True, unit="GB"),
        Attribute("interface", {"SATA III": ("SATA III", "SATA 6Gb/s"), "NVMe PCIe 3.0": ("NVMe PCIe 3.0", "PCIe Gen3 x4 NVMe"),
                                "NVMe PCIe 4.0": ("NVMe PCIe 4.0", "PCIe Gen4 x4 NVMe"),
                                "NVMe PCIe 5.0": ("NVMe PCIe 5.0", "PCIe Gen5 x4 NVMe")}),
        Attribute("form factor", {"2.5-inch": ("2.5-inch", "2.5 in. drive bay"), "M.2 2280": ("M.2 2280", "M.2 22 x 80 mm"),
                                  "M.2 2230": ("M.2 2230", "M.2 22 x 30 mm")}),
    ]},
    "charger": {"noun": "USB-C charger", "attributes": [
        Attribute("power", _num([20, 30, 45, 65, 100, 140], lambda v: ("{v} W", "{v}W", "{v}-watt")), numeric=True, unit="W"),
        Attribute("ports", {1: ("1 port", "single-port"), 2: ("2 ports", "dual-port"), 3: ("3 ports", "triple-port"),
                            4: ("4 ports", "quad-port")}, numeric=True, unit="ports"),
        Attribute("technology", {"GaN": ("GaN", "gallium nitride"), "silicon": ("silicon", "conventional silicon")}),
    ]},
    "monitor": {"noun": "monitor", "attributes": [
        Attribute("size", _num([24, 27, 32, 34], lambda v: ('{v}-inch', '{v} in.', '{v}" screen')), numeric=True, unit="inch"),
        Attribute("resolution", {"1920x1080": ("1920x1080", "Full HD"), "2560x1440": ("2560x1440", "QHD"),
                                 "3840x2160": ("3840x2160", "4K UHD")}),
        Attribute("refresh rate", _num([60, 75, 144, 165, 240], lambda v: ("{v} Hz", "{v}Hz")), numeric=True, unit="Hz"),
        Attribute("panel", {"IPS": ("IPS", "in-plane switching"), "VA": ("VA", "vertical alignment"),
                            "OLED": ("OLED", "organic LED")}),
    ]},
    "bearing": {"noun": "ball bearing", "attributes": [
        Attribute("bore", _num([8, 10, 12, 15, 17, 20], lambda v: ("{v} mm bore", "{v} mm inner diameter", "ID {v}mm")),
                  numeric=True, unit="mm"),
        Attribute("outer diameter", _num([22, 26, 28, 32, 35, 42], lambda v: ("{v} mm OD", "{v} mm outer diameter")),
                  numeric=True, unit="mm"),
        Attribute("seal", {"2RS": ("2RS", "rubber sealed both sides"), "ZZ": ("ZZ", "metal shielded both sides"),
                           "open": ("open", "unsealed")}),
    ]},
}

BRANDS = ["Aldren", "Brisk", "Corvel", "Dunmore", "Eskar", "Fenlow", "Garrow", "Hexley", "Istra", "Juno", "Kessel",
          "Lumen", "Marrick", "Norvik", "Ostrel", "Pellam"]
FILLERS = ["Comes with a {n}-year warranty.", "Available in {c}.", "Ships in {n} business days.",
           "Rated {n}.{m} out of 5 by {k} buyers.", "Model year 20{y}."]
COLOURS = ["black", "silver", "white", "graphite", "blue"]
QUERY_TEMPLATES = ["{noun} with {cs}", "looking for a {noun}: {cs}", "need a {noun}, {cs}", "{cs} {noun}"]
QUERY_TYPES = ("exact", "paraphrase", "range")


def _render_filler(rng: np.random.Generator) -> str:
    f = FILLERS[int(rng.integers(len(FILLERS)))]
    return f.format(n=int(rng.integers(1, 6)), m=int(rng.integers(10)), k=int(rng.integers(20, 900)),
                    c=COLOURS[int(rng.integers(len(COLOURS)))], y=int(rng.integers(18, 26)))


def satisfies(specs: Mapping[str, object], constraints: list[tuple[str, str, object]]) -> list[bool]:
    """Which constraints ``(attribute, op, value)`` a product's ``specs`` meets; op is ``=``, ``>=`` or ``<=``."""
    out = []
    for name, op, value in constraints:
        v = specs[name]
        out.append(v == value if op == "=" else (v >= value if op == ">=" else v <= value))
    return out


def _product(rng, category: str, base: dict | None) -> dict:
    attrs = CATEGORIES[category]["attributes"]
    if base is None:
        specs = {a.name: a.values[int(rng.integers(len(a.values)))] for a in attrs}
    else:  # a near twin: one attribute changed
        specs = dict(base)
        a = attrs[int(rng.integers(len(attrs)))]
        specs[a.name] = [v for v in a.values if v != base[a.name]][int(rng.integers(len(a.values) - 1))]
    return specs


def _doc_text(rng, category: str, specs: dict) -> str:
    noun = CATEGORIES[category]["noun"]
    parts = []
    for a in CATEGORIES[category]["attributes"]:
        forms = a.forms[specs[a.name]]
        parts.append(f"{a.name.capitalize()}: {forms[int(rng.integers(len(forms)))]}.")
    rng.shuffle(parts)
    return f"This {noun} is built for professional use. " + " ".join(parts) + " " + " ".join(
        _render_filler(rng) for _ in range(2))


def _constraint_text(a: Attribute, op: str, value, canonical: bool, rng) -> str:
    forms = a.forms[value]
    form = forms[0] if canonical else forms[1 + int(rng.integers(len(forms) - 1))]
    if op == "=":
        return form
    return ("at least " if op == ">=" else "at most ") + form


def build_catalogue(n_products: int = 60, n_queries: int = 300, test_fraction: float = 0.4, seed: int = 0,
          twin_fraction: float = 0.25) -> tuple[Dataset, Dataset]:
    """(train, test) Datasets over one catalogue of ``n_products`` per category (see the module docstring).

    ``meta`` of each holds ``query_types`` ({qid: type}), ``constraints`` ({qid: [(attr, op, value)]}),
    ``specs`` ({doc_id: {attr: value}}), ``category`` ({doc_id / qid: category}) and ``seed``.
    """
    if n_products < 2 or n_queries < 2:
        raise ValueError(f"build_catalogue(n_products={n_products}, n_queries={n_queries}): need at least 2 of each")
    if not 0 < test_fraction < 1:
        raise ValueError(f"build_catalogue(test_fraction={test_fraction}): expected 0 < test_fraction < 1")
    rng = np.random.default_rng(seed)
    corpus, specs, cat_of = {}, {}, {}
    for category, spec in CATEGORIES.items():
        made: list[dict] = []
        for i in range(n_products):
            base = made[int(rng.integers(len(made)))] if made and rng.random() < twin_fraction else None
            s = _product(rng, category, base)
            made.append(s)
            doc_id = f"{category}-{i:03d}"
            brand = BRANDS[int(rng.integers(len(BRANDS)))]
            model = f"{brand[:2].upper()}-{int(rng.integers(1000, 9999))}"
            corpus[doc_id] = {"title": f"{brand} {model} {spec['noun']}", "text": _doc_text(rng, category, s)}
            specs[doc_id], cat_of[doc_id] = s, category
    by_cat = {c: [d for d in corpus if cat_of[d] == c] for c in CATEGORIES}
    queries, qrels, qtypes, constraints = {}, {}, {}, {}
    for qi in range(n_queries):
        category = list(CATEGORIES)[qi % len(CATEGORIES)]
        qtype = QUERY_TYPES[(qi // len(CATEGORIES)) % len(QUERY_TYPES)]
        attrs = CATEGORIES[category]["attributes"]
        target = specs[by_cat[category][int(rng.integers(n_products))]]
        chosen = [attrs[i] for i in sorted(rng.choice(len(attrs), size=min(len(attrs), int(rng.integers(2, 4))), replace=False))]
        if qtype == "range" and not any(a.numeric for a in chosen):
            chosen[0] = next(a for a in attrs if a.numeric)
        cons, texts = [], []
        ranged = next((a for a in chosen if a.numeric), None) if qtype == "range" else None
        paraphrased = chosen[int(rng.integers(len(chosen)))] if qtype == "paraphrase" else None
        for a in chosen:
            value, op = target[a.name], "="
            if a is ranged:
                grid = a.values
                i = grid.index(value)
                op = ">=" if (i > 0 and rng.random() < 0.5) or i == len(grid) - 1 else "<="
                lower = grid[: i + 1] if op == ">=" else grid[i:]
                value = lower[int(rng.integers(len(lower)))]
            cons.append((a.name, op, value))
            texts.append(_constraint_text(a, op, value, canonical=a is not paraphrased, rng=rng))
        qid = f"spec-q{qi:03d}"
        template = QUERY_TEMPLATES[int(rng.integers(len(QUERY_TEMPLATES)))]
        queries[qid] = template.format(noun=CATEGORIES[category]["noun"], cs=", ".join(texts))
        judged = {}
        for d in by_cat[category]:
            ok = satisfies(specs[d], cons)
            if all(ok):
                judged[d] = 1
            elif sum(ok) == len(ok) - 1:
                judged[d] = 0
        qrels[qid], qtypes[qid], constraints[qid] = judged, qtype, cons
        cat_of[qid] = category
    qids = list(queries)
    order = np.random.default_rng([seed, 1]).permutation(len(qids))
    n_test = max(1, int(round(test_fraction * len(qids))))
    split = {"test": sorted(qids[i] for i in order[:n_test]), "train": sorted(qids[i] for i in order[n_test:])}
    out = []
    for name in ("train", "test"):
        keep = split[name]
        meta = {"title": f"Synthetic spec-matching catalogue (lessonlib.tasks.spec_matching, seed {seed})", "source": "specmatch",
                "split": name, "seed": seed, "query_types": {q: qtypes[q] for q in keep},
                "constraints": {q: constraints[q] for q in keep}, "specs": specs, "category": cat_of}
        out.append(Dataset("specmatch", corpus, {q: queries[q] for q in keep}, {q: qrels[q] for q in keep}, name, meta))
    return out[0], out[1]
