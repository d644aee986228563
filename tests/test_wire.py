"""checks.wire: every exercise's hidden cases and reference outputs survive the trip through JSON exactly."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from lessonlib.workbook.checks import REGISTRY, wire
from lessonlib.workbook.checks.core import close


def _trip(value):
    return wire.from_wire(json.loads(json.dumps(wire.to_wire(value))))


@pytest.mark.parametrize("exercise", sorted(REGISTRY))
def test_cases_and_answers_round_trip(exercise):
    spec = REGISTRY[exercise]
    for case in spec.make_cases(np.random.default_rng(7)):
        case = case.kwargs
        back = _trip(case)
        assert close(spec.reference(**back), spec.reference(**copy.deepcopy(case)), 1e-12)
        answer = spec.reference(**copy.deepcopy(case))
        assert close(_trip(answer), answer, 1e-12)


def test_types_shapes_and_refusals():
    value = {"t": torch.zeros(()), "a": np.arange(6, dtype=np.int64).reshape(2, 3), "s": np.array(["x", "yz"]),
             ("k", 1): (1, 2.5, float("nan"), float("-inf"), None, True), "n": np.float32(1.5)}
    back = _trip(value)
    assert isinstance(back["t"], torch.Tensor) and back["t"].shape == ()
    assert back["a"].dtype == np.int64 and back["a"].shape == (2, 3) and back["s"].tolist() == ["x", "yz"]
    assert back[("k", 1)][:2] == (1, 2.5) and np.isnan(back[("k", 1)][2]) and back[("k", 1)][3] == -np.inf
    assert back["n"] == 1.5
    with pytest.raises(TypeError):
        wire.to_wire({1, 2})
    with pytest.raises(TypeError):
        wire.to_wire(np.array([object()]))
    with pytest.raises(ValueError):
        wire.from_wire({"__ndarray__": {"dtype": "<f8", "shape": [3], "b64": "AAAA"}})  # bytes do not match
    with pytest.raises(ValueError):
        wire.from_wire({"__ndarray__": {"dtype": "|O", "shape": [1], "b64": "AAAAAAAAAAA="}})  # objects refused
