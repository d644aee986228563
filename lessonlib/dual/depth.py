"""Model-size scaling by layer dropping: a pretrained dual encoder cut to its first k layers.

Day 10.1 §1.3 (compressed models) and Day 10.2 §2 (model-size scaling); taught in notebook 01.

Keeping the bottom k of L transformer layers and dropping the top L - k is the simplest way to make
a smaller model out of a pretrained one without training (Sajjad et al. 2023, "On the effect of
dropping layers of pre-trained transformer models", Computer Speech & Language: top-layer dropping
keeps most of the quality at a fraction of the cost). The encoder after k layers computes exactly
``hidden_states[k]`` of the full model (layers run in sequence, ``hidden_states[0]`` = the
embeddings), so ONE forward pass with ``output_hidden_states=True`` yields the token vectors of every
depth; pooling them gives the k-layer model's embeddings::

    e_k(x) = normalize(pool(H_k(x))),   H_k = layer_k o ... o layer_1 o embed

Cost is (almost) linear in k: each layer is the same 2T(4h^2 + 2hi) + 4T^2 h FLOPs
(:func:`lessonlib.cross.flops.transformer_flops`).

>>> vecs = encode_depths("sentence-transformers/all-MiniLM-L6-v2", ["a cat"], depths=(1, 6), show_progress=False)
>>> vecs[(1, "mean")].shape
(1, 384)
>>> small = drop_top_layers(load_model("sentence-transformers/all-MiniLM-L6-v2"), keep=3)  # a 3-layer DualEncoder
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Sequence

import numpy as np
import torch

from lessonlib.core.cache import EmbeddingCache, namespace
from lessonlib.core.hub import model_identity, resolve_model
from lessonlib.dual.encode import cached_views, encode, load_model
from lessonlib.dual.encoders import DualEncoder, Pooling


def layer_stack(backbone: torch.nn.Module) -> torch.nn.ModuleList:
    """The list of transformer layers of a transformers encoder (BERT-like ``encoder.layer``,
    DistilBERT's ``transformer.layer``)."""
    base = getattr(backbone, "base_model", backbone)
    for path in ("encoder.layer", "transformer.layer"):
        node = base
        for part in path.split("."):
            node = getattr(node, part, None)
        if isinstance(node, torch.nn.ModuleList):
            return node
    raise ValueError(f"layer_stack: {type(backbone).__name__} has no encoder.layer or transformer.layer list")


def drop_top_layers(model: DualEncoder, keep: int) -> DualEncoder:
    """A copy of ``model`` whose transformer tower(s) keep only their bottom ``keep`` layers (the original is untouched)."""
    towers = {id(model.query_tower): model.query_tower, id(model.doc_tower): model.doc_tower}.values()
    n = min(len(layer_stack(t.model)) for t in towers)
    if not 1 <= keep <= n:
        raise ValueError(f"drop_top_layers(keep={keep}): expected 1..{n}")
    new = copy.deepcopy(model)
    for tower in {id(new.query_tower): new.query_tower, id(new.doc_tower): new.doc_tower}.values():
        stack = layer_stack(tower.model)
        del stack[keep:]
        tower.model.config.num_hidden_layers = keep
    return new.eval()


def encode_depths(
    model: str | os.PathLike,
    texts: Sequence[str],
    depths: Sequence[int],
    poolings: Sequence[str] = ("mean",),
    *,
    normalize: bool = True,
    batch_size: int = 64,
    max_length: int | None = None,
    cache: bool = True,
    show_progress: bool = True,
) -> dict[tuple[int, str], np.ndarray]:
    """Embeddings of ``texts`` by the first-k-layers model for every k in ``depths`` and every pooling,
    from ONE forward pass of the full model: {(k, pooling): float32 (n, dim)}.

    Equal (to float precision) to ``encode(drop_top_layers(model, k), texts)`` with that pooling; cached per
    (k, pooling) in the embedding cache, so a second call is free.
    """
    depths, poolings = [int(k) for k in depths], list(poolings)
    base = load_model(model)
    tower = base.doc_tower
    n_layers = len(layer_stack(tower.model))
    if not depths or any(not 0 <= k <= n_layers for k in depths):
        raise ValueError(f"encode_depths(depths={depths}): each must be in 0..{n_layers} (0 = the embeddings)")
    bad = [p for p in poolings if p not in ("cls", "mean", "max")]
    if bad or not poolings:
        raise ValueError(f"encode_depths(poolings={poolings!r}): each must be cls, mean or max")
    texts = ["" if t is None else str(t).strip() for t in texts]
    max_length = int(max_length or base.max_length)
    folder = resolve_model(model)
    stores = {(k, p): EmbeddingCache(namespace(model=model_identity(folder), max_length=max_length, pooling=p,
                                               normalize=normalize, depth=k, kind="encode_depths"),
                                     settings={"model": str(model), "depth": k, "pooling": p,
                                               "normalize": normalize, "max_length": max_length})
              for k in depths for p in poolings}
    pools = {p: Pooling(p, tower.dim) for p in poolings}

    def views(batch):
        hidden = tower.model(**batch, output_hidden_states=True).hidden_states  # L + 1 of (B, T, h)
        return {(k, p): pools[p](hidden[k], batch["attention_mask"]) for k, p in stores}

    return cached_views(texts, stores, tower, base.dim, base.device, views, batch_size, max_length, normalize,
                        cache, show_progress, desc="encode (depths)")


def time_depths(model: str | os.PathLike | DualEncoder, texts: Sequence[str], depths: Sequence[int], repeats: int = 2,
                batch_size: int = 32) -> np.ndarray:
    """Measured ms per text of encoding ``texts`` (no cache) with the first-k-layers model, for each k in
    ``depths``: the best of ``repeats`` runs of :func:`lessonlib.dual.encode.encode` on a real truncated copy."""
    if repeats < 1 or not texts:
        raise ValueError(f"time_depths(repeats={repeats}, {len(texts)} texts): need repeats >= 1 and some texts")
    full = load_model(model) if isinstance(model, (str, os.PathLike)) else model
    out = []
    for k in depths:
        small = drop_top_layers(full, int(k))
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            encode(small, list(texts), cache=False, show_progress=False, batch_size=batch_size)
            best = min(best, time.perf_counter() - t0)
        out.append(1000 * best / len(texts))
    return np.asarray(out)
