"""Making a cross-encoder cheaper: dynamic batching, int8 quantization, pruning, distillation.

* ``lessonlib.cross.data.length_sorted_batches``: sort pairs by length so each batch pads to a similar length
  (dynamic batching; padding tokens cost as much as real ones).
* ``token_budget_batches``: batches of variable size holding at most ``max_tokens`` padded tokens.
* ``quantize_int8``: ``torch.ao.quantization.quantize_dynamic`` on every ``nn.Linear`` — int8
  weights, activations quantized on the fly (CPU only; Jacob et al. 2018; Zafrir et al. 2019 Q8BERT).
* ``to_bf16``: bf16 weights, the head kept fp32 (bfloat16: Kalamkar et al. 2019) — half the bytes,
  and 2-3x faster on a CPU that multiplies bf16 in hardware (AMX, AVX512-BF16).
* ``prune_layers``: keep the bottom ``keep`` transformer layers (Sajjad et al. 2023, "On the
  effect of dropping layers of pre-trained transformer models": dropping TOP layers hurts least).
* ``prune_heads``: remove attention heads by slicing the Q/K/V rows and the output-projection
  columns (Michel et al. 2019, "Are sixteen heads really better than one?"); ``head_importance``
  ranks heads by the norm of their slice of the output projection (a cheap weight-based proxy).
* ``distill``: train a shallower student on the teacher's scores (margin-MSE + listwise CE,
  Hofstaetter et al. 2020).

Each returns a new ``CrossEncoder``; the original is untouched.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from lessonlib.core import runtime
from lessonlib.cross.data import Group
from lessonlib.cross.train import train_cross_encoder


def token_budget_batches(lengths: Sequence[int], max_tokens: int) -> list[np.ndarray]:
    """Length-sorted batches whose padded size (len(batch) * longest) stays <= ``max_tokens``."""
    if max_tokens < 1:
        raise ValueError(f"token_budget_batches(max_tokens={max_tokens}): must be >= 1")
    order = np.argsort(-np.asarray(lengths), kind="stable")
    batches, current, longest = [], [], 0
    for i in order:
        longest_if = max(longest, lengths[i])
        if current and longest_if * (len(current) + 1) > max_tokens:
            batches.append(np.asarray(current))
            current, longest_if = [], lengths[i]
        current.append(int(i))
        longest = longest_if
    if current:
        batches.append(np.asarray(current))
    return batches


def padding_fraction(lengths: Sequence[int], batches: Sequence[np.ndarray]) -> float:
    """Share of padded tokens: 1 - real tokens / (sum over batches of size * longest)."""
    lengths = np.asarray(lengths)
    padded = sum(len(b) * lengths[b].max() for b in batches)
    return float(1 - lengths.sum() / padded)


def _clone(ce):
    new = copy.copy(ce)  # shallow: shares the tokenizer
    torch.nn.Module.__init__(new)
    new.__dict__.update({k: v for k, v in ce.__dict__.items() if not k.startswith("_")})
    new.model = copy.deepcopy(ce.model)
    return new


def quantize_int8(ce):
    """A copy with dynamically int8-quantized Linear layers (runs on CPU)."""
    from torch.ao.quantization import quantize_dynamic

    new = _clone(ce)
    new.model = quantize_dynamic(new.model.to("cpu"), {torch.nn.Linear}, dtype=torch.qint8)
    return new


def to_bf16(ce):
    """A copy with bf16 weights, the classification head kept fp32 so scores keep fp32 resolution
    (:func:`lessonlib.core.runtime.bf16_copy`). Fast where the CPU multiplies bf16 natively
    (``runtime.native_bf16``; ``bench/results/cross_scoring_cpu.txt``), emulated and slower elsewhere."""
    new = runtime.bf16_copy(ce, share=(ce.tokenizer,), fp32=ce.fp32_modules())
    new.precision = "fp32"  # the weights are bf16 already: no second copy, no autocast
    return new


def prune_layers(ce, keep: int):
    """A copy keeping the bottom ``keep`` encoder layers (the top ones are dropped)."""
    layers = ce.model.base_model.encoder.layer
    if not 1 <= keep <= len(layers):
        raise ValueError(f"prune_layers(keep={keep}): expected 1..{len(layers)}")
    new = _clone(ce)
    enc = new.model.base_model.encoder
    enc.layer = torch.nn.ModuleList(list(enc.layer)[:keep])
    new.model.config.num_hidden_layers = keep
    return new


def head_importance(ce) -> np.ndarray:
    """(layers, heads) importance: L2 norm of each head's columns of the attention output projection."""
    out = []
    for layer in ce.model.base_model.encoder.layer:
        att = layer.attention
        n, size = att.self.num_attention_heads, att.self.attention_head_size
        w = att.output.dense.weight.detach().float()  # (hidden, n*size)
        out.append([float(w[:, h * size:(h + 1) * size].norm()) for h in range(n)])
    return np.asarray(out)


