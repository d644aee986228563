"""Data-parallel training helpers on torch.distributed: cross-device negatives and GradCache.

Launch with torchrun (one process per GPU, or several CPU processes with gloo)::

    torchrun --nproc_per_node 2 -m lessonlib.workbook.cli train-dual --data scifact --out runs/ddp

Cross-device in-batch negatives
-------------------------------
With N ranks each holding a local batch of B (query, document) pairs, every rank gathers the
document embeddings of all ranks *with their autograd graph* (:func:`all_gather_with_grad`), so
the InfoNCE denominator of each local query runs over N·B documents instead of B:

    L_r = -(1/B) Σ_{i ∈ rank r} log( exp(s(q_i, d_i)/τ) / Σ_{j=1}^{N·B} exp(s(q_i, d_j)/τ) )

The backward pass of the gather sums, for each rank's local embeddings, the gradients that every
rank's loss sends to them; DistributedDataParallel then averages parameter gradients over ranks,
so the update equals that of one process computing the mean loss over the global batch
(Qu et al. 2021, RocketQA "cross-batch negatives"; Karpukhin et al. 2020, DPR).

GradCache (Gao et al. 2021, "Scaling Deep Contrastive Learning Batch Size under Memory Limited
Setup") makes a large batch fit on one device: embed all chunks without a graph, compute the loss
and its gradient with respect to the embeddings, then re-embed chunk by chunk with a graph and
back-propagate the cached embedding gradients. Dropout masks are replayed by restoring the RNG
state per chunk, so the result equals the full-batch gradient.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from lessonlib.dual.encoders.dual import embed_tokens
from lessonlib.losses._similarity import score_matrix


def is_distributed() -> bool:
    """True inside an initialised process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """Rank 0 (or a single process): the one that logs, evaluates and writes checkpoints."""
    return rank() == 0


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init_from_env(backend: str | None = None) -> torch.device:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, MASTER_ADDR, ...).

    Backend: NCCL when CUDA is available, gloo otherwise. Returns this rank's device.
    Without torchrun's variables it does nothing and returns the default device.
    """
    if not launched_by_torchrun():
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if not is_distributed():
        dist.init_process_group(backend=backend)
    if backend == "nccl":
        local = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def all_gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` (B, d) from every rank along dim 0 -> (world*B, d), keeping gradients.

    Rank order is preserved, so the rows of rank r sit at ``[r*B:(r+1)*B]``. Every rank must pass
    the same shape. Outside a process group this is the identity.
    """
    if not is_distributed() or world_size() == 1:
        return tensor
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(tensor.contiguous()), dim=0)


def gathered_infonce(q: torch.Tensor, d: torch.Tensor, temperature: float = 0.05) -> torch.Tensor:
    """InfoNCE of local queries against the documents of ALL ranks (cross-device negatives).

    ``q`` and ``d`` are this rank's (B, dim) L2-normalised query and positive-document embeddings;
    query i's positive is the gathered row ``rank*B + i``.
    """
    docs = all_gather_with_grad(d)
    logits = q @ docs.T / temperature
    offset = rank() * q.shape[0]
    labels = torch.arange(q.shape[0], device=q.device) + offset
    return torch.nn.functional.cross_entropy(logits, labels)


@contextlib.contextmanager
def _replay_rng(state: tuple[torch.Tensor, list[torch.Tensor] | None]) -> Iterator[None]:
    cpu_state, cuda_states = state
    with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if cuda_states else []):
        torch.set_rng_state(cpu_state)
        if cuda_states:
            torch.cuda.set_rng_state_all(cuda_states)
        yield


def _rng_state() -> tuple[torch.Tensor, list[torch.Tensor] | None]:
    return torch.get_rng_state(), (torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None)


