"""Values across the grader's process boundary as JSON: no pickle, nothing executable.

The grader sends the hidden cases to a submission's kernel and reads back what the learner's
function returned; both travel as JSON made by :func:`to_wire` and read by :func:`from_wire`.
Supported: None, bool, int, float (NaN and inf too), str, list, tuple, dict, numpy arrays and
scalars, torch tensors (sent as numpy, rebuilt as torch). Anything else is refused by :func:`to_wire`.
This module imports only the standard library and numpy, so the grader can run its source inside a
kernel where lessonlib is not importable (:mod:`lessonlib.workbook.grading`).

>>> from_wire(json.loads(json.dumps(to_wire({"q": np.arange(3, dtype=np.float32), "k": (1, "a")}))))["k"]
(1, 'a')
"""

from __future__ import annotations

import base64
import json  # noqa: F401  (the grader's cell uses this namespace's json)
from typing import Any

import numpy as np

MAX_DEPTH = 32


def to_wire(value: Any, depth: int = 0) -> Any:
    """A JSON-able form of ``value`` (see the module docstring for the types)."""
    if depth > MAX_DEPTH:
        raise ValueError("wire.to_wire: nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value if isinstance(value, int) or np.isfinite(value) else {"__float__": repr(float(value))}
    if isinstance(value, np.generic):
        return to_wire(value.item(), depth + 1)
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        array = value.detach().cpu().numpy()
        return {"__torch__": _array(array)}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": _array(value)}
    if isinstance(value, tuple):
        return {"__tuple__": [to_wire(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return [to_wire(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[to_wire(k, depth + 1), to_wire(v, depth + 1)] for k, v in value.items()]}
    raise TypeError(f"wire.to_wire: cannot send a {type(value).__name__}")


def _array(array: np.ndarray) -> dict:
    if array.dtype.kind not in "biuf":
        if array.dtype.kind in "US":
            return {"dtype": "str", "shape": list(array.shape), "items": [str(x) for x in array.ravel()]}
        raise TypeError(f"wire.to_wire: cannot send an array of dtype {array.dtype}")
    data = np.array(array, order="C", copy=True)  # (np.ascontiguousarray would turn a 0-d array into 1-d)
    return {"dtype": data.dtype.str, "shape": list(data.shape), "b64": base64.b64encode(data.tobytes()).decode("ascii")}


def _unarray(blob: dict) -> np.ndarray:
    shape = tuple(int(n) for n in blob["shape"])
    if blob["dtype"] == "str":
        return np.array(blob["items"], dtype=str).reshape(shape)
    dtype = np.dtype(blob["dtype"])
    if dtype.kind not in "biuf":
        raise ValueError(f"wire.from_wire: refused dtype {dtype}")
    raw = base64.b64decode(blob["b64"], validate=True)
    if len(raw) != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
        raise ValueError("wire.from_wire: array bytes do not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def from_wire(value: Any, depth: int = 0) -> Any:
    """The value :func:`to_wire` was given (torch tensors come back as torch if torch is installed)."""
    if depth > MAX_DEPTH:
        raise ValueError("wire.from_wire: nested too deeply")
    if isinstance(value, list):
        return [from_wire(v, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if "__float__" in value:
        return float(value["__float__"])
    if "__ndarray__" in value:
        return _unarray(value["__ndarray__"])
    if "__torch__" in value:
        array = _unarray(value["__torch__"])
        try:
            import torch
        except ImportError:  # pragma: no cover - the grader's side always has torch
            return array
        return torch.from_numpy(array)
    if "__tuple__" in value:
        return tuple(from_wire(v, depth + 1) for v in value["__tuple__"])
    if "__dict__" in value:
        out = {}
        for k, v in value["__dict__"]:
            key = from_wire(k, depth + 1)
            out[tuple(key) if isinstance(key, list) else key] = from_wire(v, depth + 1)
        return out
    raise ValueError(f"wire.from_wire: unknown object with keys {sorted(value)[:5]}")
