"""Additive quantization beside PQ and OPQ, at equal bytes per vector (FAISS codecs, Day 10.1 §3.2).

PQ (Jégou, Douze & Schmid 2011) cuts x into M pieces and quantizes each piece alone:
``x ≈ concat(c_1[i_1], ..., c_M[i_M])``, each c_m a codebook of K = 2^nbits sub-vectors.
OPQ (Ge et al. 2013) does the same after a learned rotation R: ``x R ≈ concat(...)``.

*Additive* quantizers keep M codebooks of full-length (D-dim) vectors and add one word from each:

    x ≈ x̂ = c_1[i_1] + c_2[i_2] + ... + c_M[i_M],      code = (i_1, ..., i_M), M · nbits / 8 bytes

(Babenko & Lempitsky 2014, "Additive quantization for extreme vector compression"). Same code size
as PQ with the same M and nbits, but every codeword spans all D dimensions, so the codebooks can
model correlations between dimensions that PQ's split throws away. The price is the encoder: finding
the best (i_1, ..., i_M) is a hard combinatorial problem, so encoding (and training, which encodes
again and again) is much slower than PQ's M independent nearest-centroid look-ups.

* **RQ, residual quantization** (Chen, Guan & Wang 2010, "Approximate nearest neighbor search by
  residual vector quantization"): greedy, stage by stage. Codebook m is k-means on the residuals
  r_m = x − Σ_{j<m} c_j[i_j]; encoding keeps a beam of the ``beam`` best partial sums at every stage
  (beam 1 = plain greedy RVQ). FAISS ``IndexResidualQuantizer``.
* **LSQ, local search quantization** (Martinez et al. 2016; LSQ++: Martinez, Zakhmi, Hoos & Little
  2018, ECCV): alternate (a) codebook update, a least-squares problem min_C ‖X − B C‖² over the
  (n, M·K) one-hot code matrix B, and (b) encoding by iterated conditional modes (ICM) with random
  perturbations (``encode_ils_iters`` rounds), a local search over the M indices of each vector.
  FAISS ``IndexLocalSearchQuantizer``. Step (a) solves an (M·K)² system: with K = 256 the training
  cost grows like M³, so LSQ is by far the slowest to train here.

Search with inner product needs no decoding: ⟨q, x̂⟩ = Σ_m ⟨q, c_m[i_m]⟩, M look-ups in a table of
M · K inner products computed once per query, just as PQ's ADC tables.

>>> row = quantizer_row("RQ", 16, docs, queries, truth, ds, train_n=2000)
>>> row["bytes"], row["train_s"], row["recall"], row["ndcg"]
"""

from __future__ import annotations

import time

import numpy as np

from lessonlib.core.similarity import faiss_metric

QUANTIZERS = ("PQ", "OPQ", "RQ", "LSQ")  # the methods ``make_quantizer`` builds, in the order a table shows them


def make_quantizer(method: str, dim: int, nbytes: int, metric: str = "ip", nbits: int = 8, beam: int = 4,
                   train_iters: int = 4, encode_ils_iters: int = 4, opq_iter: int = 20, seed: int = 0):
    """A FAISS codec-index storing ``nbytes`` bytes per vector: M = nbytes · 8 / nbits codebooks of 2^nbits words.

    ``method``: ``"PQ"`` (``IndexPQ``), ``"OPQ"`` (``OPQMatrix`` + ``IndexPQ`` in an ``IndexPreTransform``),
    ``"RQ"`` (``IndexResidualQuantizer``, beam search of width ``beam``, plain k-means per stage) or ``"LSQ"``
    (``IndexLocalSearchQuantizer``, ``train_iters`` codebook/encoding rounds, ``encode_ils_iters`` local-search
    rounds per encoding); OPQ alternates rotation and PQ ``opq_iter`` times. With ``metric="ip"`` the additive indexes store no norm, so every method's code is
    exactly ``nbytes`` (``index.sa_code_size()``).
    """
    import faiss

    if method not in QUANTIZERS:
        raise ValueError(f"make_quantizer(method={method!r}): expected one of {QUANTIZERS}")
    if (nbytes * 8) % nbits:
        raise ValueError(f"make_quantizer(nbytes={nbytes}, nbits={nbits}): nbytes * 8 must be a multiple of nbits")
    M = nbytes * 8 // nbits
    if method in ("PQ", "OPQ") and dim % M:
        raise ValueError(f"make_quantizer({method}, nbytes={nbytes}): dim {dim} must be divisible by M = {M}")
    mid = faiss_metric(metric, "make_quantizer")
    if method == "PQ":
        index = faiss.IndexPQ(dim, M, nbits, mid)
        index.do_polysemous_training = False
    elif method == "OPQ":
        pq = faiss.IndexPQ(dim, M, nbits, mid)
        pq.do_polysemous_training = False
        opq = faiss.OPQMatrix(dim, M)
        opq.niter = opq_iter
        index = faiss.IndexPreTransform(opq, pq)  # FAISS's wrapper keeps opq and pq alive with it
    elif method == "RQ":
        index = faiss.IndexResidualQuantizer(dim, M, nbits, mid)
        index.rq.train_type = faiss.ResidualQuantizer.Train_default  # plain k-means per stage (Chen et al. 2010)
        index.rq.max_beam_size = beam
        index.rq.cp.seed = seed
    else:
        index = faiss.IndexLocalSearchQuantizer(dim, M, nbits, mid)
        index.lsq.train_iters = train_iters
        index.lsq.encode_ils_iters = encode_ils_iters
        index.lsq.random_seed = seed
    return index


