"""Build the workbook's sample collection (BEIR layout) from the hand-written facts in topics.py.

Deterministic: the same files come out on every run (seed 0). Run from anywhere:

    python data/sample/build.py

Writes corpus.jsonl, queries.jsonl, qrels/train.tsv, qrels/test.tsv and query_types.tsv beside
this file. See README.md for what the collection is meant to teach.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from topics import T  # noqa: E402

SEED = 0
N_BASE, N_TWINS, N_LONG = 14, 4, 2  # per topic: items with a short passage, near-duplicate twins, long guides
# queries per topic and type (near_duplicate: one per twin pair; long: one per guide)
N_PLAIN, N_IDENT, N_PARA = 2, 2, 8
FIRST = ["Al", "Bel", "Cor", "Dun", "El", "Fal", "Gar", "Hal", "Ist", "Kel", "Lor", "Mar", "Nor", "Orr", "Pel",
         "Quen", "Ros", "Sel", "Tor", "Ul", "Vel", "Wyn", "Ash", "Brin", "Cal", "Dar", "Ever", "Fen", "Hol", "Ivel"]
SECOND = ["ban", "ford", "mere", "wick", "ton", "dale", "ley", "brook", "hurst", "mont", "row", "stead", "by",
          "ham", "combe", "thorpe"]
TITLES = {"houseplants": "Houseplants", "bicycle": "Bicycle components", "kitchen": "Kitchen appliances",
          "harbour": "Fenwick harbour bylaws", "genes": "Genes of the moss Tarnia", "bridges": "Bridges of Aldwick",
          "lighthouses": "Lighthouses of the Corrin coast", "errors": "Quillon database errors",
          "railway": "Westmarch railway lines", "cheese": "Marl valley cheeses", "birds": "Birds of the Orvel marshes",
          "medicines": "Orlandian medicines", "volcanoes": "Volcanoes of the Harth islands", "boardgames": "Hollin board games",
          "coffee": "Brannock coffees", "dinghies": "Sailing dinghy classes", "minerals": "Minerals of the Garrow museum",
          "bread": "Kettering bread recipes", "trails": "Trails of the Brack hills", "comets": "Comets",
          "labour": "The Orlandian labour code", "paintings": "The Halloway gallery", "tea": "Larchmont teas"}
LONG_OPENINGS = ["This guide collects notes on {title} that readers have asked about, one entry after another.",
                 "What follows is a long survey of {title}, written for visitors who want more than a leaflet."]
LONG_CLOSINGS = ["The last entry in this guide is the {name}, added only in the latest edition.",
                 "Finally, a late addition to the survey: the {name}."]


class Builder:
    def __init__(self, seed: int = SEED):
        self.rng = random.Random(seed)
        self.names = [a + b for a, b in itertools.product(FIRST, SECOND)]
        self.rng.shuffle(self.names)
        self.used_ids: set[str] = set()
        self.years = list(range(1620, 2011))
        self.rng.shuffle(self.years)

    # ---------------------------------------------------------------- names and identifiers
    def name(self, topic: dict) -> str:
        base = self.names.pop()
        if topic.get("glue"):
            return base + "ite"
        if topic.get("bare"):
            return base
        suffix = self.rng.choice(topic["suffixes"])
        return f"{base} {suffix}"

    def ident(self, topic: dict) -> str:
        L = "ABCDEFGHJKLMNPRSTVWXZ"
        while True:
            fields = {
                "d2": f"{self.rng.randint(10, 99)}", "d3": f"{self.rng.randint(100, 999)}",
                "d4": f"{self.rng.randint(1000, 9999)}", "d5": f"{self.rng.randint(10000, 99999)}",
                "d6": f"{self.rng.randint(100000, 999999)}",
                "L1": self.rng.choice(L), "L1b": self.rng.choice(L), "L2": "".join(self.rng.choices(L, k=2)), "L3": "".join(self.rng.choices(L, k=3)),
                "year": "",
            }
            if "{year}" in topic["id_fmt"]:
                fields["year"] = str(self.years.pop())
            value = topic["id_fmt"].format(**fields)
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value

    # ---------------------------------------------------------------- text
    def ref(self, topic: dict, name: str, capital: bool) -> str:
        if self.rng.random() < 0.75:
            return "It" if capital else "it"
        named = self.named(topic, name)
        return named[0].upper() + named[1:] if capital else named

    def named(self, topic: dict, name: str) -> str:
        if topic.get("bare") or topic.get("glue") or topic["key"] in {"cheese", "comets", "coffee", "tea", "medicines"}:
            return name
        return "the " + name

    def sentence(self, topic: dict, template: str, name: str) -> str:
        text = template.replace("{It}", self.ref(topic, name, True)).replace("{it}", self.named(topic, name))
        return text[0].upper() + text[1:]

    def describe(self, topic: dict, ent: dict, style: dict) -> str:
        """Intro + the three attribute sentences (order and wording from ``style``)."""
        parts = [topic["intro"][style["intro"]].format(name=ent["name"], id=ent["id"])]
        parts[0] = parts[0][0].upper() + parts[0][1:]
        for a in style["order"]:
            attr = topic["attrs"][a]
            say = attr["values"][ent["values"][a]]["say"][style["say"][a]]
            parts.append(self.sentence(topic, say, ent["name"]))
        return " ".join(parts)

    def new_style(self, topic: dict) -> dict:
        order = [0, 1, 2]
        self.rng.shuffle(order)
        return {"intro": self.rng.randrange(2), "order": order, "say": [self.rng.randrange(2) for _ in range(3)],
                "filler": self.rng.sample(range(len(topic["filler"])), 2), "n_filler": self.rng.choice([0, 1, 1, 2])}


def build(out: Path = HERE, seed: int = SEED) -> dict:
    b = Builder(seed)
    rng = b.rng
    corpus: list[dict] = []
    queries: list[tuple[str, str, str, str]] = []  # qid, text, type, topic
    qrels: dict[str, dict[str, int]] = {}
    split_of: dict[str, str] = {}
    qn = itertools.count(1)

    for topic in T:
        key = topic["key"]
        attrs = topic["attrs"]
        vkeys = [list(a["values"]) for a in attrs]
        combos = list(itertools.product(*vkeys))
        rng.shuffle(combos)
        ents = []  # each: name, id, values, doc, kind, style, (origin)
        for i in range(N_BASE + N_LONG):
            ents.append({"name": b.name(topic), "id": b.ident(topic), "values": None,
                         "kind": "base" if i < N_BASE else "longonly", "style": b.new_style(topic)})
        # values: the first N_TWINS items each take a combination and reserve a twin's (one value changed)
        # before the other items take theirs, so that a free twin combination always exists
        free = list(combos)
        twin_vals = []
        for i, e in enumerate(ents):
            e["values"] = list(free.pop(0))
            if i < N_TWINS:
                orig = e["values"]
                options = [(a, orig[:a] + [v] + orig[a + 1:]) for a in range(3) for v in vkeys[a] if v != orig[a]]
                a, vals = rng.choice([(a, v) for a, v in options if tuple(v) in free])
                free.remove(tuple(vals))
                twin_vals.append((a, vals))
        for t, (a, vals) in enumerate(twin_vals):
            ents.append({"name": b.name(topic), "id": b.ident(topic), "values": vals, "kind": "twin",
                         "style": ents[t]["style"], "twin_of": t, "diff": a})

        # ---- short documents (base and twins)
        doc_of: dict[int, str] = {}
        mentions: dict[str, list[int]] = {}  # doc id -> entity indices described in it (primary first)
        n = 0
        for i, e in enumerate(ents):
            if e["kind"] == "longonly":
                continue
            n += 1
            doc_id = f"{key}-{n:02d}"
            st = e["style"]
            text = b.describe(topic, e, st)
            fill = " ".join(topic["filler"][j] for j in st["filler"][: st["n_filler"]])
            corpus.append({"_id": doc_id, "title": e["name"], "text": (text + " " + fill).strip()})
            doc_of[i] = doc_id
            mentions[doc_id] = [i]
        # ---- long documents: an opening, ten other entries and background, the long-only entity last
        long_docs = []
        for k in range(N_LONG):
            li = N_BASE + k
            others = rng.sample(range(N_BASE), 10)
            paras = [LONG_OPENINGS[k % 2].format(title=TITLES[key].lower() if key not in {"comets"} else "comets")]
            fillers = list(topic["filler"])
            rng.shuffle(fillers)
            for j, oi in enumerate(others):
                alt = dict(ents[oi]["style"])
                alt = {**alt, "say": [1 - s for s in alt["say"]], "intro": 1 - alt["intro"]}
                paras.append(b.describe(topic, ents[oi], alt))
                if j < len(fillers):
                    paras.append(fillers[j])
            paras.append(LONG_CLOSINGS[k % 2].format(name=ents[li]["name"]))
            paras.append(b.describe(topic, ents[li], ents[li]["style"]))
            doc_id = f"{key}-guide-{k + 1}"
            text = " ".join(paras)
            words_before = len(" ".join(paras[:-2]).split())
            assert len(text.split()) > 400 and words_before > 300, (doc_id, len(text.split()), words_before)
            corpus.append({"_id": doc_id, "title": f"{TITLES[key]}: a guide (part {k + 1})", "text": text})
            doc_of[li] = doc_id
            mentions[doc_id] = [li] + others
            long_docs.append(doc_id)

        topic_docs = list(mentions)

        def judge(primary_grade, secondary_grade, avoid=()):
            """Grades from a predicate over entities: primary_grade(i) for a doc's own entity."""
            out: dict[str, int] = {}
            for d, ents_in in mentions.items():
                g = primary_grade(ents_in[0])
                if g is None and d in long_docs:
                    g = max((secondary_grade(o) for o in ents_in[1:] if secondary_grade(o) is not None), default=None)
                if g is not None:
                    out[d] = g
            zeros = [d for d in topic_docs if d not in out and d not in avoid]
            for d in rng.sample(zeros, min(2, len(zeros))):
                out[d] = 0
            return out

        def add(text, qtype, grades):
            qid = f"q{next(qn):03d}"
            queries.append((qid, text, qtype, key))
            qrels[qid] = grades

        def matches(i, vals):
            return sum(x == y for x, y in zip(ents[i]["values"], vals))

        base_pool = list(range(N_TWINS, N_BASE))  # entities without a twin
        rng.shuffle(base_pool)
        plain_ids, ident_ids = base_pool[:N_PLAIN], base_pool[N_PLAIN:N_PLAIN + N_IDENT]
        para_pool = base_pool[N_PLAIN + N_IDENT:] + list(range(N_TWINS))  # twinned items may be described too
        rng.shuffle(para_pool)
        # plain: named entity, question about one attribute
        for i in plain_ids:
            a = rng.randrange(3)
            add(attrs[a]["q"].format(name=ents[i]["name"]), "plain",
                judge(lambda j, i=i: 3 if j == i else None, lambda j, i=i: 2 if j == i else None))
        # identifier: the entity's number, with at most one other word
        id_templates = ["{id}", "{id} {noun}", "{noun} {id}", "{id}?", "what is {id}"]
        for i in ident_ids:
            text = rng.choice(id_templates).format(id=ents[i]["id"], noun=topic["noun"].split()[0])
            add(text, "identifier", judge(lambda j, i=i: 3 if j == i else None, lambda j, i=i: 2 if j == i else None))
        # paraphrase: the entity's three facts in other words, no name; no template word occurs in the corpus
        para_templates = ["{pn}: {p[0]}; {p[1]}; {p[2]}", "seeking {a} {pn} - {p[0]}, {p[1]}, {p[2]}",
                          "hunting for {a} {pn}? {p[0]}; {p[1]}; {p[2]}", "{p[0]}, {p[1]}, {p[2]} ({pn})"]
        article = "an" if topic["noun"][0] in "aeiou" else "a"
        for i in para_pool[:N_PARA]:
            vals = ents[i]["values"]
            order = rng.sample(range(3), 3)
            p = [attrs[a]["values"][vals[a]]["para"] for a in order]
            text = rng.choice(para_templates).format(pn=topic["noun"], a=article, p=p)
            add(text, "paraphrase", judge(lambda j, v=vals: {3: 3, 2: 1}.get(matches(j, v)),
                                          lambda j, v=vals: 2 if matches(j, v) == 3 else None))
        # near duplicate: the item and its twin share two facts, stated in the passages' words; the fact
        # that tells them apart is stated in other words. Only the exact item is relevant (3, or 2 for a
        # guide describing it); the twin is judged 0 (the hard negative)
        for t in range(N_TWINS):
            twin = N_BASE + N_LONG + t
            target, other = (t, twin) if rng.random() < 0.5 else (twin, t)
            vals, diff = ents[target]["values"], ents[twin]["diff"]
            order = rng.sample(range(3), 3)
            p = [attrs[a]["values"][vals[a]]["para" if a == diff else "plain"] for a in order]
            text = rng.choice(["{n}: {p[0]}, {p[1]}, {p[2]}", "{n} that is {p[0]}, {p[1]} and {p[2]}",
                               "which {n}: {p[0]}; {p[1]}; {p[2]}"]).format(n=topic["noun"], p=p)
            grades = judge(lambda j, v=vals: 3 if matches(j, v) == 3 else None, lambda j, v=vals: 2 if matches(j, v) == 3 else None)
            grades[doc_of[other]] = 0  # the hard negative, judged not relevant
            add(text, "near_duplicate", grades)
        # long: a question about the entity that only the end of a long guide describes
        for k in range(N_LONG):
            li = N_BASE + k
            a = rng.randrange(3)
            add(attrs[a]["q"].format(name=ents[li]["name"]), "long",
                judge(lambda j, li=li: 3 if j == li else None, lambda j: None))

    # ---- splits: within each topic and type, alternate test / train (test first on odd topics)
    by_group: dict[tuple[str, str], list[str]] = {}
    for qid, _, qtype, key in queries:
        by_group.setdefault((key, qtype), []).append(qid)
    for gi, (group, qids) in enumerate(sorted(by_group.items())):
        for j, qid in enumerate(qids):
            split_of[qid] = "test" if (j + gi) % 2 == 0 else "train"

    # ---- write
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as f:
        for d in corpus:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    with open(out / "queries.jsonl", "w", encoding="utf-8") as f:
        for qid, text, _, _ in queries:
            f.write(json.dumps({"_id": qid, "text": text}, ensure_ascii=False) + "\n")
    for split in ("train", "test"):
        with open(out / "qrels" / f"{split}.tsv", "w", encoding="utf-8") as f:
            f.write("query-id\tcorpus-id\tscore\n")
            for qid, _, _, _ in queries:
                if split_of[qid] == split:
                    for d, g in qrels[qid].items():
                        f.write(f"{qid}\t{d}\t{g}\n")
    with open(out / "query_types.tsv", "w", encoding="utf-8") as f:
        f.write("query-id\ttype\ttopic\tsplit\n")
        for qid, _, qtype, key in queries:
            f.write(f"{qid}\t{qtype}\t{key}\t{split_of[qid]}\n")
    return {"docs": len(corpus), "queries": len(queries), "topics": len(T),
            "test": sum(s == "test" for s in split_of.values())}


if __name__ == "__main__":
    print(build())
