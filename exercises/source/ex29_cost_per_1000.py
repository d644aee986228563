# exercise: cost_per_1000_queries
# function: cost_per_1000_queries
# practises: 21_cross_vs_dual — 5 · Cost per 1,000 queries (Day 10.2 §5.2)
# title: What 1,000 queries cost: machine time, dollars, energy, CO2 and the fleet for a query rate

# %% [markdown]
# # Exercise 29 — What 1,000 queries cost: machine time, dollars, energy, CO₂ and a fleet size
#
# **Practises:** notebook `21_cross_vs_dual`, section "5 · Cost per 1,000 queries" — Day 10.2 §5.2 (efficiency
# evaluation: throughput, energy, cost).
#
# A measured latency becomes a cost through stated prices (Strubell, Ganesh & McCallum, 2019, "Energy and Policy
# Considerations for Deep Learning in NLP"; Henderson et al., 2020, on reporting energy). A machine rented at
# `usd_per_hour`, drawing `watts` while busy and serving `parallel` queries at once, spends on 1,000 queries of
# `ms_per_query` busy milliseconds each:
#
# $$\text{machine\_s} = \frac{1000 \cdot \text{ms\_per\_query} / 1000}{\text{parallel}}, \quad
#   \text{usd} = \frac{\text{machine\_s}}{3600}\,\text{usd\_per\_hour}, \quad
#   \text{kwh} = \frac{\text{machine\_s} \cdot \text{watts}}{3.6\times 10^{6}}, \quad
#   \text{g\_co2} = \text{kwh} \cdot \text{grams\_co2\_per\_kwh}.$$
#
# To serve `qps` queries per second, each machine runs at most at `utilisation` (headroom for bursts and tail
# latency), so the fleet is
#
# $$\text{machines} = \max\Big(1,\ \Big\lceil \frac{\text{qps} \cdot \text{ms\_per\_query} / 1000}{\text{parallel} \cdot \text{utilisation}} \Big\rceil\Big).$$
#
# Write `cost_per_1000_queries(ms_per_query, usd_per_hour, watts, parallel=1, qps=100.0, grams_co2_per_kwh=400.0,
# utilisation=0.6)` → `{"machine_s": float, "usd": float, "kwh": float, "g_co2": float, "machines": int}`.
#
# `check("cost_per_1000_queries", cost_per_1000_queries)` compares with
# `lessonlib.evaluation.cost.cost_per_1000_queries` and `machines_for` on named hidden cases: "a cross-encoder on a
# 2-vCPU VM (notebook 21's prices)", "a dual encoder on one H100 (8.3 ms per query)", "throughput: 8 queries served at
# once", "a machine you already own: rental 0, energy still counts", "a dirtier grid (800 g CO2 per kWh)", "a light
# load still needs one machine", "a load just over one machine's capacity: 2 machines", "no headroom (utilisation
# 1.0)", "zero latency: zero cost, still one machine". While your function runs, `cost_per_1000_queries`,
# `machines_for` and `Hardware` cannot be called: the check stops them ("... is not available during this check"),
# because this exercise asks you to write it yourself. A failing case is shown by its name, with its inputs
# (summarised when large), the expected and your output, and a hint, the specific one when your output matches a
# classic mistake.

# %%
import math

from lessonlib.workbook.checks import check


def cost_per_1000_queries(ms_per_query: float, usd_per_hour: float, watts: float, parallel: int = 1, qps: float = 100.0,
                          grams_co2_per_kwh: float = 400.0, utilisation: float = 0.6) -> dict:
    # BEGIN SOLUTION
    machine_s = 1000 * ms_per_query / 1000 / parallel  # busy machine-seconds for 1,000 queries
    kwh = machine_s * watts / 3.6e6  # W x s = J; 1 kWh = 3.6e6 J
    machines = max(1, math.ceil(qps * ms_per_query / 1000 / (parallel * utilisation)))
    return {"machine_s": machine_s, "usd": machine_s / 3600 * usd_per_hour, "kwh": kwh,
            "g_co2": kwh * grams_co2_per_kwh, "machines": machines}
    # END SOLUTION


# %%
result = check("cost_per_1000_queries", cost_per_1000_queries)