def quantizer_row(method: str, nbytes: int, docs: np.ndarray, queries: np.ndarray, truth: np.ndarray, dataset,
                  train_n: int = 2000, k: int = 10, seed: int = 0, **knobs) -> dict:
    """Train ``method`` at ``nbytes`` bytes/vector on a random sample of ``train_n`` documents, encode all
    ``docs`` (n, D), search ``queries`` and measure. ``knobs`` go to :func:`make_quantizer` (``beam``,
    ``train_iters``, ``encode_ils_iters``, ``opq_iter``).

    Returns a dict: ``method``, ``bytes`` = ``index.sa_code_size()`` (what is stored per vector, read from
    FAISS, not the argument), ``ratio`` = 4·D / bytes, ``train_s`` (seconds to train), ``encode_s`` (seconds
    to encode and add the n documents), ``errs`` = ‖x̂_i − x_i‖² on the *held-out* documents (those not in
    the training sample; a quantizer with as many codewords as training points can reproduce them exactly, so
    the training points would flatter it), ``recon_err`` = mean of ``errs`` (NaN if nothing is held out),
    ``recall`` = recall@k against ``truth``, ``ndcg_q`` = nDCG@10 per query on ``dataset`` and ``ndcg`` its mean.
    """
    from lessonlib.index.benchmark import ndcg_per_query, recall_at_k  # deferred: benchmark imports the encoders

    docs = np.ascontiguousarray(docs, np.float32)
    perm = np.random.default_rng(seed).permutation(len(docs))
    train_ids, held_out = perm[:train_n], perm[train_n:]
    index = make_quantizer(method, docs.shape[1], nbytes, seed=seed, **knobs)
    t = time.perf_counter()
    index.train(docs[train_ids])
    train_s = time.perf_counter() - t
    t = time.perf_counter()
    index.add(docs)
    encode_s = time.perf_counter() - t
    ids = index.search(np.ascontiguousarray(queries, np.float32), k)[1]
    x = docs[held_out]
    errs = ((index.sa_decode(index.sa_encode(x)) - x) ** 2).sum(1) if len(x) else np.full(0, np.nan)
    per_q = ndcg_per_query(dataset, ids)
    code = int(index.sa_code_size())
    return dict(method=f"{method}{nbytes}", bytes=code, ratio=4 * docs.shape[1] / code, train_s=train_s,
                encode_s=encode_s, errs=errs, recon_err=float(errs.mean()) if len(errs) else float("nan"),
                recall=recall_at_k(ids, truth, k), ndcg=float(per_q.mean()), ndcg_q=per_q)


def format_quantizer_rows(rows: list[dict]) -> str:
    """The rows of :func:`quantizer_row` as a plain-text table."""
    head = f"{'method':<8}{'B/vec':>6}{'ratio':>7}{'train s':>9}{'encode s':>9}{'recon err':>10}{'R@10':>7}{'nDCG@10':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['method']:<8}{r['bytes']:>6}{r['ratio']:>6.0f}x{r['train_s']:>9.2f}{r['encode_s']:>9.2f}"
                     f"{r['recon_err']:>10.4f}{r['recall']:>7.3f}{r['ndcg']:>9.4f}")
    return "\n".join(lines)
