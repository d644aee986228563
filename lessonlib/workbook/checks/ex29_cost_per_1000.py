"""Exercise 29 (21_cross_vs_dual §5.2): what 1,000 queries cost, and the fleet for a query rate."""

from __future__ import annotations

import math

import numpy as np

from lessonlib.evaluation.cost import Hardware, cost_per_1000_queries, machines_for
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def cases(rng: np.random.Generator) -> list[Case]:
    out = [
        Case("a cross-encoder on a 2-vCPU VM (notebook 21's prices)",
             {"ms_per_query": 2400.0, "usd_per_hour": 0.085, "watts": 14.6, "parallel": 1, "qps": 100.0}),
        Case("a dual encoder on one H100 (8.3 ms per query)",
             {"ms_per_query": 8.3, "usd_per_hour": 2.5, "watts": 700.0, "parallel": 1, "qps": 100.0}),
        Case("throughput: 8 queries served at once",
             {"ms_per_query": 55.5, "usd_per_hour": 2.5, "watts": 700.0, "parallel": 8, "qps": 1000.0}),
        Case("a machine you already own: rental 0, energy still counts",
             {"ms_per_query": 120.0, "usd_per_hour": 0.0, "watts": 65.0, "parallel": 1, "qps": 10.0}),
        Case("a dirtier grid (800 g CO2 per kWh)",
             {"ms_per_query": 300.0, "usd_per_hour": 0.5, "watts": 200.0, "parallel": 2, "qps": 50.0, "grams_co2_per_kwh": 800.0}),
        Case("a light load still needs one machine",
             {"ms_per_query": 5.0, "usd_per_hour": 1.0, "watts": 100.0, "parallel": 1, "qps": 1.0}),
        Case("a load just over one machine's capacity: 2 machines",
             {"ms_per_query": 10.0, "usd_per_hour": 1.0, "watts": 100.0, "parallel": 1, "qps": 61.0}),
        Case("no headroom (utilisation 1.0)",
             {"ms_per_query": 40.0, "usd_per_hour": 3.0, "watts": 300.0, "parallel": 4, "qps": 250.0, "utilisation": 1.0}),
        Case("zero latency: zero cost, still one machine",
             {"ms_per_query": 0.0, "usd_per_hour": 2.0, "watts": 300.0, "parallel": 1, "qps": 100.0}),
    ]
    for i in range(2):
        out.append(Case(f"random prices and latencies {i + 1}",
                        {"ms_per_query": float(np.round(rng.uniform(1, 500), 2)), "usd_per_hour": float(np.round(rng.uniform(0.05, 5), 3)),
                         "watts": float(np.round(rng.uniform(10, 800), 1)), "parallel": int(rng.integers(1, 9)),
                         "qps": float(np.round(rng.uniform(1, 2000), 1))}))
    return out


def reference(ms_per_query, usd_per_hour, watts, parallel=1, qps=100.0, grams_co2_per_kwh=400.0, utilisation=0.6):
    c = cost_per_1000_queries(ms_per_query, Hardware("machine", usd_per_hour, watts, parallel), grams_co2_per_kwh)
    return {"machine_s": c["machine_s"], "usd": c["usd"], "kwh": c["kwh"], "g_co2": c["g_co2"],
            "machines": machines_for(qps, ms_per_query, parallel, utilisation)}


def _cost(ms, usd_h, watts, parallel, qps, g, u, per_parallel=True, kwh_per_joule=1 / 3.6e6, headroom=True, round_up=True):
    machine_s = ms / (parallel if per_parallel else 1)
    kwh = machine_s * watts * kwh_per_joule
    load = qps * ms / 1000 / (parallel * (u if headroom else 1.0))
    machines = max(1, math.ceil(load) if round_up else int(load))
    return {"machine_s": machine_s, "usd": machine_s / 3600 * usd_h, "kwh": kwh, "g_co2": kwh * g, "machines": machines}


def wrong_ignores_parallel(ms_per_query, usd_per_hour, watts, parallel=1, qps=100.0, grams_co2_per_kwh=400.0, utilisation=0.6):
    return _cost(ms_per_query, usd_per_hour, watts, parallel, qps, grams_co2_per_kwh, utilisation, per_parallel=False)


def wrong_kwh_per_1000(ms_per_query, usd_per_hour, watts, parallel=1, qps=100.0, grams_co2_per_kwh=400.0, utilisation=0.6):
    return _cost(ms_per_query, usd_per_hour, watts, parallel, qps, grams_co2_per_kwh, utilisation, kwh_per_joule=1 / 1000)


def wrong_rounds_down(ms_per_query, usd_per_hour, watts, parallel=1, qps=100.0, grams_co2_per_kwh=400.0, utilisation=0.6):
    return _cost(ms_per_query, usd_per_hour, watts, parallel, qps, grams_co2_per_kwh, utilisation, round_up=False)


def wrong_no_headroom(ms_per_query, usd_per_hour, watts, parallel=1, qps=100.0, grams_co2_per_kwh=400.0, utilisation=0.6):
    return _cost(ms_per_query, usd_per_hour, watts, parallel, qps, grams_co2_per_kwh, utilisation, headroom=False)


register(ExerciseCheck(
    id="cost_per_1000_queries", title="What 1,000 queries cost: machine time, dollars, energy, CO2 and the fleet for a query rate",
    practises="21_cross_vs_dual — 5 · Cost per 1,000 queries (Day 10.2 §5.2)",
    cases=cases, reference=reference,
    hint="machine_s = ms_per_query / parallel (1000 queries x ms / 1000); usd = machine_s / 3600 * usd_per_hour; "
         "kwh = machine_s * watts / 3.6e6; g_co2 = kwh * grams_co2_per_kwh; machines = max(1, ceil(qps * ms / 1000 / "
         "(parallel * utilisation))).",
    wrong={
        "a machine serving `parallel` queries at once is busy ms_per_query / parallel per query: divide by parallel.":
            wrong_ignores_parallel,
        "kWh = watts x seconds / 3.6e6 (1 kWh = 1000 W for 3600 s), not watts x seconds / 1000.": wrong_kwh_per_1000,
        "round the number of machines UP: a fraction of a machine's load needs a whole machine.": wrong_rounds_down,
        "size the fleet for qps x seconds per query / (parallel x utilisation): the utilisation leaves headroom for "
        "bursts.": wrong_no_headroom,
    },
    blocks=(cost_per_1000_queries, machines_for, Hardware),
    atol=1e-9,
))
