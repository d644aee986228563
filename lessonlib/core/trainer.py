"""A small, model-agnostic trainer: AdamW, warm-up + decay, clipping, accumulation, checkpoints.

What it does, in the order of one optimizer step::

    for each micro-batch b of the accumulation window (grad_accum of them):
        loss_b = loss_fn(model, b) / grad_accum          # bf16 autocast where the device has native bf16
        loss_b.backward()
    clip ||g||_2 to max_grad_norm;  AdamW step;  lr schedule step;  callbacks

* AdamW (Loshchilov & Hutter, 2019) with decoupled weight decay, *not* applied to biases and
  normalisation weights (the BERT recipe, Devlin et al., 2019).
* Learning rate: linear warm-up for ``warmup`` steps to ``lr``, then linear or cosine decay to 0
  (Goyal et al., 2017; Loshchilov & Hutter, 2017).
* Layer-wise learning-rate decay (Clark et al., 2020, ELECTRA; Sun et al., 2019): the transformer
  layer at depth l of L gets ``lr * layer_decay ** (L + 1 - l)``; embeddings are depth 0, heads L + 1.
* Checkpoints every ``checkpoint_every`` steps: weights in safetensors, optimizer / scheduler state
  through ``torch.save`` (loaded with ``weights_only=True``), counters and RNG states in JSON. A
  resumed run repeats the interrupted one exactly (same batches, same dropout masks on CPU).
* ``bf16``: the forward pass under bf16 autocast (weights and gradients stay fp32; Kalamkar et al. 2019)
  where the device multiplies bf16 natively — a recent GPU, or a CPU with AMX or AVX512-BF16
  (:func:`lessonlib.core.runtime.choose_precision`, so ``LESSONLIB_PRECISION=fp32`` turns it off).
* A loss that is NaN or infinite stops training with :class:`NonFiniteLossError` before any weight
  is touched; the checkpoints already written are kept.

Example::

    trainer = Trainer(model, lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(),
                      TrainerConfig(lr=1e-3, epochs=3, batch_size=8))
    history = trainer.train(examples)   # list of {"step", "epoch", "loss", "lr", ...}
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lessonlib.core import runtime
from lessonlib.core.config import seed_everything
from lessonlib.core.io import atomic_dir, verify_folder

LossFn = Callable[[torch.nn.Module, Any], "torch.Tensor | tuple[torch.Tensor, dict]"]
EvalFn = Callable[[torch.nn.Module], dict]

_NO_DECAY = re.compile(r"(bias|layernorm|layer_norm|\bln|norm\.weight|LayerNorm)", re.IGNORECASE)
_LAYER_INDEX = re.compile(r"\.(?:layer|layers|h|block|blocks)\.(\d+)\.")


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; training stopped with the weights of the last good step."""


@dataclass
class TrainerConfig:
    """Every knob of :class:`Trainer`; defaults are the BERT fine-tuning recipe.

    ``warmup`` is a fraction of the total steps when < 1, else a number of steps.
    ``schedule`` is ``"linear"``, ``"cosine"`` or ``"constant"`` (after warm-up).
    ``max_steps`` (optimizer steps) overrides ``epochs`` when set.
    """

    lr: float = 2e-5
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    warmup: float = 0.1
    schedule: str = "linear"
    epochs: int = 1
    max_steps: int | None = None
    batch_size: int = 32
    drop_last: bool = False
    shuffle: bool = True
    grad_accum: int = 1
    max_grad_norm: float | None = 1.0
    layer_decay: float | None = None
    bf16: bool = True
    seed: int = 0
    deterministic: bool = True
    checkpoint_every: int | None = None
    checkpoint_dir: str | None = None
    keep_checkpoints: int = 2
    eval_every: int | None = None
    select_metric: str | None = None
    log_every: int = 1
    progress: bool = True
    device: str | None = None

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"TrainerConfig(lr={self.lr}): lr must be > 0")
        if self.schedule not in {"linear", "cosine", "constant"}:
            raise ValueError(f"TrainerConfig(schedule={self.schedule!r}): expected 'linear', 'cosine' or 'constant'")
        if self.grad_accum < 1:
            raise ValueError(f"TrainerConfig(grad_accum={self.grad_accum}): grad_accum must be >= 1")
        if self.batch_size < 1:
            raise ValueError(f"TrainerConfig(batch_size={self.batch_size}): batch_size must be >= 1")
        if self.epochs < 1 and not self.max_steps:
            raise ValueError(f"TrainerConfig(epochs={self.epochs}): epochs must be >= 1")
        if self.layer_decay is not None and not 0 < self.layer_decay <= 1:
            raise ValueError(f"TrainerConfig(layer_decay={self.layer_decay}): expected a value in (0, 1]")
        if self.checkpoint_every and not self.checkpoint_dir:
            raise ValueError("TrainerConfig(checkpoint_every=...): checkpoint_dir must be set too")


