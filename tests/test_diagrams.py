"""lessonlib.workbook.diagrams draws what the index holds (issue 28, item 7)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessonlib.index import HNSWIndex, IVFIndex  # noqa: E402
from lessonlib.workbook import diagrams  # noqa: E402


@pytest.fixture()
def points():
    rng = np.random.default_rng(0)
    return rng.normal(size=(300, 2)).astype(np.float32)


def test_ivf_cells_scans_exactly_the_points_of_the_probed_lists(points):
    index = IVFIndex(2, metric="l2", nlist=12, nprobe=3).train(points).add(points)
    query = np.array([0.2, -0.1], np.float32)
    fig, ax = plt.subplots()
    drawn = diagrams.ivf_cells(ax, index, points, query)
    plt.close(fig)
    assert len(drawn["probed"]) == 3 and drawn["total"] == 300
    in_probed = np.isin(index.list_of_, drawn["probed"]).sum()  # the index's own inverted lists
    assert drawn["scanned"] == in_probed
    _, ids = index.search(query[None], 300)
    assert set(ids[0][ids[0] >= 0].tolist()) == set(np.flatnonzero(np.isin(index.list_of_, drawn["probed"])).tolist())


def test_hnsw_layers_count_the_graphs_nodes_and_links(points):
    index = HNSWIndex(2, metric="l2", M=4, efConstruction=20, progress=False).add(points)
    fig, axes = plt.subplots(1, index.max_level + 1)
    drawn = diagrams.hnsw_layers(np.atleast_1d(axes), index)
    plt.close(fig)
    assert [d["level"] for d in drawn] == list(range(index.max_level, -1, -1))
    assert drawn[-1]["nodes"] == 300 and all(a["nodes"] <= b["nodes"] for a, b in zip(drawn, drawn[1:]))
    links0 = {(min(a, b), max(a, b)) for a in range(300) for b in index.graph[0][a] if a != b}
    assert drawn[-1]["edges"] == len(links0) > 300


def test_encoder_flow_draws_two_labelled_panels_and_refuses_nothing_else():
    fig, axes = plt.subplots(1, 2)
    assert diagrams.encoder_flow(axes)["dual, online passes"] == 1
    assert all(len(ax.patches) >= 4 for ax in axes) and "Cross-encoder" in axes[1].get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="2-D"):
        diagrams.ivf_cells(plt.gca(), IVFIndex(8), np.zeros((4, 8), np.float32), np.zeros(8, np.float32))


def test_pq_subspaces_draws_the_code_the_quantizer_gives(points):
    from lessonlib.index.pq import ProductQuantizer

    x = np.concatenate([points, points[::-1] * 0.5], axis=1)  # 4-D: two 2-D sub-spaces
    pq = ProductQuantizer(4, M=2, nbits=3).train(x)
    fig, axes = plt.subplots(1, 2)
    drawn = diagrams.pq_subspaces(axes, pq, x, which=7)
    plt.close(fig)
    assert drawn["code"] == pq.encode(x[7:8])[0].tolist() and drawn["bytes"] == 0.75
    assert all(len([t for t in ax.texts]) == 8 for ax in axes)  # every centroid of each codebook is numbered
    with pytest.raises(ValueError, match="2-D sub-spaces"):
        diagrams.pq_subspaces(axes, ProductQuantizer(8, M=2, nbits=2).train(np.zeros((8, 8), np.float32)), np.zeros((8, 8)))


def test_cascade_funnel_draws_the_cascades_own_counts():
    from lessonlib.retrieval.cascade import Stage, cascade

    first = {f"q{i}": {f"d{j}": float(-j) for j in range(20)} for i in range(3)}
    res = cascade(first, [Stage("dense", lambda q, docs: [len(d) for d in docs], depth=10),
                          Stage("cross", lambda q, docs: [ord(d[-1]) for d in docs], depth=4)], first_name="BM25")
    fig, ax = plt.subplots()
    drawn = diagrams.cascade_funnel(ax, res, n_corpus=5000, ms_per_query={"cross": 123.0})
    texts = [t.get_text() for t in ax.texts]
    plt.close(fig)
    assert drawn == {"corpus": 5000.0, "BM25": 20.0, "dense": 10.0, "cross": 4.0}
    assert drawn == {"corpus": 5000.0, **{k: v["docs/query"] for k, v in res.costs().items()}}
    assert any("cross: 4 docs per query · 123.0 ms/query" in t for t in texts) and len(ax.patches) == 4 + 3