def prune_heads(ce, heads: Mapping[int, Sequence[int]]):
    """A copy with the listed heads removed: ``{layer index: [head indices]}``.

    Q/K/V lose the heads' output rows, the output projection loses their input columns, so the
    pruned model is genuinely smaller and faster. (transformers 5 dropped ``prune_heads``.)
    """
    new = _clone(ce)
    layers = new.model.base_model.encoder.layer
    for li, drop in heads.items():
        if not 0 <= li < len(layers):
            raise ValueError(f"prune_heads: layer {li} out of range 0..{len(layers) - 1}")
        sa, out = layers[li].attention.self, layers[li].attention.output
        n, size = sa.num_attention_heads, sa.attention_head_size
        keep_heads = [h for h in range(n) if h not in set(drop)]
        if not keep_heads:
            raise ValueError(f"prune_heads: layer {li} would lose all its {n} heads; keep at least one")
        idx = torch.cat([torch.arange(h * size, (h + 1) * size) for h in keep_heads]).to(sa.query.weight.device)
        for name in ("query", "key", "value"):
            lin = getattr(sa, name)
            new_lin = torch.nn.Linear(lin.in_features, len(idx)).to(lin.weight.device)
            new_lin.weight.data = lin.weight.data[idx].clone()
            new_lin.bias.data = lin.bias.data[idx].clone()
            setattr(sa, name, new_lin)
        dense = out.dense
        new_dense = torch.nn.Linear(len(idx), dense.out_features).to(dense.weight.device)
        new_dense.weight.data = dense.weight.data[:, idx].clone()
        new_dense.bias.data = dense.bias.data.clone()
        out.dense = new_dense
        sa.num_attention_heads = len(keep_heads)
        sa.all_head_size = len(idx)
    return new


def prune_least_important_heads(ce, fraction: float):
    """Remove the ``fraction`` of heads with the lowest ``head_importance`` (at least one head per layer kept)."""
    imp = head_importance(ce)
    n_drop = int(round(fraction * imp.size))
    order = np.argsort(imp, axis=None)
    plan: dict[int, list[int]] = {}
    for flat in order:
        if n_drop == 0:
            break
        li, h = divmod(int(flat), imp.shape[1])
        if len(plan.get(li, [])) < imp.shape[1] - 1:
            plan.setdefault(li, []).append(h)
            n_drop -= 1
    return prune_heads(ce, plan)


def n_parameters(ce) -> int:
    """Number of parameters (quantized Linear layers count their packed weights)."""
    total = sum(p.numel() for p in ce.model.parameters())
    from torch.ao.nn.quantized.dynamic import Linear as QLinear

    for m in ce.model.modules():
        if isinstance(m, QLinear):
            w, b = m.weight(), m.bias()
            total += w.numel() + (b.numel() if b is not None else 0)
    return total


def distill(teacher, student, groups, epochs: int = 1, batch_size: int = 16, lr: float = 5e-5,
            distill_weight: float = 1.0, seed: int = 0, progress: bool = True) -> list[dict]:
    """Train ``student`` on ``groups`` with the teacher's scores as extra targets (margin-MSE)."""
    taught = []
    for g in groups:
        t = teacher.score(g.query, g.docs, batch_size=len(g.docs))
        taught.append(Group(g.qid, g.query, g.docs, g.labels, teacher=t.tolist(), meta=g.meta))
    return train_cross_encoder(student, taught, loss="softmax_ce", epochs=epochs, batch_size=batch_size, lr=lr,
                               distill_weight=distill_weight, seed=seed, progress=progress)