# --------------------------------------------------------------------------- parameter groups


def _layer_depth(name: str, n_layers: int) -> int:
    match = _LAYER_INDEX.search("." + name)
    if match:
        return int(match.group(1)) + 1
    if "embed" in name.lower():
        return 0
    return n_layers + 1


def parameter_groups(
    model: torch.nn.Module, lr: float, weight_decay: float, layer_decay: float | None = None
) -> list[dict]:
    """AdamW parameter groups: no decay on 1-D parameters (biases, norms); optional layer-wise lr decay.

    Layer depth is read from the parameter name (``...layer.3...`` → depth 4; embeddings 0; the
    rest, e.g. pooler or heads, L + 1); the group's lr is ``lr * layer_decay ** (L + 1 - depth)``.
    """
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    indices = [int(m.group(1)) for n, _ in named if (m := _LAYER_INDEX.search("." + n))]
    n_layers = max(indices) + 1 if indices else 0
    groups: dict[tuple[int, bool], dict] = {}
    for name, param in named:
        no_decay = param.ndim < 2 or bool(_NO_DECAY.search(name))
        depth = _layer_depth(name, n_layers) if layer_decay else 0
        key = (depth, no_decay)
        if key not in groups:
            scale = layer_decay ** (n_layers + 1 - depth) if layer_decay else 1.0
            groups[key] = {"params": [], "names": [], "weight_decay": 0.0 if no_decay else weight_decay, "lr": lr * scale}
        groups[key]["params"].append(param)
        groups[key]["names"].append(name)
    return [groups[k] for k in sorted(groups)]


def lr_lambda(step: int, total: int, warmup: int, schedule: str) -> float:
    """Multiplier of the peak lr at optimizer step ``step`` (0-based): warm-up, then decay to 0."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    progress = min(max(progress, 0.0), 1.0)
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0 - progress


# --------------------------------------------------------------------------- RNG state


def _rng_state() -> dict:
    np_state = np.random.get_state()
    return {
        "python": _to_json(random.getstate()),
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
    }


def _to_json(value):
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


def _to_tuple(value):
    if isinstance(value, list):
        return tuple(_to_tuple(v) for v in value)
    return value


def _set_rng_state(state: dict) -> None:
    random.setstate(_to_tuple(state["python"]))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))


@contextlib.contextmanager
def _deterministic(enabled: bool):
    if not enabled:
        yield
        return
    previous = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=previous_warn)


# --------------------------------------------------------------------------- the trainer


@dataclass
class TrainState:
    """Counters saved with every checkpoint."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # current epoch (0-based)
    batch_in_epoch: int = 0  # micro-batches of this epoch already consumed
    history: list = field(default_factory=list)
    best_metric: float | None = None
    best_step: int | None = None


