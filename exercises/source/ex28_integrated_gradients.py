# exercise: integrated_gradients
# function: integrated_gradients
# practises: 20_cross_encoder_evaluation — Interpretability: one claim and its relevant abstract (Day 10.2 §5.1)
# title: Integrated gradients: attributions along a straight path, by a midpoint Riemann sum

# %% [markdown]
# # Exercise 28 — Integrated gradients: attribute a score to its input tokens
#
# **Practises:** notebook `20_cross_encoder_evaluation`, section "Interpretability: one claim and its relevant
# abstract" (the IG bars) — Day 10.2 §5.1 (interpretability: feature attribution).
#
# **Integrated gradients** (Sundararajan, Taly & Yan, 2017, "Axiomatic Attribution for Deep Networks") explain a
# score f(x) relative to a **baseline** x′ (zeros, or the embedding of [PAD]) by integrating the gradient along the
# straight path from x′ to x:
#
# $$\text{IG}(x) = (x - x') \odot \int_0^1 \nabla f\big(x' + \alpha (x - x')\big)\, d\alpha
#   \;\approx\; (x - x') \odot \frac{1}{m}\sum_{k=0}^{m-1} \nabla f\Big(x' + \tfrac{k + 1/2}{m}(x - x')\Big),$$
#
# a **midpoint** Riemann sum with m = `steps` points. Completeness: the attributions add up to ≈ f(x) − f(x′).
# Gradient × input, ∇f(x) ⊙ x, is the one-point version that ignores the path (exact only for a linear f with a
# zero baseline).
#
# Here x is a sequence of L token embeddings (L, d) and f a small relevance head that scores each token and
# averages:
#
# $$f(X) = \frac{1}{L}\sum_{i=1}^{L} v^\top \tanh(W x_i + c), \qquad W\ (h, d),\ c\ (h,),\ v\ (h,).$$
#
# Write `integrated_gradients(x, baseline, W, c, v, steps)` (torch float64; x and baseline (L, d)) → attributions
# (L, d). Let autograd give the gradients: evaluate f at all m path points as one batch (m, L, d) and call
# `torch.autograd.grad(f_values.sum(), path)`. (The notebook's token saliency sums each row over d.)
#
# `check("integrated_gradients", integrated_gradients)` compares with `lessonlib.cross.interpret.integrated_gradients`
# on named hidden cases: "one step: the midpoint alpha = 1/2 alone", "8 steps: a coarse Riemann sum", "a [PAD]-like
# baseline (one vector at every position)", "a saturated head (large weights): the gradient changes along the path",
# "an almost linear head: IG ~ gradient x (x - baseline)", "one token", "x equals the baseline: every attribution is
# 0". While your function runs, `integrated_gradients`, `gradient_x_input` and `token_saliency` cannot be called: the
# check stops them ("... is not available during this check"), because this exercise asks you to write it yourself. A
# failing case is shown by its name, with its inputs (summarised when large), the expected and your output, and a
# hint, the specific one when your output matches a classic mistake.

# %%
import torch

from lessonlib.workbook.checks import check


def integrated_gradients(x: torch.Tensor, baseline: torch.Tensor, W: torch.Tensor, c: torch.Tensor, v: torch.Tensor,
                         steps: int) -> torch.Tensor:
    # BEGIN SOLUTION
    alphas = (torch.arange(steps, dtype=x.dtype) + 0.5) / steps  # midpoints of the m sub-intervals
    path = (baseline + alphas[:, None, None] * (x - baseline)).requires_grad_(True)  # (m, L, d)
    f_values = (torch.tanh(path @ W.T + c) @ v).mean(dim=-1)  # f at every point of the path, (m,)
    (grad,) = torch.autograd.grad(f_values.sum(), path)
    return (x - baseline) * grad.mean(dim=0)
    # END SOLUTION


# %%
result = check("integrated_gradients", integrated_gradients)
