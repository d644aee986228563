"""Kill a training run at a random step, resume it: the same model as a run never interrupted.

The tiny model, data and killer are tests/test_training.py's (its own resume test kills at one fixed step)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.core.trainer import Trainer
from test_training import Killed, Tiny, _cfg, _collate, _data, _killer, _mse, _same, _train


@pytest.mark.parametrize("kill_at", sorted(np.random.default_rng(2026).choice(np.arange(1, 15), 4, replace=False).tolist()))
def test_a_run_killed_at_a_random_step_resumes_to_the_same_model(tmp_path, kill_at):
    cfg = _cfg(epochs=3, checkpoint_every=3, checkpoint_dir=str(tmp_path / "ckpt"))
    with pytest.raises(Killed):
        _train(cfg, callbacks=[_killer(kill_at)])
    torch.manual_seed(0)
    resumed = Tiny()
    Trainer(resumed, _mse, cfg, collate=_collate).train(_data(), resume=True)
    reference, _ = _train(_cfg(epochs=3))
    assert _same(resumed, reference)