class Trainer:
    """Trains ``model`` by minimising ``loss_fn(model, batch)``; see the module docstring.

    ``data`` given to :meth:`train` is either a sequence of examples (the trainer shuffles them
    with ``seed + epoch`` and cuts batches of ``batch_size``, then ``collate`` turns a list of
    examples into a batch) or a callable ``epoch -> sequence of batches`` (for negatives that are
    re-mined every epoch). Batches made of JSON types are saved in checkpoints, so a resumed run
    sees exactly the batches of the interrupted one.

    ``eval_fn(model) -> dict`` runs every ``eval_every`` steps and at the end; with
    ``select_metric`` the weights of the best evaluation are restored at the end (early stopping
    on a validation split). ``callbacks`` are called as ``cb(trainer)`` after each optimizer step
    (e.g. an EMA teacher update).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn: LossFn,
        config: TrainerConfig | None = None,
        eval_fn: EvalFn | None = None,
        callbacks: Sequence[Callable[["Trainer"], None]] = (),
        collate: Callable[[list], Any] | None = None,
        extra_params: Sequence[torch.nn.Parameter] = (),
    ) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.config = config or TrainerConfig()
        self.eval_fn = eval_fn
        self.callbacks = list(callbacks)
        self.collate = collate
        self.extra_params = list(extra_params)
        self.device = self.config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.state = TrainState()
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler = None
        self._best_weights: dict | None = None
        self._epoch_batches: list | None = None
        self.total_steps = 0

    # ----------------------------------------------------------------- data

    @property
    def history(self) -> list[dict]:
        """One dict per logged step: ``step, epoch, loss, lr`` (+ ``eval`` dicts when evaluated)."""
        return self.state.history

    def _batches_for_epoch(self, data, epoch: int) -> list:
        if callable(data):
            return list(data(epoch))
        n = len(data)
        order = np.arange(n)
        if self.config.shuffle:
            order = np.random.default_rng(self.config.seed + 1000003 * epoch).permutation(n)
        size = self.config.batch_size
        stop = (n // size) * size if self.config.drop_last else n
        batches = []
        for start in range(0, stop, size):
            items = [data[int(i)] for i in order[start : start + size]]
            batches.append(self.collate(items) if self.collate else items)
        return batches

    # ----------------------------------------------------------------- set-up

    def _build_optimizer(self, steps_per_epoch: int) -> None:
        cfg = self.config
        groups = parameter_groups(self.model, cfg.lr, cfg.weight_decay, cfg.layer_decay)
        if self.extra_params:
            groups.append({"params": self.extra_params, "names": ["extra"], "weight_decay": 0.0, "lr": cfg.lr})
        for g in groups:
            g.pop("names", None)
        fused = self.device.startswith("cuda")
        self.optimizer = torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, **({"fused": True} if fused else {}))
        self.total_steps = cfg.max_steps or max(1, cfg.epochs * math.ceil(steps_per_epoch / cfg.grad_accum))
        warmup = int(cfg.warmup * self.total_steps) if cfg.warmup < 1 else int(cfg.warmup)
        total, schedule = self.total_steps, cfg.schedule
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: lr_lambda(s, total, warmup, schedule))

    # ----------------------------------------------------------------- checkpoints

    def checkpoints(self) -> list[Path]:
        """Complete checkpoints in ``checkpoint_dir``, oldest first."""
        if not self.config.checkpoint_dir:
            return []
        folder = Path(self.config.checkpoint_dir)
        found = [p for p in folder.glob("step-*") if (p / "trainer_state.json").exists()]
        return sorted(found, key=lambda p: int(p.name.split("-")[1]))

    def save_checkpoint(self, folder: str | os.PathLike | None = None) -> Path:
        """Write weights (safetensors), optimizer + scheduler (torch.save), counters and RNG (JSON)."""
        from safetensors.torch import save_model

        if folder is None:
            if not self.config.checkpoint_dir:
                raise ValueError("save_checkpoint(folder=None): set TrainerConfig.checkpoint_dir or pass a folder")
            folder = Path(self.config.checkpoint_dir) / f"step-{self.state.step:08d}"
        folder = Path(folder)
        with atomic_dir(folder) as tmp:
            save_model(self.model, str(tmp / "model.safetensors"))
            torch.save(
                {
                    "optimizer": self.optimizer.state_dict(),
                    "scheduler": self.scheduler.state_dict(),
                    "torch_rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                },
                tmp / "optimizer.pt",
            )
            meta = {"state": asdict(self.state), "rng": _rng_state(), "config": _jsonable(asdict(self.config))}
            if self._epoch_batches is not None:
                try:
                    meta["epoch_batches"] = json.loads(json.dumps(self._epoch_batches))
                except (TypeError, ValueError):
                    pass
            if self._best_weights is not None:
                from safetensors.torch import save_file

                save_file(self._best_weights, str(tmp / "best.safetensors"))
            (tmp / "trainer_state.json").write_text(json.dumps(meta))
        for old in self.checkpoints()[: -max(1, self.config.keep_checkpoints)]:
            shutil.rmtree(old, ignore_errors=True)
        return folder

    def load_checkpoint(self, folder: str | os.PathLike) -> dict:
        """Restore everything :meth:`save_checkpoint` wrote; returns the JSON metadata."""
        from safetensors.torch import load_model

        folder = Path(folder)
        if not (folder / "trainer_state.json").exists():
            raise FileNotFoundError(f"load_checkpoint({str(folder)!r}): no trainer_state.json there")
        verify_folder(folder)
        load_model(self.model, str(folder / "model.safetensors"), device=self.device)
        blob = torch.load(folder / "optimizer.pt", weights_only=True, map_location="cpu")
        self.optimizer.load_state_dict(blob["optimizer"])
        self.scheduler.load_state_dict(blob["scheduler"])
        torch.set_rng_state(blob["torch_rng"])
        if torch.cuda.is_available() and blob["cuda_rng"]:
            torch.cuda.set_rng_state_all(blob["cuda_rng"])
        meta = json.loads((folder / "trainer_state.json").read_text())
        self.state = TrainState(**meta["state"])
        _set_rng_state(meta["rng"])
        self._epoch_batches = meta.get("epoch_batches")
        if (folder / "best.safetensors").exists():
            from safetensors.torch import load_file

            self._best_weights = load_file(str(folder / "best.safetensors"))
        return meta

    # ----------------------------------------------------------------- the loop

    def _evaluate(self) -> dict:
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            metrics = dict(self.eval_fn(self.model))
        self.model.train(was_training)
        self.state.history.append({"step": self.state.step, "epoch": self.state.epoch, "eval": metrics})
        key = self.config.select_metric
        if key is not None:
            if key not in metrics:
                raise KeyError(f"TrainerConfig(select_metric={key!r}): eval_fn returned only {sorted(metrics)}")
            if self.state.best_metric is None or metrics[key] > self.state.best_metric:
                self.state.best_metric, self.state.best_step = float(metrics[key]), self.state.step
                self._best_weights = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
        return metrics

    def train(self, data, resume: bool | str | os.PathLike = False) -> list[dict]:
        """Train for ``epochs`` (or ``max_steps``); returns :attr:`history`.

        ``resume=True`` continues from the newest checkpoint in ``checkpoint_dir`` if there is one;
        a path resumes from that checkpoint.
        """
        cfg = self.config
        seed_everything(cfg.seed)
        self.model.to(self.device)
        with _deterministic(cfg.deterministic and self.device == "cpu"):
            first = self._batches_for_epoch(data, 0)
            if not first:
                raise ValueError("Trainer.train(data): no batches (empty data, or drop_last with too few examples)")
            self._build_optimizer(len(first))
            start_batches: list | None = first
            if resume:
                target = Path(resume) if not isinstance(resume, bool) else (self.checkpoints() or [None])[-1]
                if target is not None:
                    self.load_checkpoint(target)
                    start_batches = self._epoch_batches if self._epoch_batches is not None else None
                    if start_batches is None:
                        start_batches = self._batches_for_epoch(data, self.state.epoch)
            self._loop(data, start_batches)
        if self._best_weights is not None:
            self.model.load_state_dict(self._best_weights)
        return self.history

    def _loop(self, data, batches: list | None) -> None:
        cfg = self.config
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover
            tqdm = None
        bar = tqdm(total=self.total_steps, initial=self.state.step, desc="train", disable=not cfg.progress, leave=False) if tqdm else None
        autocast = (
            torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16)
            if cfg.bf16 and runtime.choose_precision("Trainer", "auto", self.device) == "bf16"
            else contextlib.nullcontext()
        )
        self.model.train()
        done = self.state.step >= self.total_steps
        while not done:
            if batches is None:
                batches = self._batches_for_epoch(data, self.state.epoch)
            self._epoch_batches = batches
            i = self.state.batch_in_epoch
            while i < len(batches):
                window = batches[i : i + cfg.grad_accum]
                total_loss, logs = 0.0, {}
                self.optimizer.zero_grad(set_to_none=True)
                for batch in window:
                    with autocast:
                        out = self.loss_fn(self.model, batch)
                    loss, extra = (out if isinstance(out, tuple) else (out, {}))
                    if not torch.isfinite(loss.detach()).all():
                        self.optimizer.zero_grad(set_to_none=True)
                        last = self.checkpoints()
                        where = f"last good checkpoint kept: {last[-1]}" if last else "no checkpoint was written"
                        raise NonFiniteLossError(
                            f"Trainer.train: loss is {loss.item()} at step {self.state.step + 1} "
                            f"(epoch {self.state.epoch}, batch {i}); training stopped, weights are those of "
                            f"step {self.state.step}; {where}. Lower lr, raise temperature, or check the batch."
                        )
                    (loss / len(window)).backward()
                    total_loss += float(loss.detach()) / len(window)
                    for k, v in extra.items():
                        logs[k] = logs.get(k, 0.0) + float(v) / len(window)
                if cfg.max_grad_norm:
                    params = [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
                    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm))
                    logs["grad_norm"] = grad_norm
                self.optimizer.step()
                self.scheduler.step()
                i += len(window)
                self.state.step += 1
                self.state.batch_in_epoch = i
                if self.state.step % max(1, cfg.log_every) == 0:
                    lr = self.optimizer.param_groups[-1]["lr"]
                    self.state.history.append({"step": self.state.step, "epoch": self.state.epoch, "loss": total_loss, "lr": lr, **logs})
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{total_loss:.4f}")
                for callback in self.callbacks:
                    callback(self)
                finished = self.state.step >= self.total_steps
                if self.eval_fn is not None and cfg.eval_every and self.state.step % cfg.eval_every == 0 and not finished:
                    self._evaluate()
                if cfg.checkpoint_every and self.state.step % cfg.checkpoint_every == 0 and not finished:
                    self.save_checkpoint()  # at an epoch's end, resume skips straight to the next epoch
                if finished:
                    done = True
                    break
            if not done:
                self.state.epoch += 1
                self.state.batch_in_epoch = 0
                batches = None
        if self.eval_fn is not None:
            self._evaluate()
        if cfg.checkpoint_dir:
            self.save_checkpoint()
        if bar is not None:
            bar.close()


def set_dropout(model: torch.nn.Module, p: float) -> list[float]:
    """Set the rate of every ``torch.nn.Dropout`` in ``model`` to ``p``; returns the previous rates (in order).

    Dropout (Srivastava et al. 2014) is a recipe knob (``DualRecipe.dropout``, ``CrossRecipe.dropout``);
    notebook 15 measures the noise it adds to every training step.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"set_dropout(p={p}): expected 0 <= p < 1")
    previous = []
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            previous.append(module.p)
            module.p = float(p)
    return previous


