"""Kill a training run at a random step, resume it: the same model as a run never interrupted."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonlib.core.trainer import Trainer, TrainerConfig


class Killed(Exception):
    pass


def _data(n=40):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 6, generator=g)
    return [(x[i], x[i].sum()) for i in range(n)]


def _collate(items):
    return torch.stack([a for a, _ in items]), torch.stack([b for _, b in items])


def _loss(model, batch):
    x, y = batch
    return ((model(x).squeeze(-1) - y) ** 2).mean()


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Dropout(0.2), torch.nn.Tanh(), torch.nn.Linear(16, 1))


def _train(folder, kill_at=None):
    cfg = TrainerConfig(lr=5e-3, epochs=3, batch_size=8, warmup=2, seed=0, progress=False, device="cpu",
                        checkpoint_every=3, checkpoint_dir=str(folder))
    model = _model()

    def killer(trainer):  # called after every optimizer step
        if kill_at is not None and trainer.state.step == kill_at:
            raise Killed

    Trainer(model, _loss, cfg, collate=_collate, callbacks=[killer]).train(_data(), resume=True)
    return model


@pytest.mark.parametrize("kill_at", sorted(np.random.default_rng(2026).choice(np.arange(1, 15), 4, replace=False).tolist()))
def test_a_run_killed_at_a_random_step_resumes_to_the_same_model(tmp_path, kill_at):
    with pytest.raises(Killed):
        _train(tmp_path / "run", kill_at)
    resumed = _train(tmp_path / "run")
    reference = _train(tmp_path / "reference")
    for a, b in zip(resumed.state_dict().values(), reference.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
