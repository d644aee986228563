"""Exercise 2 (02_contrastive_training §2.1-2.2): InfoNCE with a temperature and in-batch negatives."""

from __future__ import annotations

import numpy as np

from lessonlib.losses import InfoNCELoss
from lessonlib.workbook.checks.cases import tensor
from lessonlib.workbook.checks.core import Case, ExerciseCheck, register


def cases(rng: np.random.Generator) -> list[Case]:
    out = []
    for b, n, d, tau, name in [(1, 0, 4, 0.05, "batch of 1, no hard negatives"), (2, 0, 4, 0.05, "in-batch negatives only, B=2"),
                               (4, 0, 8, 0.1, "in-batch negatives only, B=4"), (8, 0, 16, 1.0, "temperature 1"),
                               (3, 1, 6, 0.05, "one hard negative per query"), (4, 2, 8, 0.2, "two hard negatives per query"),
                               (5, 3, 8, 0.02, "three hard negatives, a small temperature"),
                               (1, 2, 4, 0.5, "batch of 1 with hard negatives")]:
        q = rng.normal(size=(b, d))
        pos = q + rng.normal(scale=0.8, size=(b, d))  # related but not equal
        neg = tensor(rng.normal(size=(b, n, d))) if n else None
        out.append(Case(name, {"q": tensor(q), "pos": tensor(pos), "neg": neg, "temperature": tau}))
    dup = rng.normal(size=(1, 4))
    out.append(Case("all candidates tied (identical rows)", {"q": tensor(np.repeat(dup, 3, 0)), "pos": tensor(np.repeat(dup, 3, 0)),
                                                              "neg": None, "temperature": 0.05}))
    out.append(Case("large query vectors (cosine is scale-free)", {"q": tensor(rng.normal(size=(3, 4)) * 50),
                                                                   "pos": tensor(rng.normal(size=(3, 4))), "neg": None,
                                                                   "temperature": 0.05}))
    return out


def reference(q, pos, neg=None, temperature=0.05):
    return InfoNCELoss(temperature=temperature, similarity="cosine", share_negatives=True)(q, pos, neg)


def _unit(x):
    import torch.nn.functional as F

    return F.normalize(x, dim=-1)


def _candidates(pos, neg):
    import torch

    return pos if neg is None else torch.cat([pos, neg.reshape(-1, neg.shape[-1])])


def wrong_no_temperature(q, pos, neg=None, temperature=0.05):
    import torch
    import torch.nn.functional as F

    return F.cross_entropy(_unit(q) @ _unit(_candidates(pos, neg)).T, torch.arange(len(q)))


def wrong_dot_product(q, pos, neg=None, temperature=0.05):
    import torch
    import torch.nn.functional as F

    return F.cross_entropy(q @ _candidates(pos, neg).T / temperature, torch.arange(len(q)))


def wrong_per_query_negatives(q, pos, neg=None, temperature=0.05):
    import torch
    import torch.nn.functional as F

    own = _unit(pos)[:, None, :] if neg is None else torch.cat([_unit(pos)[:, None, :], _unit(neg)], 1)  # (B, 1+n, d)
    logits = (_unit(q)[:, None, :] * own).sum(-1) / temperature
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long))


def wrong_ignores_hard_negatives(q, pos, neg=None, temperature=0.05):
    import torch
    import torch.nn.functional as F

    return F.cross_entropy(_unit(q) @ _unit(pos).T / temperature, torch.arange(len(q)))


register(ExerciseCheck(
    id="infonce_loss", title="InfoNCE with a temperature and in-batch negatives",
    practises="02_contrastive_training — InfoNCE and the temperature (Day 10.1 §2.1-2.2)",
    cases=cases, reference=reference,
    hint="logits = cos(q_i, c) / temperature for every candidate c = [all B positives, then all B*n hard "
         "negatives]; the correct class of row i is column i; loss = cross_entropy(logits, arange(B)), "
         "averaged over the batch.",
    wrong={
        "you forgot to divide the cosine similarities by the temperature.": wrong_no_temperature,
        "you used raw dot products: InfoNCE here scores with the COSINE (L2-normalise q and the candidates).": wrong_dot_product,
        "you used per-query negatives instead of in-batch negatives: every query is scored against ALL B positives "
        "(and all B*n hard negatives), its own positive is column i.": wrong_per_query_negatives,
        "you ignored the hard negatives: append all B*n of them to the candidates after the B positives.":
            wrong_ignores_hard_negatives,
    },
    blocks=(InfoNCELoss,),
    atol=1e-6,
))