def grad_cache_step(
    embed_fns: Sequence[Callable[[object], torch.Tensor]],
    inputs: Sequence[Sequence[object]],
    loss_fn: Callable[..., torch.Tensor],
) -> torch.Tensor:
    """One GradCache forward/backward: the gradient of ``loss_fn`` over the full batch, in chunks.

    ``embed_fns[t]`` maps one chunk of tower t's input to embeddings (chunk, dim);
    ``inputs[t]`` is the list of chunks for tower t (e.g. ``[queries[0:8], queries[8:16], ...]``);
    ``loss_fn(*full_embeddings)`` takes one (B, dim) tensor per tower. Parameter gradients are
    accumulated into ``.grad`` exactly as ``loss_fn(*[cat(embed(chunks))]).backward()`` would,
    while only one chunk's activation graph lives in memory at a time. Returns the loss (detached).

    >>> loss = grad_cache_step([model.embed_queries, model.embed_docs],
    ...                        [chunks(queries, 8), chunks(docs, 8)], infonce)
    """
    if len(embed_fns) != len(inputs):
        raise ValueError(f"grad_cache_step: {len(embed_fns)} embed functions but {len(inputs)} inputs")
    states: list[list] = []
    reps: list[torch.Tensor] = []
    # 1. Embed every chunk without a graph, remembering the RNG state for the replay.
    with torch.no_grad():
        for fn, chunks in zip(embed_fns, inputs):
            tower_states, outs = [], []
            for chunk in chunks:
                tower_states.append(_rng_state())
                outs.append(fn(chunk))
            states.append(tower_states)
            reps.append(torch.cat(outs, dim=0))
    # 2. Loss on the full batch of embeddings; gradient with respect to the embeddings only.
    leaves = [r.detach().requires_grad_(True) for r in reps]
    loss = loss_fn(*leaves)
    loss.backward()
    # 3. Re-embed chunk by chunk with a graph and push the cached embedding gradients through.
    for fn, chunks, tower_states, leaf in zip(embed_fns, inputs, states, leaves):
        start = 0
        for chunk, state in zip(chunks, tower_states):
            with _replay_rng(state):
                out = fn(chunk)
            out.backward(leaf.grad[start : start + out.shape[0]])
            start += out.shape[0]
    return loss.detach()


def chunks(items: Sequence, size: int) -> list:
    """Split ``items`` into consecutive chunks of ``size`` (the last may be shorter)."""
    if size < 1:
        raise ValueError(f"chunks(size={size}): size must be >= 1")
    return [items[i : i + size] for i in range(0, len(items), size)]


def shard_bounds(n: int, rank_: int | None = None, world: int | None = None) -> tuple[int, int]:
    """The contiguous [start, stop) range of ``n`` items that rank ``rank_`` of ``world`` owns."""
    rank_ = rank() if rank_ is None else rank_
    world = world_size() if world is None else world
    per = -(-n // world)
    return min(rank_ * per, n), min((rank_ + 1) * per, n)


def encode_shard_to_memmap(
    texts: Sequence[str],
    encode_fn: Callable[[Sequence[str]], np.ndarray],
    out_dir: str | os.PathLike,
    dim: int,
    rank_: int | None = None,
    world: int | None = None,
) -> Path:
    """Distributed corpus encoding: this rank encodes its shard into ``out_dir/shard-<rank>.npy``.

    The file is a memory-mapped float32 .npy (rows in corpus order within the shard), written to a
    temporary name and renamed when complete. :func:`load_shards` stitches the shards back.
    """
    rank_ = rank() if rank_ is None else rank_
    world = world_size() if world is None else world
    start, stop = shard_bounds(len(texts), rank_, world)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"shard-{rank_:03d}-of-{world:03d}.npy"
    tmp = out_dir / f".shard-{rank_:03d}.npy.tmp"
    mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(stop - start, dim))
    if stop > start:
        mm[:] = np.asarray(encode_fn(list(texts[start:stop])), dtype=np.float32)
    mm.flush()
    del mm
    os.replace(tmp, final)
    return final


def load_shards(out_dir: str | os.PathLike, world: int) -> np.ndarray:
    """All shards of :func:`encode_shard_to_memmap`, in corpus order (memory-mapped, then stacked)."""
    out_dir = Path(out_dir)
    paths = [out_dir / f"shard-{r:03d}-of-{world:03d}.npy" for r in range(world)]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"load_shards: missing shard files {missing}")
    return np.concatenate([np.load(p, mmap_mode="r") for p in paths], axis=0)


