"""ONNX Runtime: the fast CPU inference path of dual encoders and cross-encoders.

A torch module is exported once to ONNX (``torch.onnx.export``), optionally quantised to int8 with
ONNX Runtime's dynamic quantisation — weights int8 with one scale per output channel, activations
quantised per batch at run time (Jacob et al. 2018, "Quantization and Training of Neural Networks
for Efficient Integer-Arithmetic-Only Inference") — and run by an ``onnxruntime.InferenceSession``
whose graph optimiser fuses LayerNorm/GELU/attention kernels. Exports are cached on disk under
``cache_dir("onnx")``, keyed by a digest of the weights, so a model is exported once per machine.

Used by :func:`lessonlib.dual.encode.encode` (``backend="onnx"``; ``"auto"`` only where :data:`AUTO_ONNX`) and by
:meth:`lessonlib.cross.model.CrossEncoder.score`; ``bench/bench_encode.py`` measures it side by
side with sentence-transformers. Taught in notebook 19 (§3 compression) and notebook 01 (§4 costs).

The torch engine's number format is chosen here too: :func:`choose_precision` makes ``precision="auto"``
bf16 where the hardware multiplies bfloat16 natively (:func:`native_bf16`: a recent GPU, or a CPU with
AMX or AVX512-BF16), fp32 elsewhere; on a CPU the bf16 path runs a :func:`bf16_copy` of the weights.

>>> graph = compile_module(tower_module, example, name="minilm-doc", int8=True)
>>> vectors = graph(input_ids=ids, attention_mask=mask)          # numpy in, numpy out
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lessonlib.core import config

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnx")

#: Number formats of torch inference: ``"auto"`` is bf16 where the hardware multiplies bf16 natively
#: (:func:`native_bf16`), fp32 elsewhere.
PRECISIONS = ("auto", "fp32", "bf16")

#: Below this many inputs ``backend="auto"`` stays with torch: exporting costs seconds.
AUTO_MIN_INPUTS = 1024

#: Exports kept on disk per graph name (older ones, written by this module, are removed).
KEEP_EXPORTS = 6

#: Largest |ONNX - torch| (fp32) accepted when a new export is checked on a second input shape.
CHECK_TOLERANCE = 1e-3

_SESSIONS: dict[tuple[str, int], OnnxGraph] = {}


def available() -> bool:
    """True when ``onnxruntime`` and ``onnx`` (needed by the exporter) are installed."""
    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def check_backend(owner: str, backend: str) -> None:
    """One-line ``ValueError`` for an unknown backend; ``ImportError`` naming the package for ``"onnx"``."""
    if backend not in BACKENDS:
        raise ValueError(f"{owner}(backend={backend!r}): backend must be one of {', '.join(BACKENDS)}")
    if backend == "onnx" and not available():
        raise ImportError(f"{owner}(backend='onnx'): onnxruntime is not installed (pip install onnxruntime onnx)")


#: Whether ``backend="auto"`` may pick ONNX Runtime. Off: measured on the course's 2-core CPU
#: (``bench/results/encode_onnx_cpu.txt``, ``encode_cpu_bf16.txt``), ONNX Runtime encodes at 0.67-0.85x
#: sentence-transformers in fp32 and 0.96-1.59x in int8, torch at ~1.0x in fp32 and 2.95x in bf16
#: (:func:`choose_precision`), so torch is the faster engine there.
AUTO_ONNX = False


def choose_backend(backend: str, device: str, n_inputs: int) -> str:
    """``"torch"`` or ``"onnx"``: ``"auto"`` picks ONNX Runtime on CPU for at least
    :data:`AUTO_MIN_INPUTS` inputs when it is installed and :data:`AUTO_ONNX` is on, torch otherwise
    (the measured faster engine on the course's CPU; GPU; small calls)."""
    if backend != "auto":
        return backend
    if AUTO_ONNX and str(device).startswith("cpu") and n_inputs >= AUTO_MIN_INPUTS and available():
        return "onnx"
    return "torch"


def native_bf16(device: str | torch.device) -> bool:
    """True where bfloat16 matrix products run in hardware: a CUDA GPU with bf16 support (Ampere or
    later), or a CPU with AMX-BF16 or AVX512-BF16, whose oneDNN kernels take bf16 at about twice the
    fp32 rate per instruction (AMX much more). Elsewhere bf16 is emulated and slower than fp32."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if dev.type != "cpu":
        return False
    try:
        caps = torch.cpu.get_capabilities()
    except AttributeError:  # torch without the capability probe: assume no native bf16
        return False
    return bool(caps.get("amx_bf16") or caps.get("avx512_bf16"))


def choose_precision(owner: str, precision: str, device: str | torch.device) -> str:
    """``"fp32"`` or ``"bf16"``: ``"auto"`` is ``LESSONLIB_PRECISION`` when set (:func:`config.precision`),
    else bf16 where :func:`native_bf16`, fp32 elsewhere.

    Measured on the course's 2-core CPU (AMX-BF16; ``bench/results/encode_cpu_bf16.txt``): bf16
    encodes several times faster than fp32 at a cosine of ~0.9999 to the fp32 vectors."""
    if precision not in PRECISIONS:
        raise ValueError(f"{owner}(precision={precision!r}): precision must be one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        precision = config.precision()
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


def bf16_copy(module: nn.Module, *, share: Sequence[object] = (), fp32: Sequence[str] = ()) -> nn.Module:
    """A copy of ``module`` with bf16 weights, for inference on a CPU with native bf16.

    On a CPU, autocast re-casts activations between ops and runs ~10-15 % slower than a model held in
    bf16 (``bench/results/encode_cpu_bf16.txt``). ``share``: objects the copy references instead of
    copying (tokenizers). ``fp32``: dotted names of sub-modules kept in fp32, their inputs cast up, so a
    final score keeps fp32 resolution (bf16 holds 8 bits of mantissa: a reranker's 100 scores would tie).
    """
    clone = copy.deepcopy(module, {id(obj): obj for obj in share}).to(torch.bfloat16)
    for name in fp32:
        clone.get_submodule(name).float().register_forward_pre_hook(_inputs_to_fp32)
    return clone


def bf16_runner(module: nn.Module, *, share: Sequence[object] = (), fp32: Sequence[str] = ()) -> nn.Module:
    """:func:`bf16_copy`, or ``module`` itself when it cannot be deep-copied (a tensor attribute kept from
    training that is not a graph leaf): the caller then runs it under bf16 autocast."""
    try:
        return bf16_copy(module, share=share, fp32=fp32)
    except RuntimeError as exc:
        log.info("bf16_copy of %s failed (%s); autocast instead", type(module).__name__, exc)
        return module


def inference_runner(module: nn.Module, precision: str, device: str | torch.device, n_items: int, batch_size: int, *,
                     share: Sequence[object] = (), fp32: Sequence[str] = ()) -> tuple[nn.Module, bool]:
    """``(runner, autocast)`` for inference at ``precision`` (``"fp32"`` or ``"bf16"``, see :func:`choose_precision`).

    bf16 on a CPU for at least one batch runs :func:`bf16_runner`'s copy (faster than autocast there);
    a GPU, a call shorter than one batch (a copy would cost more than it saves) or a module that cannot
    be copied runs ``module`` itself with ``autocast`` True: the caller wraps the forward passes in
    ``torch.autocast(device_type, dtype=torch.bfloat16, enabled=autocast)``. Used by ``encode`` and
    ``CrossEncoder.score``.
    """
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"inference_runner(precision={precision!r}): precision must be 'fp32' or 'bf16'")
    if precision == "fp32":
        return module, False
    runner = module
    if torch.device(device).type == "cpu" and n_items >= batch_size:
        runner = bf16_runner(module, share=share, fp32=fp32)
    return runner, runner is module


def _inputs_to_fp32(_module: nn.Module, args: tuple) -> tuple:
    return tuple(a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args)


def weights_digest(module: nn.Module, extra: str = "") -> str:
    """SHA-1 (16 hex) of a module's class, parameters and buffers (and ``extra``): the export's cache key."""
    digest = hashlib.sha1(f"{type(module).__module__}.{type(module).__qualname__}|{extra}".encode())
    for name, tensor in sorted(module.state_dict().items()):
        if isinstance(tensor, torch.Tensor) and not tensor.is_quantized:
            digest.update(name.encode())
            digest.update(str(tuple(tensor.shape)).encode())
            digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


class OnnxGraph:
    """A runnable ONNX graph: named int64 numpy inputs -> its first output as float32 numpy.

    Args:
        path: the ``.onnx`` file.
        threads: intra-op threads (default: torch's current thread count, so one knob rules both).
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        import onnxruntime as ort  # deferred: optional dependency

        self.path = Path(path)
        self.threads = int(threads or torch.get_num_threads())
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def __call__(self, **inputs: np.ndarray | torch.Tensor) -> np.ndarray:
        missing = [n for n in self.input_names if n not in inputs]
        if missing:
            raise ValueError(f"OnnxGraph({self.path.name}): missing inputs {missing}")
        feed = {n: _as_int64(inputs[n]) for n in self.input_names}
        return np.asarray(self.session.run(None, feed)[0], dtype=np.float32)


def _as_int64(x: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.ascontiguousarray(x, dtype=np.int64)


class _Positional(nn.Module):
    """Adapts ``call(dict of tensors) -> tensor`` to the positional signature the exporter traces."""

    def __init__(self, module: nn.Module, names: Sequence[str], call: Callable[[dict[str, torch.Tensor]], torch.Tensor]):
        super().__init__()
        self.module = module
        self.names = list(names)
        self.call = call

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.call(dict(zip(self.names, tensors)))


def export(module: nn.Module, example: dict[str, torch.Tensor], path: str | os.PathLike,
           call: Callable[[dict[str, torch.Tensor]], torch.Tensor] | None = None) -> Path:
    """Export ``call(example)`` (default ``module(**example)``) to ONNX at ``path`` (written atomically).

    Every input and the output get dynamic batch and sequence axes, so one graph serves all shapes.
    """
    path = Path(path)
    names = list(example)
    call = call or (lambda feed: module(**feed))
    wrapper = _Positional(module, names, call).eval()
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes["output"] = {0: "batch"}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
            torch.onnx.export(wrapper, tuple(example[n].cpu() for n in names), tmp, input_names=names,
                              output_names=["output"], dynamic_axes=axes, opset_version=17, dynamo=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def quantize_int8(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """ONNX Runtime dynamic int8 quantisation of ``src`` into ``dst`` (atomically): weights QInt8 with
    one scale per output channel (a single scale per matrix loses ~6 points of cosine on MiniLM)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic  # deferred: optional dependency

    dst = Path(dst)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".onnx", dir=dst.parent)
    os.close(fd)
    level = logging.getLogger().level
    try:
        logging.getLogger().setLevel(logging.ERROR)  # the quantizer's "consider pre-processing" notice
        quantize_dynamic(str(src), tmp, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        logging.getLogger().setLevel(level)
    return dst


def compile_module(module: nn.Module, example: dict[str, torch.Tensor], *, name: str, int8: bool = False,
                   call: Callable[[dict[str, torch.Tensor]], torch.Tensor] | None = None,
                   threads: int | None = None, key: str | None = None,
                   check: dict[str, torch.Tensor] | None = None) -> OnnxGraph:
    """The ONNX Runtime graph of ``module`` (exported and, with ``int8``, quantised once; cached on disk).

    ``name`` labels the graph (e.g. ``"dual-doc"``); the file is keyed by ``key`` or by
    :func:`weights_digest` of the module, so changed weights get a new export. ``check``: a second
    input of another shape; a NEW fp32 export must reproduce ``call(check)`` within
    :data:`CHECK_TOLERANCE`, else ``RuntimeError`` (a trace that froze a shape-dependent branch) and
    the export is removed. Only the :data:`KEEP_EXPORTS` most recently used exports of ``name`` stay.
    """
    key = key or weights_digest(module, extra=name)
    folder = config.cache_dir("onnx")
    fp32 = folder / f"{name}-{key}.onnx"
    target = folder / f"{name}-{key}-int8.onnx" if int8 else fp32
    if not target.exists():
        was_training = module.training
        module.eval()
        try:
            if not fp32.exists():
                log.info("runtime: exporting %s to %s", name, fp32)
                export(module, example, fp32, call)
                if check is not None:
                    _check_export(fp32, module, check, call)
            if int8:
                quantize_int8(fp32, target)
        finally:
            module.train(was_training)
        _prune(folder, name)  # only a new export can push the folder over its budget (new files are the newest)
    os.utime(target)
    slot = (str(target), int(threads or torch.get_num_threads()))
    if slot not in _SESSIONS:
        _SESSIONS[slot] = OnnxGraph(target, threads)
    return _SESSIONS[slot]


def compile_or_torch(owner: str, module: nn.Module, example: dict[str, torch.Tensor], *, name: str,
                     int8: bool = False, call: Callable[[dict[str, torch.Tensor]], torch.Tensor] | None = None,
                     check: dict[str, torch.Tensor] | None = None, strict: bool = False) -> OnnxGraph | None:
    """:func:`compile_module`, or ``None`` (the caller runs torch) with a one-line warning naming ``owner``
    when the export fails (an architecture the exporter cannot trace); ``strict`` re-raises instead."""
    try:
        return compile_module(module, example, name=name, int8=int8, call=call, check=check)
    except Exception as exc:
        if strict:
            raise
        log.warning("%s: ONNX export failed (%s: %s); running with torch", owner, type(exc).__name__, exc)
        return None


def _check_export(path: Path, module: nn.Module, check: dict[str, torch.Tensor],
                  call: Callable[[dict[str, torch.Tensor]], torch.Tensor] | None) -> None:
    with torch.inference_mode():
        want = (call or (lambda feed: module(**feed)))({k: v.cpu() for k, v in check.items()}).float().numpy()
    got = OnnxGraph(path, threads=1)(**check)
    err = float(np.max(np.abs(got - want))) if want.size else 0.0
    if got.shape != want.shape or not err <= CHECK_TOLERANCE:
        path.unlink(missing_ok=True)
        raise RuntimeError(f"the ONNX export of {path.name} differs from torch on a second input shape "
                           f"(max |diff| {err:.3g} > {CHECK_TOLERANCE}): the trace froze a shape-dependent branch")


def _prune(folder: Path, name: str) -> None:
    """Keep the :data:`KEEP_EXPORTS` most recently used ``{name}-<key>[-int8].onnx`` files of ``folder``."""
    def is_ours(p: Path) -> bool:  # {name}-{16 hex}.onnx or {name}-{16 hex}-int8.onnx
        rest = p.stem[len(name) + 1:].removesuffix("-int8")
        return len(rest) == 16 and all(c in "0123456789abcdef" for c in rest)

    ours = [p for p in folder.glob(f"{name}-*.onnx") if is_ours(p)]
    ours.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in ours[KEEP_EXPORTS:]:
        for slot in [s for s in _SESSIONS if s[0] == str(stale)]:
            del _SESSIONS[slot]
        stale.unlink(missing_ok=True)