@dataclass
class Fitted:
    """What :func:`fit` returns: the trainer's history and the run's counters."""

    history: list[dict]  # one dict per logged step (+ ``eval`` dicts), see :attr:`Trainer.history`
    steps: int  # optimizer steps taken
    best_step: int | None  # the step whose weights were kept (None without ``select_metric``)
    seconds: float  # wall time of the loop
    peak_memory_mib: float | None  # peak CUDA memory of the loop (None on CPU)


def trainer_config(recipe: Any = None, **knobs: Any) -> TrainerConfig:
    """The :class:`TrainerConfig` a recipe implies: its fields named like the config's, then ``knobs``.

    A recipe (:class:`lessonlib.core.recipe.Recipe`) names its optimisation knobs as the trainer does
    (``lr``, ``epochs``, ``max_steps``, ``warmup``, ``weight_decay``...), so the recipe is the one place
    they are set; ``knobs`` are what the caller decides (device, progress, evaluation, checkpoints).
    """
    names = {f.name for f in fields(TrainerConfig)}
    given = {f.name: getattr(recipe, f.name) for f in fields(recipe) if f.name in names} if recipe is not None else {}
    return TrainerConfig(**{**given, **knobs})


def fit(model: torch.nn.Module, data, loss_fn: LossFn, recipe: Any = None, eval_fn: EvalFn | None = None,
        callbacks: Sequence[Callable[[Trainer], None]] = (), collate: Callable[[list], Any] | None = None,
        resume: bool | str | os.PathLike = False, **knobs: Any) -> Fitted:
    """The course's one training loop: ``Trainer(model, loss_fn, trainer_config(recipe, **knobs)).train(data)``.

    Every trainer of the workbook ends here (:func:`lessonlib.dual.train.train_dual`,
    :func:`lessonlib.dual.distill.train_distilled`, :func:`lessonlib.cross.train.train_cross_encoder`
    and through it :func:`lessonlib.cross.recipe.train_monobert`); they differ only in their data,
    their ``loss_fn(model, batch)`` and their recipe. ``data`` is a list of examples or a callable
    ``epoch -> batches`` (see :class:`Trainer`). Introduced in notebook 02.
    """
    trainer = Trainer(model, loss_fn, trainer_config(recipe, **knobs), eval_fn=eval_fn, callbacks=callbacks,
                      collate=collate)
    cuda = trainer.device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats(trainer.device)
    started = time.perf_counter()
    trainer.train(data, resume=resume)
    return Fitted(trainer.history, trainer.state.step, trainer.state.best_step, time.perf_counter() - started,
                  torch.cuda.max_memory_allocated(trainer.device) / 2**20 if cuda else None)


