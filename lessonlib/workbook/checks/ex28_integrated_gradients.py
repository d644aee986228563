"""Exercise 28 (20_cross_encoder_evaluation §5.1): integrated gradients by a midpoint Riemann sum."""

from __future__ import annotations

import numpy as np

from lessonlib.cross.interpret import (
    gradient_x_input,
    integrated_gradients,
    token_saliency,
)
from lessonlib.workbook.checks.cases import tensor
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def _case(rng: np.random.Generator, length: int, dim: int, hidden: int, steps: int, baseline: str = "zeros",
          scale: float = 1.0) -> dict:
    base = np.zeros((length, dim)) if baseline == "zeros" else np.tile(rng.normal(size=dim) * 0.3, (length, 1))
    return {"x": tensor(rng.normal(size=(length, dim))), "baseline": tensor(base),
            "W": tensor(rng.normal(size=(hidden, dim)) * scale / np.sqrt(dim)), "c": tensor(rng.normal(size=hidden) * 0.1),
            "v": tensor(rng.normal(size=hidden)), "steps": steps}


def cases(rng: np.random.Generator) -> list[Case]:
    out = [Case("5 tokens, 32 steps from the zero baseline", _case(rng, 5, 4, 3, 32)),
           Case("one step: the midpoint alpha = 1/2 alone", _case(rng, 3, 4, 3, 1)),
           Case("8 steps: a coarse Riemann sum", _case(rng, 4, 6, 5, 8)),
           Case("a [PAD]-like baseline (one vector at every position)", _case(rng, 4, 4, 3, 16, baseline="pad")),
           Case("a saturated head (large weights): the gradient changes along the path", _case(rng, 3, 4, 4, 50, scale=6.0)),
           Case("an almost linear head: IG ~ gradient x (x - baseline)", _case(rng, 3, 4, 3, 10, scale=1e-3)),
           Case("one token", _case(rng, 1, 5, 3, 20))]
    same = _case(rng, 3, 4, 3, 16)
    same["baseline"] = same["x"].clone()
    out.append(Case("x equals the baseline: every attribution is 0", same))
    return out


def _head(W, c, v):
    """f(X) = (1/L) sum_i v . tanh(W x_i + c) on a batch X (n, L, d) -> (n,)."""
    import torch

    return lambda X: (torch.tanh(X @ W.T + c) @ v).mean(dim=-1)


def reference(x, baseline, W, c, v, steps):
    return integrated_gradients(_head(W, c, v), x, baseline, steps=steps)


def _gradients(x, baseline, W, c, v, alphas):
    import torch

    path = (baseline + alphas[:, None, None] * (x - baseline)).requires_grad_(True)
    (grad,) = torch.autograd.grad(_head(W, c, v)(path).sum(), path)
    return grad  # (len(alphas), L, d)


def _midpoints(x, steps):
    import torch

    return (torch.arange(steps, dtype=x.dtype) + 0.5) / steps


def wrong_left_riemann(x, baseline, W, c, v, steps):
    import torch

    return (x - baseline) * _gradients(x, baseline, W, c, v, torch.arange(steps, dtype=x.dtype) / steps).mean(0)


def wrong_gradient_at_x_only(x, baseline, W, c, v, steps):
    import torch

    return (x - baseline) * _gradients(x, baseline, W, c, v, torch.ones(1, dtype=x.dtype))[0]


def wrong_times_x(x, baseline, W, c, v, steps):
    return x * _gradients(x, baseline, W, c, v, _midpoints(x, steps)).mean(0)


def wrong_sum_of_gradients(x, baseline, W, c, v, steps):
    return (x - baseline) * _gradients(x, baseline, W, c, v, _midpoints(x, steps)).sum(0)


register(ExerciseCheck(
    id="integrated_gradients", title="Integrated gradients: attributions along a straight path, by a midpoint Riemann sum",
    practises="20_cross_encoder_evaluation — Interpretability: one claim and its relevant abstract (Day 10.2 §5.1)",
    cases=cases, reference=reference,
    hint="alphas = (arange(steps) + 0.5) / steps; path = baseline + alphas[:, None, None] * (x - baseline), with "
         "requires_grad; f on the whole path (m,); grad = autograd.grad(f.sum(), path); return (x - baseline) * "
         "grad.mean(0).",
    wrong={
        "use the MIDPOINT rule, alpha_k = (k + 1/2) / m for k = 0..m-1, not k / m.": wrong_left_riemann,
        "that is gradient x input at x alone: IG averages the gradient over the whole straight path from the "
        "baseline.": wrong_gradient_at_x_only,
        "multiply the averaged gradient by (x - baseline), not by x.": wrong_times_x,
        "AVERAGE the m gradients (the Riemann sum's 1/m), do not sum them.": wrong_sum_of_gradients,
    },
    blocks=(integrated_gradients, gradient_x_input, token_saliency),
    atol=1e-6,
))