# --------------------------------------------------------------------------- data-parallel dual-encoder training


def gathered_infonce_with_negatives(
    q: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor | None, temperature: float = 0.05, similarity: str = "cosine"
) -> torch.Tensor:
    """InfoNCE of this rank's queries against the positives AND hard negatives of every rank.

    ``q``, ``pos``: (b, dim) local; ``neg``: (b, n, dim) local hard negatives or None. The candidate
    set of each query is {all N·b positives} ∪ {all N·b·n negatives}; query i of rank r has its
    positive at column r·b + i. This is :class:`lessonlib.losses.InfoNCELoss` with shared negatives
    over the global batch (the order of candidate columns does not change a softmax), so with
    DDP's gradient averaging the update equals one process's update on the global batch.
    """
    b = q.shape[0]
    scores = [score_matrix(q, all_gather_with_grad(pos), similarity)]
    if neg is not None and neg.numel():
        flat = neg.reshape(-1, neg.shape[-1])
        scores.append(score_matrix(q, all_gather_with_grad(flat), similarity))
    logits = torch.cat(scores, dim=1) / temperature
    labels = torch.arange(b, device=q.device) + rank() * b
    return torch.nn.functional.cross_entropy(logits, labels)


def local_slice(batch: Sequence, rank_: int | None = None, world: int | None = None) -> list:
    """This rank's contiguous share of a global batch; every rank gets ``len(batch) // world`` items.

    The remainder (fewer than ``world`` examples at the end of the batch) is dropped so that every
    rank's tensors have the same shape, as the all-gather needs (DistributedSampler's
    ``drop_last`` does the same for datasets).
    """
    rank_ = rank() if rank_ is None else rank_
    world = world_size() if world is None else world
    per = len(batch) // world
    return list(batch[rank_ * per : (rank_ + 1) * per])


def shard_batches(batches_fn: Callable[[int], Sequence], world: int | None = None) -> Callable[[int], list]:
    """Wrap ``epoch -> global batches`` into ``epoch -> this rank's slices`` (a distributed sampler).

    Every rank builds the same global batches from the same seed, then keeps its slice, so the N
    ranks together see exactly the batches a single process would (minus remainders, see
    :func:`local_slice`). Batches with fewer than ``world`` examples are skipped.
    """
    world = world_size() if world is None else world

    def make(epoch: int) -> list:
        return [local_slice(b, world=world) for b in batches_fn(epoch) if len(b) >= world]

    return make


def broadcast_from_main(fn: Callable[[], object]) -> object:
    """Run ``fn`` on rank 0 only and hand its (picklable) result to every rank."""
    if not is_distributed():
        return fn()
    box = [fn() if is_main() else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class TowerPair(torch.nn.Module):
    """One module whose ``forward`` embeds a batch of queries and a batch of documents.

    DistributedDataParallel synchronises gradients for what runs inside its ``forward``; a dual
    encoder embeds two inputs per step, so both go through one forward here.
    """

    def __init__(self, model: torch.nn.Module, query_max_length: int, doc_max_length: int) -> None:
        super().__init__()
        self.model = model
        self.query_max_length = query_max_length
        self.doc_max_length = doc_max_length

    def forward(self, query_tokens: list, doc_tokens: list) -> tuple[torch.Tensor, torch.Tensor]:
        q = embed_tokens(self.model, "query", query_tokens, self.query_max_length)
        d = embed_tokens(self.model, "doc", doc_tokens, self.doc_max_length)
        return q, d


def wrap_ddp(module: torch.nn.Module, device: torch.device | str) -> torch.nn.Module:
    """``DistributedDataParallel(module)`` on this rank's device (unused parameters allowed:
    a transformer's pooler, say, gets no gradient from mean pooling)."""
    device = torch.device(device)
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids, find_unused_parameters=True)
