"""Dimensionality reduction for embeddings: PCA, whitening, random projection, and a linear
projection learned with a contrastive (InfoNCE) loss on query/document pairs.

All follow scikit-learn's verbs: configure in ``__init__``, ``fit`` learns (state ends in ``_``),
``transform`` maps (n, dim) -> (n, n_components) float32.

>>> pca = PCA(128).fit(doc_vectors); small = pca.transform(doc_vectors)      # 3x smaller
"""

from __future__ import annotations

import numpy as np

from lessonlib.index.base import as_matrix


class PCA:
    """Principal component analysis (Pearson 1901; Hotelling 1933): project centred vectors on the
    top-``n_components`` eigenvectors of their covariance, the directions of largest variance.

    ``whiten=True`` also divides each component by sqrt(its eigenvalue) (+ ``eps``), so every kept
    direction has unit variance: dimensions become decorrelated and equally weighted, which helps
    quantizers (each sub-space gets equal variance) and sometimes retrieval (Jégou & Chum 2012).
    """

    def __init__(self, n_components: int, whiten: bool = False, eps: float = 1e-6) -> None:
        if n_components < 1:
            raise ValueError(f"PCA(n_components={n_components}): need >= 1")
        self.n_components, self.whiten, self.eps = n_components, whiten, eps

    def fit(self, x: np.ndarray) -> "PCA":
        x = as_matrix(x, None, where="fit")
        if self.n_components > x.shape[1]:
            raise ValueError(f"PCA(n_components={self.n_components}): more than the input dim {x.shape[1]}")
        self.mean_ = x.mean(axis=0)
        cov = np.cov((x - self.mean_).T.astype(np.float64))
        vals, vecs = np.linalg.eigh(cov)
        order = np.argsort(vals)[::-1][: self.n_components]
        self.explained_variance_ = vals[order].astype(np.float32)
        self.explained_variance_ratio_ = (vals[order] / vals.sum()).astype(np.float32)
        self.components_ = vecs[:, order].T.astype(np.float32)  # (n_components, dim)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        y = (as_matrix(x, self.components_.shape[1], where="transform") - self.mean_) @ self.components_.T
        if self.whiten:
            y = y / np.sqrt(self.explained_variance_ + self.eps)
        return y.astype(np.float32)

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        return self.fit(x).transform(x)


class RandomProjection:
    """Gaussian random projection (Johnson & Lindenstrauss 1984; Achlioptas 2003): y = x R / sqrt(m)
    with R ~ N(0, 1)^{dim x m}. Distances are preserved within (1 ± eps) with high probability when
    m = O(log n / eps^2); no training, no data needed."""

    def __init__(self, n_components: int, seed: int = 0) -> None:
        if n_components < 1:
            raise ValueError(f"RandomProjection(n_components={n_components}): need >= 1")
        self.n_components, self.seed = n_components, seed

    def fit(self, x: np.ndarray) -> "RandomProjection":
        dim = np.asarray(x).shape[1]
        rng = np.random.default_rng(self.seed)
        self.components_ = (rng.normal(size=(self.n_components, dim)) / np.sqrt(self.n_components)).astype(np.float32)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (as_matrix(x, self.components_.shape[1], where="transform") @ self.components_.T).astype(np.float32)

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        return self.fit(x).transform(x)


class LearnedProjection:
    """A linear map W (dim -> n_components) trained so that a query lands next to its relevant
    document: InfoNCE with in-batch negatives (van den Oord et al. 2018; Karpukhin et al. 2020) on
    (query vector, document vector) pairs, cosine similarity, temperature ``temperature``.
    Initialised from PCA, so training starts from the best *unsupervised* linear map and learns
    which directions matter for *relevance* rather than for variance. The encoder stays frozen:
    only W (dim x m numbers) is learned, in seconds on CPU.

    Uses :class:`lessonlib.losses.InfoNCELoss` (falls back to a 3-line local InfoNCE if the losses
    module is unavailable).
    """

    def __init__(self, n_components: int, temperature: float = 0.05, epochs: int = 30, lr: float = 1e-3,
                 batch_size: int = 128, seed: int = 0) -> None:
        self.n_components, self.temperature, self.epochs, self.lr, self.batch_size, self.seed = (
            n_components, temperature, epochs, lr, batch_size, seed)

    def fit(self, queries: np.ndarray, docs: np.ndarray, init: np.ndarray | None = None) -> "LearnedProjection":
        """``queries[i]`` and ``docs[i]`` are a relevant pair (n, dim) each; ``init`` optional (dim) rows for PCA."""
        import torch

        q = torch.from_numpy(as_matrix(queries, None, "queries", "fit"))
        d = torch.from_numpy(as_matrix(docs, q.shape[1], "docs", "fit"))
        if len(q) != len(d):
            raise ValueError(f"fit: {len(q)} queries but {len(d)} docs; pass aligned pairs")
        pca = PCA(self.n_components).fit(init if init is not None else np.concatenate([queries, docs]))
        self.mean_ = pca.mean_
        gen = torch.Generator().manual_seed(self.seed)
        W = torch.nn.Parameter(torch.from_numpy(pca.components_.T.copy()))  # (dim, m)
        loss_fn = _infonce(self.temperature)
        opt = torch.optim.Adam([W], lr=self.lr)
        mean = torch.from_numpy(self.mean_)
        self.losses_ = []
        for _ in range(self.epochs):
            perm = torch.randperm(len(q), generator=gen)
            total = 0.0
            for s in range(0, len(q), self.batch_size):
                b = perm[s:s + self.batch_size]
                if len(b) < 2:
                    continue
                loss = loss_fn((q[b] - mean) @ W, (d[b] - mean) @ W)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(b)
            self.losses_.append(total / len(q))
        self.components_ = W.detach().numpy().T.copy()
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return ((as_matrix(x, self.components_.shape[1], where="transform") - self.mean_) @ self.components_.T).astype(np.float32)


def _infonce(temperature: float):
    from lessonlib.losses import InfoNCELoss  # deferred: pulls in torch (only the learned projection trains)

    return InfoNCELoss(temperature=temperature)

