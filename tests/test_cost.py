"""Cost model, energy meter (RAPL and estimate), peak memory, query-type bucketing."""

from __future__ import annotations

import numpy as np
import pytest

from lessonlib.evaluation import cost
from lessonlib.core.runs import rank_documents
from lessonlib.data import load_dataset


def test_cost_per_1000_queries_by_hand():
    hw = cost.Hardware("box", usd_per_hour=3.6, watts=100.0, parallel=2)
    out = cost.cost_per_1000_queries(50.0, hw, grams_co2_per_kwh=500.0, usd_per_kwh=0.2)
    assert out["machine_s"] == pytest.approx(25.0)  # 1000 queries * 50 ms / 2 at once
    assert out["usd"] == pytest.approx(25.0 / 3600 * 3.6)
    assert out["kwh"] == pytest.approx(25.0 * 100 / 3.6e6)
    assert out["g_co2"] == pytest.approx(out["kwh"] * 500)
    assert out["usd_energy"] == pytest.approx(out["kwh"] * 0.2)
    with pytest.raises(ValueError, match="parallel"):
        cost.Hardware("x", 1.0, 1.0, parallel=0)


def test_machines_for():
    assert cost.machines_for(qps=100, ms_per_query=30, parallel=1, utilisation=0.5) == 6  # 100*0.03/0.5
    assert cost.machines_for(qps=1, ms_per_query=1) == 1
    with pytest.raises(ValueError, match="utilisation"):
        cost.machines_for(10, 10, utilisation=0)


def _fake_rapl(root, start, max_range=1000):
    for name, value in [("intel-rapl:0", start), ("intel-rapl:0:0", 5), ("intel-rapl:1", start)]:
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "energy_uj").write_text(str(value))
        (d / "max_energy_range_uj").write_text(str(max_range))


def test_energy_meter_reads_rapl_packages_and_handles_wraparound(tmp_path):
    _fake_rapl(tmp_path, 100)
    with cost.EnergyMeter(root=tmp_path) as m:
        (tmp_path / "intel-rapl:0" / "energy_uj").write_text("400")  # +300 uJ
        (tmp_path / "intel-rapl:0:0" / "energy_uj").write_text("999")  # a sub-domain: not counted twice
        (tmp_path / "intel-rapl:1" / "energy_uj").write_text("50")  # wrapped: 1000 - 100 + 50 = 950 uJ
    assert m.source == "rapl"
    assert m.joules == pytest.approx((300 + 950) / 1e6)


def test_energy_meter_estimates_from_cpu_time_without_rapl(tmp_path):
    with cost.EnergyMeter(root=tmp_path / "absent", watts_per_core=10.0) as m:
        x = 0
        for i in range(300_000):
            x += i * i
    assert m.source == "estimate"
    assert m.cpu_seconds > 0
    assert m.joules == pytest.approx(10.0 * m.cpu_seconds)
    assert m.watts == pytest.approx(m.joules / m.seconds)


def test_peak_memory_sees_an_allocation():
    with cost.PeakMemory() as mem:
        block = np.ones(60_000_000 // 8)  # touched pages: 60 MB resident
        del block
    assert mem.peak_bytes > 40_000_000


def test_tensor_bytes_counts_parameters():
    import torch

    lin = torch.nn.Linear(256, 256)
    assert cost.tensor_bytes(lin) >= (256 * 256 + 256) * 4
    q = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(lin), {torch.nn.Linear}, dtype=torch.qint8)
    assert cost.tensor_bytes(q) < 0.5 * cost.tensor_bytes(lin)


def test_lexical_overlap_by_hand():
    # content terms of the query after stop words + stemming: {vitamin, reduc, fractur}
    assert cost.lexical_overlap("Vitamin D reduces fractures", ["vitamin levels", "fracture rates"]) == pytest.approx(2 / 3)
    assert cost.lexical_overlap("the of and", ["anything"]) == 0.0


def test_quantile_buckets_are_terciles():
    values = {f"q{i}": float(i) for i in range(1, 10)}
    b = cost.quantile_buckets(values)
    assert [b[f"q{i}"] for i in range(1, 10)] == ["low"] * 3 + ["mid"] * 3 + ["high"] * 3
    tied = cost.quantile_buckets({"a": 0.1, "b": 1.0, "c": 1.0, "d": 1.0, "e": 0.2, "f": 1.0})
    assert tied["b"] == tied["c"] == tied["d"] == tied["f"] == "high" and tied["a"] == "low"


def test_query_types_reads_the_sample_file():
    ds = load_dataset("sample", "test")
    types = cost.query_types(ds)
    assert set(types) == set(ds.queries)
    rows = [line.split("\t") for line in (ds.meta and open(f"{ds.meta['path']}/query_types.tsv").read().splitlines()[1:])]
    expected = {r[0]: r[1] for r in rows if r[0] in ds.queries}
    assert types == expected
    assert {"plain", "paraphrase", "identifier", "long", "near_duplicate"} == set(types.values())


