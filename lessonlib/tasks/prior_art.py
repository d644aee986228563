"""Prior-art search (patents; the same code path serves legal search and competitive intelligence)
on a small CONSTRUCTED patent set, with long-document handling (dense MaxP over word windows).

Day 10.2 §7 (legal, patents, competitive intelligence), taught in notebook 23. No patent or case-law
collection ships offline (a real evaluation needs CLEF-IP: Piroi et al. 2011, "CLEF-IP 2011:
retrieval in the intellectual property domain"; or COLIEE: Rabelo et al. 2022, "Overview and
discussion of the competition on legal information extraction/entailment (COLIEE) 2021"), so
:func:`build_patents` *generates* one, seeded, and says how:

1. Four technical fields (``FIELDS``), each with six features; every feature is written twice:
   once in description wording ("a compressible silicone pad ... between each pair of neighbouring
   cells") and once in claim wording ("a thermally conductive elastic interface member disposed
   between adjacent cells"), as patent claims restate a disclosure in other words.
2. A patent discloses three features of its field. Its text is long, like a patent's: abstract,
   a background that names two features it does NOT have as known art (distractors), ~200 words
   of boilerplate, and only then the detailed description with its three features (past the
   first 256 tokens, where a truncating encoder stops reading).
3. A query is a new claim: three features of a field in claim wording. Judgments (complete
   within the field, as in a search report): grade 2 = discloses all three (an "X" document,
   novelty-destroying); 1 = two of three (a "Y" document); 0 = at most one. Other fields unjudged.

What it can show: whether a ranker matches claim wording to description wording and reads past the
first window of a long document. What it cannot: real patents' vocabulary, length (tens of
pages), classification codes and citation practice; numbers measured on it are about this
generator only.

>>> ds = build_patents(n_patents=40, n_queries=20, seed=0)
>>> run = maxp_dense_run(ds, "sentence-transformers/all-MiniLM-L6-v2", size=128, stride=64)  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np

from lessonlib.core.runs import rank_documents, scores_to_run
from lessonlib.cross.longdoc import aggregate
from lessonlib.data import Dataset
from lessonlib.data.augment import passages
from lessonlib.dual.encode import dense_scores, encode

# field -> (claim preamble, background, [(description wording, claim wording)] * 6)
FIELDS: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "battery module": ("An energy storage assembly for a vehicle", "Battery modules for electric vehicles hold many cells in one housing and must stay cool and safe.", [
        ("a liquid-cooled aluminium plate runs beneath the cells and carries a water-glycol coolant through internal channels",
         "a heat exchanger having fluid passages arranged under the energy storage cells"),
        ("a compressible silicone pad that conducts heat fills the gap between each pair of neighbouring cells",
         "a thermally conductive elastic interface member disposed between adjacent cells"),
        ("the copper bus bar that joins the cells has a narrowed neck which melts when the current exceeds a safe level",
         "an electrical connector comprising a reduced cross-section portion configured to open the circuit under overcurrent"),
        ("a duct along the top of the pack leads gas released by a failing cell out through a one-way valve",
         "an exhaust path for discharging gases emitted during thermal runaway via a check valve"),
        ("a small circuit board clipped to each cell measures its voltage and temperature and reports them over a single wire",
         "a sensing unit attached to every storage cell for detecting electrical potential and heat, communicating via a serial link"),
        ("thin mica sheets line the housing walls so that flames cannot spread to the next module",
         "a fire-resistant mineral barrier layer covering inner surfaces of the enclosure"),
    ]),
    "bicycle disc brake": ("A braking system for a cycle", "Disc brakes on bicycles stop the wheel by squeezing pads against a rotor fixed to the hub.", [
        ("a floating rotor whose braking ring is riveted to an aluminium carrier so that it can expand when hot",
         "a friction disc mounted to a hub spider by movable fasteners permitting thermal expansion"),
        ("the pads are backed by finned steel plates that shed heat into the passing air",
         "friction elements supported on backing members having cooling projections"),
        ("a hydraulic master cylinder in the lever pushes mineral oil to four pistons at the caliper",
         "a fluid-actuated system in which a hand-operated pump drives multiple opposed actuators"),
        ("a screw on the lever sets how far the lever travels before the pads touch the rotor",
         "an adjustment element for setting the free stroke of the operating handle"),
        ("a sensor in the caliper counts wheel turns through holes in the rotor and feeds an anti-lock controller",
         "a rotation detector reading apertures of the disc to supply a wheel-slip regulating unit"),
        ("springs pull the pads back from the rotor after each stop so that they do not rub",
         "resilient retraction members biasing the friction elements away from the disc"),
    ]),
    "water filter jug": ("A liquid purification vessel", "Filter jugs clean tap water as it runs from an upper funnel through a cartridge into the jug.", [
        ("activated carbon made from coconut shells removes the taste and smell of chlorine",
         "an adsorbent bed of porous charcoal derived from plant husk material for reducing halogen compounds"),
        ("ion-exchange resin beads swap calcium for hydrogen ions and so soften the water",
         "a cation exchange medium for reducing hardness of the liquid"),
        ("a hollow-fibre membrane with pores of 0.1 micron stops bacteria",
         "a microporous tubular filtration barrier retaining microorganisms"),
        ("a small counter in the lid counts the fills and lights a lamp after about 150 litres",
         "a usage indicator that records refill events and signals when the cartridge needs replacement"),
        ("silver particles in the carbon keep bacteria from growing inside the cartridge between uses",
         "an antimicrobial metal additive dispersed in the sorbent to inhibit microbial growth"),
        ("the cartridge locks into the funnel with a quarter turn and a rubber ring seals it",
         "a bayonet coupling with an elastomeric gasket connecting the replaceable unit to the reservoir"),
    ]),
    "wind turbine blade": ("A rotor vane for a wind energy plant", "Wind turbine blades are long composite shells that must survive weather for decades.", [
        ("a copper mesh under the gel coat carries lightning strikes to a cable inside the blade",
         "a conductive grid embedded beneath the outer surface for conducting atmospheric discharges to a down conductor"),
        ("small vortex generators glued near the root keep the airflow attached at low speed",
         "flow-control fins mounted on the suction side adjacent the hub end to delay separation"),
        ("a serrated trailing edge like a saw blade lowers the noise the blade makes",
         "a toothed rear margin for reducing aeroacoustic emission"),
        ("warm air from heaters in the hub is blown through the blade so ice melts off the leading edge",
         "a de-icing arrangement circulating heated gas through the interior cavity"),
        ("the blade is made of two halves joined on site with bolts so that it fits on a truck",
         "a segmented vane comprising sections connected by fasteners at an installation site"),
        ("optical fibres in the spar cap measure how far the blade bends",
         "fibre-optic strain sensors integrated in the load-carrying laminate for monitoring deflection"),
    ]),
}
BOILERPLATE = (
    "The following description refers to the accompanying drawings, in which like reference numerals denote like parts.",
    "It will be appreciated that the embodiments described are examples only and that modifications may be made without departing from the scope of the invention.",
    "Terms such as upper, lower, front and rear are used for convenience of description and do not limit the orientation of the device in use.",
    "The invention may be manufactured with conventional tooling and assembled by a person skilled in the art using ordinary methods.",
    "Where a range of values is given, each intermediate value is also disclosed unless the context clearly dictates otherwise.",
    "The word comprising does not exclude other elements or steps, and the indefinite article does not exclude a plurality.",
    "Features described in connection with one embodiment may be combined with features of any other embodiment.",
    "The drawings are schematic and are not to scale; some dimensions are exaggerated for clarity.",
    "Materials named in this description are examples, and equivalent materials known in the field may be substituted.",
    "An object of the invention is to provide an arrangement that is simple, reliable and inexpensive to produce in large numbers.",
)
ASSIGNEES = ("Northwind Industries", "Kestrel Works", "Alder & Finch", "Saltmarsh Technologies", "Oakridge Labs", "Bramble GmbH")


def build_patents(n_patents: int = 48, n_queries: int = 30, seed: int = 0) -> Dataset:
    """A constructed patent collection with claim queries (see the module docstring).

    Returns a :class:`Dataset` (split ``"test"``) whose ``meta`` holds ``assignee`` (doc id ->
    company, for landscaping), ``features`` (doc id -> its three feature numbers) and
    ``constructed=True``.
    """
    if n_patents < len(FIELDS) or n_queries < 1:
        raise ValueError(f"build_patents(n_patents={n_patents}, n_queries={n_queries}): need n_patents >= {len(FIELDS)} and n_queries >= 1")
    rng = np.random.default_rng(seed)
    fields = list(FIELDS)
    corpus, feats, field_of, assignee = {}, {}, {}, {}
    for i in range(n_patents):
        field = fields[i % len(fields)]
        _, background, features = FIELDS[field]
        mine = sorted(rng.choice(6, 3, replace=False).tolist())
        known = rng.choice([f for f in range(6) if f not in mine], 2, replace=False)
        pid = f"P{i:04d}"
        body = [f"A {field} is disclosed.", "BACKGROUND.", background]
        body += [f"It is known to provide a design in which {features[f][0]}." for f in known]
        body += ["DETAILED DESCRIPTION."] + [BOILERPLATE[j] for j in rng.permutation(len(BOILERPLATE))]
        body += [f"In one embodiment, {features[f][0]} (reference numeral {10 * (n + 1)})." for n, f in enumerate(rng.permutation(mine))]
        body.append(BOILERPLATE[int(rng.integers(len(BOILERPLATE)))])
        corpus[pid] = {"title": f"{field.capitalize()} {i}", "text": " ".join(body)}
        feats[pid], field_of[pid], assignee[pid] = tuple(mine), field, ASSIGNEES[int(rng.integers(len(ASSIGNEES)))]
    queries, qrels = {}, {}
    for n, target in enumerate(rng.choice(list(corpus), n_queries, replace=n_queries > n_patents)):
        field, want = field_of[target], set(feats[target])
        preamble, _, features = FIELDS[field]
        claims = [features[f][1] for f in rng.permutation(sorted(want))]
        qid = f"C{n:04d}"
        queries[qid] = f"{preamble}, comprising {claims[0]}; {claims[1]}; and {claims[2]}."
        qrels[qid] = {d: {3: 2, 2: 1}.get(len(want & set(feats[d])), 0) for d in corpus if field_of[d] == field}
    meta = {"title": "prior-art search (CONSTRUCTED patents)", "assignee": assignee, "features": feats, "constructed": True}
    return Dataset("prior-art (constructed)", corpus, queries, qrels, split="test", meta=meta)


def maxp_dense_run(dataset: Dataset, model, size: int = 128, stride: int = 64, k: int = 100,
                   **encode_kwargs) -> dict[str, dict[str, float]]:
    """Dense retrieval of long documents by their best window (MaxP, Dai & Callan 2019, "Deeper Text
    Understanding for IR with Contextual Neural Language Modeling"):

        score(q, d) = max over windows w of d of sim(E(q), E(title(d) + w))

    Windows are ``size`` words every ``stride`` words (:func:`lessonlib.data.augment.passages`);
    each carries its document's title. A truncating encoder instead reads only the first window.
    """
    if size < 1 or not 1 <= stride <= size or k < 1:
        raise ValueError(f"maxp_dense_run(size={size}, stride={stride}, k={k}): need size >= 1, 1 <= stride <= size, k >= 1")
    doc_ids, units, owner = dataset.doc_ids, [], []
    for i, d in enumerate(doc_ids):
        title = dataset.corpus[d].get("title", "")
        for w in passages(dataset.corpus[d].get("text", ""), "window", size, stride) or [""]:
            units.append(f"{title} {w}".strip())
            owner.append(i)
    owner_arr = np.asarray(owner, np.int64)
    d_emb = encode(model, units, kind="doc", **encode_kwargs)
    qids = dataset.query_ids
    q_emb = encode(model, [dataset.queries[q] for q in qids], kind="query", **{**encode_kwargs, "show_progress": False})
    window_scores = dense_scores(q_emb, d_emb)
    scores = np.vstack([aggregate(row, owner_arr, len(doc_ids), "maxp") for row in window_scores])
    return scores_to_run(qids, doc_ids, scores, k)


def landscape(run: Mapping[str, float], assignee: Mapping[str, str], k: int = 10) -> list[tuple[str, int]]:
    """Competitive-intelligence view of one query's ranking: (company, documents in the top ``k``),
    most first (ties by name). Patent landscaping counts who holds the art closest to a claim."""
    if k < 1:
        raise ValueError(f"landscape(k={k}): k must be >= 1")
    counts = Counter(assignee[d] for d in rank_documents(run, k))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

