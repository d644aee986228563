"""Fast batched encoding of texts with a dual encoder, cached on disk; dense and hybrid runs.

``encode(model, texts)`` -> float32 (n, dim) numpy array, rows in the order of ``texts``:

1. look every text up in the embedding cache (:mod:`lessonlib.core.cache`), keyed by the
   model's weights + settings + SHA-1 of the text; only the missing texts are encoded;
2. tokenise the missing texts once (fast tokenizer, whole list), sort them by token length
   (longest first) and cut batches of similar length, so padding is small (dynamic padding);
   short texts go in bigger batches (a budget of ``batch_size * max_length`` tokens per batch);
3. run the tower: through ONNX Runtime with ``backend="onnx"`` (:mod:`lessonlib.core.runtime`; int8
   with ``quantize=True``; ``"auto"`` keeps torch, measured faster on the course CPU), else under
   ``torch.inference_mode`` (optionally int8 dynamic quantisation of every ``nn.Linear`` on CPU), in
   bf16 by default where the hardware multiplies bf16 natively (``precision="auto"``: a recent GPU,
   autocast; a CPU with AMX or AVX512-BF16, a bf16 copy of the weights), else fp32; restore the
   original order, store the new vectors in the cache.

Conventions: an empty text is encoded as the empty string ("[CLS] [SEP]" for BERT) and counted;
a text longer than ``max_length`` tokens is truncated (as every transformer encoder must) and
counted. Both counts are logged as a warning and kept in :data:`last_stats` (an
:class:`EncodeStats`). As in sentence-transformers, texts are stripped of surrounding whitespace.

>>> emb = encode("sentence-transformers/all-MiniLM-L6-v2", ["a cat", "a dog"], show_progress=False)
>>> emb.shape
(2, 384)
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lessonlib.core import config, runtime
from lessonlib.core.cache import EmbeddingCache, namespace
from lessonlib.retrieval.fusion import rrf
from lessonlib.core.hub import model_identity, resolve_model
from lessonlib.core.runs import Run, scores_to_run
from lessonlib.core.similarity import check_similarity, from_sentence_transformers

if TYPE_CHECKING:  # pragma: no cover
    from lessonlib.data import Dataset
    from lessonlib.dual.encoders import DualEncoder

log = logging.getLogger(__name__)



@dataclass
class EncodeStats:
    """What the last :func:`encode` call did."""

    n_texts: int = 0
    n_empty: int = 0  # texts that were empty (after stripping whitespace)
    n_truncated: int = 0  # texts longer than max_length tokens (cut)
    n_cached: int = 0  # served from the embedding cache
    n_encoded: int = 0  # run through the model
    max_length: int = 0
    cache_namespace: str | None = None
    token_lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


#: max_length values whose truncation was already reported as a warning in this process
_TRUNCATION_WARNED: set[int] = set()

#: Statistics of the most recent :func:`encode` call in this process.
last_stats = EncodeStats()

_MODELS: dict[tuple, Any] = {}  # models loaded by name in this process (and their quantised copies)


def load_model(name: str | os.PathLike, pooling: str | None = None, quantize: bool = False) -> DualEncoder:
    """A :class:`DualEncoder` for a model id or folder, loaded once per process (eval mode).

    A sentence-transformers folder keeps its own pooling/normalisation (read from its modules);
    ``pooling`` overrides the pooling. ``quantize=True`` returns an int8 dynamically quantised copy.
    """
    from lessonlib.dual.encoders import DualEncoder  # deferred: pulls in torch

    folder = resolve_model(name)
    key = (str(folder), pooling, quantize)
    if key not in _MODELS:
        if quantize:
            model = quantize_dynamic(load_model(name, pooling))
        else:
            model = DualEncoder.load(folder) if (folder / "modules.json").exists() or (folder / "dual_encoder.json").exists() \
                else DualEncoder.from_pretrained(folder)
            if pooling is not None and pooling != model.pooling:
                from lessonlib.dual.encoders.pooling import Pooling  # deferred: pulls in torch

                for tower in {id(model.query_tower): model.query_tower, id(model.doc_tower): model.doc_tower}.values():
                    tower.pooling = Pooling(pooling, tower.dim)
            model.source = str(name)
            model.eval()
        _MODELS[key] = model
    return _MODELS[key]


def quantize_dynamic(model: DualEncoder) -> DualEncoder:
    """An int8 copy of ``model``: every ``nn.Linear`` weight quantised to int8 per output channel,
    activations quantised on the fly per batch (dynamic quantisation; Jacob et al., 2018). CPU only.

    About 2x fewer FLOP-seconds in the linear layers that dominate a transformer on CPU, at a small
    accuracy cost (measure it: bench/bench_encode.py).
    """
    import warnings

    import torch
    from torch import nn

    clone = copy.deepcopy(model).cpu().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization deprecation notice
        from torch.ao.quantization import per_channel_dynamic_qconfig
        from torch.ao.quantization import quantize_dynamic as _qd

        for tower in {id(clone.query_tower): clone.query_tower, id(clone.doc_tower): clone.doc_tower}.values():
            if hasattr(tower, "model"):
                # one scale per output row: on MiniLM the mean cosine to fp32 vectors goes from
                # ~0.94 (one scale per matrix) to ~0.98
                tower.model = _qd(tower.model, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
    clone.quantized = True
    return clone


def fingerprint(model: DualEncoder) -> str:
    """SHA-1 of a model's weights and config (16 hex): a cache key for an in-memory model.

    >>> encode(model, texts, cache=fingerprint(model))   # cached as long as the weights are unchanged
    """
    import json

    digest = hashlib.sha1(json.dumps(model.config(), sort_keys=True, default=str).encode())
    import torch

    for name, tensor in sorted(model.state_dict().items()):
        if isinstance(tensor, torch.Tensor) and not tensor.is_quantized:
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def _batches(lengths: np.ndarray, order: np.ndarray, batch_size: int, max_length: int, grow: int = 4) -> list[np.ndarray]:
    """Cut ``order`` (indices sorted by length, longest first) into batches whose token count
    (rows x longest row) stays under ``batch_size * max_length``, at most ``grow * batch_size`` rows."""
    budget = batch_size * max_length
    out, start = [], 0
    n = len(order)
    while start < n:
        width = max(int(min(lengths[order[start]], max_length)), 1)
        rows = max(1, min(grow * batch_size, budget // width, n - start))
        rows = max(rows, min(batch_size, n - start))
        out.append(order[start : start + rows])
        start += rows
    return out


def encode(
    model: str | os.PathLike | DualEncoder,
    texts: Sequence[str],
    *,
    kind: str = "doc",
    batch_size: int = 64,
    max_length: int | None = None,
    quantize: bool = False,
    precision: str = "auto",
    cache: bool | str = True,
    show_progress: bool = True,
    device: str | None = None,
    num_threads: int | None = None,
    backend: str = "auto",
) -> np.ndarray:
    """Embed ``texts`` (n strings) with ``model`` -> float32 array (n, dim), rows in input order.

    Args:
        model: a model id / folder (resolved offline, loaded once per process) or a DualEncoder.
        kind: ``"doc"`` or ``"query"`` (which tower, and which token limit).
        batch_size: texts per batch at full length; shorter texts are batched more densely.
        max_length: token limit (default: the model's, 256 for all-MiniLM-L6-v2).
        quantize: int8 dynamic quantisation of the linear layers (CPU).
        precision: ``"fp32"``, ``"bf16"`` (autocast) or ``"auto"``: bf16 where the device multiplies
            bf16 in hardware (a recent GPU; a CPU with AMX or AVX512-BF16:
            :func:`lessonlib.core.runtime.native_bf16`), fp32 elsewhere and with ``quantize`` or ONNX.
            Vectors of the two precisions are cached apart.
        cache: ``True`` caches models given by name/path (keyed by their weights' SHA-256) and
            skips the cache for in-memory models; a string is the cache key for an in-memory model
            (e.g. :func:`fingerprint`); ``False`` never caches.
        device: where to run (default ``config.device()``; quantised models run on CPU).
        num_threads: ``torch.set_num_threads`` for this call (restored after).
        backend: ``"torch"``, ``"onnx"`` (ONNX Runtime, CPU; :mod:`lessonlib.core.runtime`) or
            ``"auto"`` (torch unless :data:`lessonlib.core.runtime.AUTO_ONNX`). fp32 vectors of the two
            backends agree to ~1e-6 and share the cache; int8 ones differ and are cached apart.

    Empty texts and truncated texts are counted: see :data:`last_stats` and the log.
    """
    global last_stats

    from lessonlib.dual.encoders import DualEncoder  # deferred: pulls in torch

    if kind not in ("doc", "query"):
        raise ValueError(f"encode(kind={kind!r}): kind must be 'doc' or 'query'")
    if batch_size < 1:
        raise ValueError(f"encode(batch_size={batch_size}): batch_size must be >= 1")
    if isinstance(texts, str):
        raise TypeError("encode(texts=...): texts must be a list of strings, got one str (wrap it in a list)")
    runtime.check_backend("encode", backend)
    texts = ["" if t is None else str(t).strip() for t in texts]
    n = len(texts)
    dev = "cpu" if quantize else (device or config.device())
    if precision == "auto" and (quantize or backend == "onnx"):
        precision = "fp32"  # int8 and ONNX Runtime run fp32 activations
    precision = runtime.choose_precision("encode", precision, dev)  # also rejects an unknown precision
    if backend == "onnx" and precision != "fp32":
        raise ValueError(f"encode(backend='onnx', precision={precision!r}): ONNX Runtime runs fp32 (or int8 with quantize=True)")
    engine = runtime.choose_backend(backend, dev, n) if precision == "fp32" else "torch"

    by_name = not isinstance(model, DualEncoder)
    resolved: DualEncoder | None = None if by_name else model
    if by_name:

        folder = resolve_model(model)
        identity = model_identity(folder)
        settings_src = _folder_settings(folder)
    else:
        identity = cache if isinstance(cache, str) else None
        settings_src = {"pooling": model.pooling, "normalize": model.normalize,
                        "projection_dim": model.projection_dim, "shared": model.shared}
    if max_length is None:
        max_length = settings_src.get("max_length") if by_name else model.max_length_for(kind)
    use_cache = cache is not False and identity is not None
    ns = None
    if use_cache:

        settings = {**settings_src, "model": identity, "max_length": int(max_length),
                    "quantize": ("onnx-int8" if engine == "onnx" else True) if quantize else False,
                    "precision": precision}
        if not settings_src.get("shared", True):
            settings["kind"] = kind
        ns = namespace(**settings)
        store = EmbeddingCache(ns, settings={**settings, "source": str(model if by_name else "in-memory")})
        out, lengths, found = store.get(texts)
    else:
        out, lengths, found = None, np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=bool)

    missing = np.flatnonzero(~found)
    if len(missing):
        if resolved is None:
            resolved = load_model(model)
        run_model = resolved
        if quantize and engine == "torch":
            if by_name:
                run_model = load_model(model, quantize=True)
            elif getattr(resolved, "quantized", False):
                run_model = resolved
            else:
                run_model = quantize_dynamic(resolved)
        todo = [texts[i] for i in missing]
        pending: list[np.ndarray] = []  # positions in `todo` encoded but not yet stored

        def flush(new: np.ndarray, new_lens: np.ndarray) -> None:
            # Store what is done so far, so an interrupted run keeps its work.
            if use_cache and pending:
                rows = np.concatenate(pending)
                store.put([todo[i] for i in rows], new[rows], new_lens[rows])
            pending.clear()

        new, new_lens = _encode_missing(run_model, todo, kind, batch_size, int(max_length), precision, dev,
                                        show_progress, num_threads, pending, flush,
                                        engine=engine, int8=bool(quantize))
        if out is None:
            out = np.zeros((n, new.shape[1]), dtype=np.float32)
        out[missing] = new
        lengths[missing] = new_lens
    if out is None:  # no texts at all
        dim = resolved.dim if resolved is not None else load_model(model).dim
        out = np.zeros((0, dim), dtype=np.float32)

    n_empty = sum(1 for t in texts if not t)
    n_truncated = int((lengths > max_length).sum())
    last_stats = EncodeStats(n_texts=n, n_empty=n_empty, n_truncated=n_truncated, n_cached=int(found.sum()),
                             n_encoded=len(missing), max_length=int(max_length), cache_namespace=ns,
                             token_lengths=lengths)
    if n_empty:
        log.warning("encode: %d of %d texts are empty (encoded as the empty string)", n_empty, n)
    if n_truncated:  # a warning once per max_length in a process, then at INFO (counted in last_stats)
        level = logging.INFO if max_length in _TRUNCATION_WARNED else logging.WARNING
        _TRUNCATION_WARNED.add(max_length)
        log.log(level, "encode: %d of %d texts are longer than max_length=%d tokens and were truncated%s",
                n_truncated, n, max_length, "" if level == logging.INFO else " (said once per max_length; see encode.last_stats)")
    return out


def _folder_settings(folder: Path) -> dict:
    """Pooling / normalisation / max_length of a saved model folder, without loading weights."""
    import json

    own = folder / "dual_encoder.json"
    if own.exists():
        cfg = json.loads(own.read_text())
        tower = cfg["towers"]["doc"]
        return {"pooling": tower.get("pooling"), "normalize": cfg["normalize"], "projection_dim": cfg["projection_dim"],
                "shared": cfg["shared"], "max_length": tower.get("max_length", 256), "format": "lessonlib"}
    settings: dict[str, Any] = {"shared": True, "format": "st"}
    modules = folder / "modules.json"
    if modules.exists():
        mods = json.loads(modules.read_text())
        settings["modules"] = [m["type"].rsplit(".", 1)[-1] for m in mods]
        for m in mods:
            if m["type"].endswith("Pooling"):
                settings["pooling_config"] = json.loads((folder / m["path"] / "config.json").read_text())
            if m["type"].endswith("Transformer"):
                for cand in (folder / m["path"] / "sentence_bert_config.json", folder / "sentence_bert_config.json"):
                    if cand.exists():
                        settings["max_length"] = json.loads(cand.read_text()).get("max_seq_length")
                        break
    settings["max_length"] = settings.get("max_length") or 512
    return settings


def _encode_missing(model, texts, kind, batch_size, max_length, precision, device, show_progress, num_threads,
                    pending, flush, flush_every: int = 1024, engine: str = "torch", int8: bool = False):
    import torch
    from tqdm.auto import tqdm

    tower = model.tower(kind)
    ids = tower.pretokenize(texts)
    lengths = np.fromiter((len(r) for r in ids), dtype=np.int64, count=len(ids))
    order = np.argsort(-np.minimum(lengths, max_length), kind="stable")
    batches = _batches(lengths, order, batch_size, max_length)
    old_threads = torch.get_num_threads()
    if num_threads:
        torch.set_num_threads(num_threads)
    was_training = model.training
    model.eval()
    out = np.zeros((len(texts), model.dim), dtype=np.float32)
    try:
        if model.device != torch.device(device):
            model.to(device)
        graph = None
        if engine == "onnx":
            if model.device != torch.device("cpu"):
                model.to("cpu")
            example = tower.collate([ids[i] for i in batches[0][:2]], max_length)  # the longest texts
            check = tower.collate([ids[i] for i in batches[-1][:3]], max_length)  # the shortest: another shape
            graph = runtime.compile_or_torch("encode", model, example, name=f"dual-{kind}", int8=int8, check=check,
                                             call=lambda feed: model.forward_batch(feed, kind))
            if graph is None and int8:
                model = quantize_dynamic(model)
        runner, amp = runtime.inference_runner(model, precision, device, len(texts), batch_size)
        with torch.inference_mode(), torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=amp):
            bar = tqdm(total=len(texts), desc=f"encode {kind}s", unit="text", disable=not show_progress or len(texts) < 2)
            for idx in batches:
                batch = tower.collate([ids[i] for i in idx], max_length)
                if graph is not None:
                    out[idx] = graph(**batch)
                else:
                    batch = {k: v.to(device) for k, v in batch.items()}
                    out[idx] = runner.forward_batch(batch, kind).float().cpu().numpy()
                bar.update(len(idx))
                pending.append(idx)
                if sum(len(p) for p in pending) >= flush_every:
                    flush(out, lengths)
            bar.close()
    finally:
        flush(out, lengths)  # also on Ctrl-C: finished batches stay cached
        if num_threads:
            torch.set_num_threads(old_threads)
        if was_training:
            model.train()
    return out, lengths


# ----------------------------------------------------------------------------- runs
def _similarity_of(model) -> str:
    from lessonlib.dual.encoders import DualEncoder  # deferred: pulls in torch

    if isinstance(model, DualEncoder):
        return model.similarity.kind
    return load_model_similarity(model)


def load_model_similarity(name: str | os.PathLike) -> str:
    """The similarity a saved model declares (``dual_encoder.json``, or
    ``config_sentence_transformers.json`` translated to lessonlib's names: ``"dot"`` -> ``"ip"``,
    ``"euclidean"`` -> ``"l2"``), default cosine."""
    import json

    folder = resolve_model(name)
    own = folder / "dual_encoder.json"
    if own.exists():
        return json.loads(own.read_text())["similarity"]
    st = folder / "config_sentence_transformers.json"
    if st.exists():
        return from_sentence_transformers(json.loads(st.read_text()).get("similarity_fn_name"))
    return "cosine"


def dense_scores(q_emb: np.ndarray, d_emb: np.ndarray, similarity: str = "cosine", weight: np.ndarray | None = None) -> np.ndarray:
    """Score matrix (nq, nd) of query and document embeddings under ``similarity`` (``"ip"`` |
    ``"cosine"`` | ``"l2"`` | ``"bilinear"`` with its ``weight``; :mod:`lessonlib.core.similarity`)."""
    check_similarity("dense_scores", similarity)
    from lessonlib.dual.encoders.similarity import similarity_matrix  # deferred: pulls in torch

    return similarity_matrix(q_emb, d_emb, similarity, weight)


def dense_run(
    dataset: Dataset,
    model: str | os.PathLike | DualEncoder = config.DEFAULT_MODEL,
    k: int = 100,
    **encode_kwargs,
) -> Run:
    """Exhaustive dense retrieval: encode the corpus (cached) and the queries, rank by the model's
    similarity (cosine for all-MiniLM-L6-v2), keep the top ``k`` per query.

    >>> run = dense_run(load_dataset("scifact"), k=100)   # nDCG@10 = 0.645 on SciFact test
    """
    if k < 1:
        raise ValueError(f"dense_run(k={k}): k must be >= 1")
    doc_ids = dataset.doc_ids
    qids = list(dataset.queries)
    d_emb = encode(model, dataset.doc_texts(), kind="doc", **encode_kwargs)
    q_emb = encode(model, [dataset.queries[q] for q in qids], kind="query",
                   **{**encode_kwargs, "show_progress": False})
    sim = _similarity_of(model)
    weight = None
    if sim == "bilinear":
        weight = (model if not isinstance(model, (str, os.PathLike)) else load_model(model)).similarity.weight.detach().cpu().numpy()
    run: Run = {}
    step = 256  # queries per block: bounds the (block, n_docs) score matrix
    for start in range(0, len(qids), step):
        scores = dense_scores(q_emb[start : start + step], d_emb, sim, weight)
        run.update(scores_to_run(qids[start : start + step], doc_ids, scores, k))
    return run


def hybrid_run(
    dataset: Dataset,
    model: str | os.PathLike | DualEncoder = config.DEFAULT_MODEL,
    k: int = 100,
    rrf_k: float = 60.0,
    **encode_kwargs,
) -> Run:
    """RRF(BM25, dense) (Cormack et al., 2009): ``sum_r 1 / (rrf_k + rank_r(d))`` over the top ``k``
    of each, top ``k`` kept. BM25 is :class:`lessonlib.retrieval.bm25.BM25`, fusion :func:`lessonlib.retrieval.fusion.rrf`."""
    from lessonlib.retrieval.bm25 import BM25  # deferred: pulls in scipy

    if k < 1:
        raise ValueError(f"hybrid_run(k={k}): k must be >= 1")
    sparse = BM25().retrieve(dataset, k=k)
    dense = dense_run(dataset, model, k=k, **encode_kwargs)
    return rrf([sparse, dense], k=rrf_k, depth=k)


def encode_poolings(
    model: str | os.PathLike = config.DEFAULT_MODEL,
    texts: Sequence[str] = (),
    poolings: Sequence[str] = ("cls", "mean", "max"),
    *,
    normalize: bool = False,
    batch_size: int = 64,
    max_length: int | None = None,
    cache: bool = True,
    show_progress: bool = True,
) -> dict[str, np.ndarray]:
    """Several poolings of ONE transformer pass: {pooling: float32 (n, dim)}.

    Pooling only post-processes the last layer's token vectors (B, T, h), so cls, mean and max
    cost one forward pass together. Attention pooling needs learned weights and is not offered.
    Cached per pooling (same store as :func:`encode`, keyed with the pooling and normalisation).
    """
    from lessonlib.dual.encoders.pooling import Pooling  # deferred: pulls in torch

    bad = [p for p in poolings if p not in ("cls", "mean", "max")]
    if bad:
        raise ValueError(f"encode_poolings(poolings={list(poolings)!r}): each must be cls, mean or max")
    texts = ["" if t is None else str(t).strip() for t in texts]
    folder = resolve_model(model)
    base = load_model(model)
    max_length = int(max_length or base.max_length)
    stores = {p: EmbeddingCache(namespace(model=model_identity(folder), max_length=max_length, pooling=p,
                                          normalize=normalize, kind="encode_poolings"),
                                settings={"model": str(model), "pooling": p, "normalize": normalize, "max_length": max_length})
              for p in poolings}
    tower = base.doc_tower
    pools = {p: Pooling(p, tower.dim) for p in poolings}

    def views(batch):
        hidden = tower.token_vectors(batch)
        return {p: pool(hidden, batch["attention_mask"]) for p, pool in pools.items()}

    return cached_views(texts, stores, tower, base.dim, base.device, views, batch_size, max_length, normalize,
                        cache, show_progress, desc="encode (poolings)")


def cached_views(texts: list[str], stores: dict, tower, dim: int, device, views: Callable[[dict], dict],
                 batch_size: int, max_length: int, normalize: bool, cache: bool, show_progress: bool,
                 desc: str) -> dict:
    """Several vectors per text from ONE forward pass per batch, each cached in its own store.

    ``stores``: key -> :class:`EmbeddingCache`; ``views(batch)`` -> key -> (B, dim) tensor. Texts missing
    from any store are tokenised once, batched by length (as :func:`encode`), run once, and every view
    is stored. Used by :func:`encode_poolings` and :func:`lessonlib.dual.depth.encode_depths`.
    """
    import torch
    from tqdm.auto import tqdm

    out, missing = {}, np.zeros(len(texts), dtype=bool)
    for key, store in stores.items():
        vecs, _, found = store.get(texts) if cache else (None, None, np.zeros(len(texts), bool))
        out[key] = vecs if vecs is not None else np.zeros((len(texts), dim), dtype=np.float32)
        missing |= ~found
    todo = np.flatnonzero(missing)
    if not len(todo):
        return out
    ids = tower.pretokenize([texts[i] for i in todo])
    lengths = np.fromiter((len(r) for r in ids), dtype=np.int64, count=len(ids))
    order = np.argsort(-np.minimum(lengths, max_length), kind="stable")
    new = {key: np.zeros((len(todo), dim), dtype=np.float32) for key in stores}
    with torch.inference_mode():
        bar = tqdm(total=len(todo), desc=desc, unit="text", disable=not show_progress)
        for idx in _batches(lengths, order, batch_size, max_length):
            batch = {k: v.to(device) for k, v in tower.collate([ids[i] for i in idx], max_length).items()}
            for key, v in views(batch).items():
                new[key][idx] = (torch.nn.functional.normalize(v, dim=-1) if normalize else v).float().cpu().numpy()
            bar.update(len(idx))
        bar.close()
    for key, store in stores.items():
        out[key][todo] = new[key]
        if cache:
            store.put([texts[i] for i in todo], new[key], lengths)
    return out