def test_query_types_proxy_without_a_types_file():
    ds = load_dataset("sample", "test")
    ds.meta = {k: v for k, v in ds.meta.items() if k != "path"}
    types = cost.query_types(ds, proxy="overlap")
    feats = cost.query_traits(ds)
    low = [feats[q]["overlap"] for q, t in types.items() if t == "low overlap"]
    high = [feats[q]["overlap"] for q, t in types.items() if t == "high overlap"]
    assert low and high and max(low) <= min(high)
    assert set(types.values()) <= {"low overlap", "mid overlap", "high overlap"}
    with pytest.raises(ValueError, match="proxy"):
        cost.query_types(ds, proxy="colour")


def test_per_bucket_means():
    out = cost.per_bucket({"a": 1.0, "b": 0.0, "c": 0.5, "z": 9.0}, {"a": "x", "b": "x", "c": "y"})
    assert out == {"x": (0.5, 2), "y": (0.5, 1)}


def test_rerank_depth_within():
    assert cost.rerank_depth_within(100.0, 2.5, overhead_ms=10.0) == 36
    assert cost.rerank_depth_within(5.0, 2.5, overhead_ms=10.0) == 0
    with pytest.raises(ValueError, match="ms_per_pair"):
        cost.rerank_depth_within(10.0, 0.0)


class _FakeCE:
    """What pair_token_counts needs of a CrossEncoder: a tokenizer, max_length, the query cut."""

    def __init__(self, max_length):
        from transformers import AutoTokenizer

        from lessonlib.core.hub import resolve_model

        self.tokenizer = AutoTokenizer.from_pretrained(resolve_model("sentence-transformers/all-MiniLM-L6-v2"))
        self.max_length = max_length

    def _cut_query(self, q):
        return q


def test_pair_token_counts_counts_cls_q_sep_d_sep_and_caps_at_max_length():
    ce = _FakeCE(max_length=12)
    q, d_short, d_long = "heart attack", "aspirin helps", " ".join(["word"] * 40)
    n = cost.pair_token_counts(ce, [q, q], [d_short, d_long])
    q_len = len(ce.tokenizer(q, add_special_tokens=False)["input_ids"])
    d_len = len(ce.tokenizer(d_short, add_special_tokens=False)["input_ids"])
    assert n[0] == q_len + d_len + 3
    assert n[1] == 12


def test_metered_stage_and_cascade_run_count_what_was_scored():
    from lessonlib.retrieval.candidates import Candidates

    cand = Candidates(["q"] * 4 + ["r"] * 2, ["a", "b", "c", "d", "e", "f"], [""] * 6, [""] * 6, np.zeros(6))
    cheap = np.array([4.0, 3.0, 2.0, 1.0, 1.0, 2.0])
    dear = np.array([0.0, 5.0, 1.0, 9.0, 3.0, 0.0])
    windows = np.array([2, 3, 4, 5, 1, 1])
    run, spent = cost.cascade_run(cand, [cheap, dear], [np.ones(6), windows], keep=[2])
    assert spent == [6.0, 2 + 3 + 1 + 1]  # stage 2 scored the best 2 of each query: a, b and f, e
    assert rank_documents(run["q"]) == ["b", "a", "c", "d"]  # the dear stage re-orders the survivors, the rest below
    assert rank_documents(run["r"]) == ["e", "f"]
    run, spent = cost.cascade_run(cand, [cheap, dear], [np.ones(6), windows], keep=[2], drop_below=2.5)
    assert spent == [6.0, 2 + 3]  # early termination: only a (4) and b (3) score >= 2.5 at stage 0
    assert rank_documents(run["q"]) == ["b", "a", "c", "d"] and rank_documents(run["r"]) == ["f", "e"]
    with pytest.raises(ValueError, match="one value per stage"):
        cost.cascade_run(cand, [cheap, dear], [np.ones(6), windows], keep=[])
    st = cost.MeteredStage([1.0, 2.0], [3.0, 4.0])
    assert st([1]).tolist() == [2.0] and st.cost == 4.0 and st.calls == 1


def test_cheapest_within_tolerance():
    quality, price = [0.70, 0.69, 0.60, 0.695], [10.0, 3.0, 1.0, 3.0]
    assert cost.cheapest_within(quality, price, tolerance=0.01) == 3  # cost 3, the better of the two
    assert cost.cheapest_within(quality, price, tolerance=0.0) == 0
    assert cost.cheapest_within(quality, price, tolerance=0.2) == 2
    with pytest.raises(ValueError, match="1-D"):
        cost.cheapest_within([1.0], [1.0, 2.0])
