"""Figures that explain: the pictures the lectures have in mind, drawn in code from the real objects.

- :func:`encoder_flow` — dual encoder vs cross-encoder: what is encoded where, and when (notebook 14;
  Day 10.1 §1.1, Day 10.2 §1.1).
- :func:`ivf_cells` — an :class:`~lessonlib.index.IVFIndex` on 2-D points: its Voronoi cells, the
  ``nprobe`` cells a query scans and the points it never looks at (notebook 05; Day 10.1 §3.1).
- :func:`hnsw_layers` — an :class:`~lessonlib.index.HNSWIndex` on 2-D points, one panel per layer:
  sparse long links on top, the dense graph at layer 0 (notebook 05; Malkov & Yashunin 2018).
- :func:`pq_subspaces` — a :class:`~lessonlib.index.pq.ProductQuantizer` with 2-D sub-spaces: each
  sub-space's codebook and one vector's code, one centroid index per sub-space (notebook 06; Jégou et al. 2011).
- :func:`cascade_funnel` — a :class:`~lessonlib.retrieval.cascade.CascadeResult` as a funnel: the corpus,
  then the documents per query each stage scores and what it costs (notebook 22; Wang, Lin & Metzler 2011).

Each function draws on axes the caller made and returns what it drew (counts a test can check), so a
notebook cell stays one call and a labelled figure.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from lessonlib.index.hnsw import HNSWIndex
from lessonlib.index.ivf import IVFIndex
from lessonlib.index.pq import ProductQuantizer
from lessonlib.retrieval.cascade import CascadeResult


def _box(ax, x: float, y: float, w: float, h: float, text: str, color: str) -> None:
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.04", fc=color, ec="0.25", lw=1))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=9, wrap=True)


def _arrow(ax, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color="0.25", lw=1.2))


def encoder_flow(axes) -> dict[str, int]:
    """Two panels: the dual encoder (documents encoded offline, a dot product online) and the
    cross-encoder (one joint pass over ``[CLS] q [SEP] d [SEP]`` per candidate, all online).

    Returns the number of encoder passes each needs per query for ``n`` candidates, symbolically:
    ``{"dual, online passes": 1, "cross, online passes per candidate": 1}``.
    """
    dual, cross = axes
    for ax, title in ((dual, "Dual encoder (bi-encoder): encode separately, compare vectors"),
                      (cross, "Cross-encoder (monoBERT): encode the pair jointly")):
        ax.set(xlim=(0, 10), ylim=(0, 6), title=title)
        ax.axis("off")
    dual.axvspan(0, 4.9, color="#eef4fb", zorder=-1)
    dual.text(0.2, 5.6, "offline, once per corpus", fontsize=8, color="0.3")
    dual.text(5.2, 5.6, "online, per query", fontsize=8, color="0.3")
    _box(dual, 0.3, 3.6, 2.0, 0.9, "document d", "#ffffff")
    _box(dual, 0.3, 1.9, 2.0, 1.1, "encoder\n(doc tower)", "#cfe0f3")
    _box(dual, 2.7, 1.9, 2.0, 1.1, "index of\nvectors e(d)", "#e8e8e8")
    _box(dual, 5.3, 3.6, 2.0, 0.9, "query q", "#ffffff")
    _box(dual, 5.3, 1.9, 2.0, 1.1, "encoder\n(query tower)", "#cfe0f3")
    _box(dual, 7.7, 1.9, 2.0, 1.1, "s = e(q) · e(d)\n(ANN search)", "#fde7c8")
    _arrow(dual, (1.3, 3.6), (1.3, 3.0)); _arrow(dual, (2.3, 2.45), (2.7, 2.45))
    _arrow(dual, (6.3, 3.6), (6.3, 3.0)); _arrow(dual, (7.3, 2.45), (7.7, 2.45))
    dual.add_patch(FancyArrowPatch((3.7, 1.9), (8.7, 1.9), connectionstyle="arc3,rad=0.25", arrowstyle="-|>",
                                   mutation_scale=12, color="0.55", lw=1.2))  # the stored vectors, under the query tower
    dual.text(5.0, 0.25, "one encoder pass per query; any number of documents", ha="center", fontsize=8)
    cross.axvspan(0, 10, color="#fbf1ee", zorder=-1)
    cross.text(0.2, 5.6, "online, per (query, candidate) pair", fontsize=8, color="0.3")
    _box(cross, 0.3, 3.6, 4.4, 0.9, "[CLS] query q [SEP] document d [SEP]", "#ffffff")
    _box(cross, 0.3, 1.9, 4.4, 1.1, "one encoder over both:\nevery q token attends to every d token", "#f3d6cf")
    _box(cross, 5.3, 1.9, 2.0, 1.1, "[CLS] → linear\nhead", "#e8e8e8")
    _box(cross, 7.7, 1.9, 2.0, 1.1, "s(q, d)\nrelevance score", "#fde7c8")
    _arrow(cross, (2.5, 3.6), (2.5, 3.0)); _arrow(cross, (4.7, 2.45), (5.3, 2.45)); _arrow(cross, (7.3, 2.45), (7.7, 2.45))
    cross.text(5.0, 0.8, "one encoder pass per candidate: re-rank a short list only", ha="center", fontsize=8)
    return {"dual, online passes": 1, "cross, online passes per candidate": 1}


def ivf_cells(ax, index: IVFIndex, points: np.ndarray, query: np.ndarray, resolution: int = 300) -> dict[str, Any]:
    """Colour the plane by IVF cell (``index.coarse``: the nearest centroid), mark the centroids,
    outline the cells ``query`` scans (``index.probes``), and grey the points it never looks at.

    ``index`` must be trained on 2-D vectors. Returns ``{"probed": [cell ids], "scanned": n points
    scanned, "total": n points}``.
    """
    if index.dim != 2 or len(index.centroids_) == 0:
        raise ValueError("ivf_cells: needs an IVFIndex trained on 2-D vectors")
    lo, hi = points.min(axis=0) - 0.3, points.max(axis=0) + 0.3
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.c_[gx.ravel(), gy.ravel()].astype(np.float32)
    cell = index.coarse(grid).reshape(gx.shape)
    probed = index.probes(query[None].astype(np.float32))[0]
    ax.imshow(cell, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), cmap="tab20", alpha=0.35, aspect="auto")
    ax.contour(gx, gy, np.isin(cell, probed).astype(float), levels=[0.5], colors="k", linewidths=1.5)
    scanned = np.isin(index.coarse(points.astype(np.float32)), probed)
    ax.scatter(*points[~scanned].T, s=6, c="0.6", label=f"never compared ({(~scanned).sum()})")
    ax.scatter(*points[scanned].T, s=8, c="tab:blue", label=f"scanned ({scanned.sum()})")
    ax.scatter(*index.centroids_.T, marker="x", c="k", s=40, label=f"centroids (nlist={index.nlist})")
    ax.scatter(*query, marker="*", c="tab:red", s=200, edgecolor="k", label="query", zorder=5)
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), xticks=[], yticks=[],
           title=f"IVF: the query scans nprobe={len(probed)} of {index.nlist} cells")
    ax.legend(loc="lower right", fontsize=7)
    return {"probed": probed.tolist(), "scanned": int(scanned.sum()), "total": len(points)}


def hnsw_layers(axes, index: HNSWIndex) -> list[dict[str, int]]:
    """One panel per HNSW layer, the top layers first and layer 0 always last: the nodes on that layer
    and their links, the nodes not on it in grey. Returns per layer ``{"level", "nodes", "edges"}`` (undirected)."""
    if index.dim != 2 or not index.graph:
        raise ValueError("hnsw_layers: needs an HNSWIndex built on 2-D vectors")
    x, drawn = index.vectors_, []
    levels = sorted(set(list(range(index.max_level, 0, -1))[:len(axes) - 1]) | {0}, reverse=True)
    for ax, level in zip(axes, levels):
        on = np.flatnonzero(index.levels_ >= level)
        edges = {(min(a, b), max(a, b)) for a in on for b in index.graph[level][a] if a != b}
        for a, b in edges:
            ax.plot(*x[[a, b]].T, color="tab:blue", lw=0.5, alpha=0.6)
        ax.scatter(*x.T, s=3, c="0.85")
        ax.scatter(*x[on].T, s=10 if level else 4, c="tab:blue")
        if index.entry_point >= 0 and index.levels_[index.entry_point] >= level:
            ax.scatter(*x[index.entry_point], marker="*", s=150, c="tab:red", edgecolor="k", zorder=5, label="entry point")
            ax.legend(loc="lower right", fontsize=7)
        ax.set(xticks=[], yticks=[], title=f"layer {level}: {len(on)} nodes, {len(edges)} links")
        drawn.append({"level": level, "nodes": len(on), "edges": len(edges)})
    return drawn


def pq_subspaces(axes, pq: ProductQuantizer, x: np.ndarray, which: int = 0) -> dict[str, Any]:
    """One panel per PQ sub-space (``pq.dsub`` must be 2): the training vectors' pieces in grey, the
    sub-space's ``2^nbits`` codebook centroids numbered, and vector ``x[which]``'s piece joined to the
    centroid that codes it. Returns ``{"code": [centroid index per sub-space], "bytes": M * nbits / 8}``."""
    if pq.dsub != 2:
        raise ValueError(f"pq_subspaces: needs 2-D sub-spaces (dim / M = 2), got dsub={pq.dsub}")
    code = pq.encode(x[which:which + 1].astype(np.float32))[0]
    for m, ax in enumerate(axes[:pq.M]):
        piece, book = x[:, 2 * m:2 * m + 2], pq.codebooks_[m]
        ax.scatter(*piece.T, s=5, c="0.75")
        ax.scatter(*book.T, marker="s", s=40, c="tab:orange", edgecolor="k", label=f"codebook: {pq.ksub} centroids")
        for c, (u, v) in enumerate(book):
            ax.annotate(str(c), (u, v), fontsize=7, xytext=(3, 3), textcoords="offset points")
        mine = x[which, 2 * m:2 * m + 2]
        ax.plot([mine[0], book[code[m], 0]], [mine[1], book[code[m], 1]], color="tab:red", lw=1.5)
        ax.scatter(*mine, marker="*", s=160, c="tab:red", edgecolor="k", zorder=5, label=f"x's piece -> code {code[m]}")
        ax.set(xticks=[], yticks=[], title=f"sub-space {m + 1}: dimensions {2 * m + 1}-{2 * m + 2}")
        ax.legend(loc="lower right", fontsize=7)
    return {"code": [int(c) for c in code], "bytes": pq.M * pq.nbits / 8}


def cascade_funnel(ax, result: CascadeResult, n_corpus: int,
                   ms_per_query: Mapping[str, float] | None = None) -> dict[str, float]:
    """The cascade as a funnel, one bar per level: the corpus, then each stage of ``result`` with the
    documents per query it scored (bar width on a log scale) and its cost in ms per query (from
    ``result.costs()``, or ``ms_per_query`` where the scores were computed outside the cascade).
    Returns the documents per query drawn: ``{"corpus": n_corpus, stage: docs/query, ...}``."""
    costs = result.costs()
    levels = {"corpus": float(n_corpus), **{name: c["docs/query"] for name, c in costs.items()}}
    ms = {name: c["ms/query"] for name, c in costs.items()}
    ms.update(ms_per_query or {})
    top = np.log10(max(max(levels.values()), 10.0))
    colors = ["#e8e8e8", "#cfe0f3", "#fde7c8", "#f3d6cf", "#d9ead3"]
    for i, (name, n) in enumerate(levels.items()):
        width = 10 * max(np.log10(max(n, 1.0)), 0.15) / top
        y = len(levels) - 1 - i
        ax.add_patch(FancyBboxPatch((5 - width / 2, y + 0.15), width, 0.7, boxstyle="round,pad=0.02,rounding_size=0.05",
                                    fc=colors[i % len(colors)], ec="0.25", lw=1))
        cost = "" if name == "corpus" else f" · {ms[name]:,.1f} ms/query"
        ax.text(5, y + 0.5, f"{name}: {n:,.0f} docs{' per query' if name != 'corpus' else ''}{cost}",
                ha="center", va="center", fontsize=9)
        if i:
            _arrow(ax, (5, y + 1.15), (5, y + 0.85))
    ax.set(xlim=(0, 10), ylim=(0, len(levels)), title="A cascade: each stage scores fewer documents, at a higher price each")
    ax.axis("off")
    return levels