def fit_shuffled(model: torch.nn.Module, n: int, batch_loss: Callable[[torch.Tensor], torch.Tensor], epochs: int,
                 batch_size: int, lr: float, seed: int = 0, progress: bool = False, desc: str = "epochs",
                 start_epoch: Callable[[], None] | None = None) -> list[float]:
    """The plain in-batch-negatives loop: Adam, each epoch a seeded permutation of ``n`` examples. -> mean loss per epoch.

    For each epoch: ``model.train()``, ``start_epoch()`` (e.g. redraw the captions), a permutation
    from ``torch.Generator().manual_seed(seed)``, then per batch of ``batch_size`` indices ``idx``
    (a last batch of < 2 is skipped: no in-batch negative) ``loss = batch_loss(idx)``, one Adam
    step (Kingma & Ba, 2015). The epoch's value is the batch-size-weighted mean loss,
    ``sum_b |b| L_b / sum_b |b|``. ``progress`` shows a tqdm bar over epochs named ``desc``.
    Unlike :class:`Trainer` there is no schedule, clipping, accumulation or checkpointing.
    """
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    iterator = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc=desc)
    for _ in iterator:
        model.train()
        if start_epoch is not None:
            start_epoch()
        perm = torch.randperm(n, generator=g)
        total, count = 0.0, 0
        for s in range(0, len(perm), batch_size):
            idx = perm[s : s + batch_size]
            if len(idx) < 2:
                continue
            loss = batch_loss(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            count += len(idx)
        losses.append(total / max(count, 1))
    return losses


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def plot_history(history: list[dict], ax=None, key: str = "loss", title: str = "training loss"):
    """Plot ``key`` against the optimizer step (matplotlib); returns the axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    points = [(h["step"], h[key]) for h in history if key in h]
    if points:
        steps, values = zip(*points)
        ax.plot(steps, values, label=key)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(key)
    ax.set_title(title)
    return ax
