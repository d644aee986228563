"""The generic trainer on a tiny model: determinism, accumulation, schedule, checkpoints, NaN."""

from __future__ import annotations

import math

import pytest
import torch

from lessonlib.core.trainer import NonFiniteLossError, Trainer, TrainerConfig, lr_lambda, parameter_groups


class Tiny(torch.nn.Module):
    """Two 'transformer layers' by name (layer.0, layer.1) with a LayerNorm and dropout."""

    def __init__(self, dropout: float = 0.1) -> None:
        super().__init__()
        self.embeddings = torch.nn.Linear(4, 8)
        self.layer = torch.nn.ModuleList([torch.nn.Linear(8, 8), torch.nn.Linear(8, 8)])
        self.LayerNorm = torch.nn.LayerNorm(8)
        self.drop = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(8, 1)

    def forward(self, x):
        h = self.embeddings(x)
        for layer in self.layer:
            h = torch.tanh(layer(self.drop(h)))
        return self.head(self.LayerNorm(h)).squeeze(-1)


def _data(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1 * torch.randn(n, generator=g)
    return [(x[i], y[i]) for i in range(n)]


def _collate(items):
    return torch.stack([a for a, _ in items]), torch.stack([b for _, b in items])


def _mse(model, batch):
    x, y = batch
    return ((model(x) - y) ** 2).mean()


def _cfg(**kw):
    base = dict(lr=1e-2, epochs=3, batch_size=8, warmup=2, seed=0, progress=False, device="cpu")
    base.update(kw)
    return TrainerConfig(**base)


def _train(cfg, model_seed=0, data=None, **kw):
    torch.manual_seed(model_seed)
    model = Tiny()
    trainer = Trainer(model, _mse, cfg, collate=_collate, **kw)
    trainer.train(data if data is not None else _data())
    return model, trainer


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_loss_goes_down_and_history_is_kept():
    _, trainer = _train(_cfg(epochs=8))
    losses = [h["loss"] for h in trainer.history if "loss" in h]
    assert len(losses) == 8 * 6
    assert sum(losses[-6:]) < 0.5 * sum(losses[:6])


def test_same_seed_same_weights_different_seed_differs():
    a, _ = _train(_cfg())
    b, _ = _train(_cfg())
    c, _ = _train(_cfg(seed=1))
    assert _same(a, b)
    assert not _same(a, c)


def test_no_weight_decay_on_bias_and_layernorm_and_layerwise_lr():
    torch.manual_seed(0)
    groups = parameter_groups(Tiny(), lr=1.0, weight_decay=0.1, layer_decay=0.5)
    by_name = {n: g for g in groups for n in g["names"]}
    assert by_name["layer.0.bias"]["weight_decay"] == 0.0
    assert by_name["LayerNorm.weight"]["weight_decay"] == 0.0
    assert by_name["layer.0.weight"]["weight_decay"] == 0.1
    # L = 2 layers: embeddings depth 0 -> 0.5**3, layer.0 -> 0.5**2, layer.1 -> 0.5, head -> 1
    assert by_name["embeddings.weight"]["lr"] == pytest.approx(0.125)
    assert by_name["layer.0.weight"]["lr"] == pytest.approx(0.25)
    assert by_name["layer.1.weight"]["lr"] == pytest.approx(0.5)
    assert by_name["head.weight"]["lr"] == pytest.approx(1.0)


def test_schedule_warmup_then_linear_or_cosine_decay():
    assert lr_lambda(0, 10, 2, "linear") == pytest.approx(0.5)
    assert lr_lambda(1, 10, 2, "linear") == pytest.approx(1.0)
    assert lr_lambda(6, 10, 2, "linear") == pytest.approx(0.5)
    assert lr_lambda(6, 10, 2, "cosine") == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_lambda(10, 10, 2, "cosine") == pytest.approx(0.0)
    _, trainer = _train(_cfg(epochs=2, schedule="cosine"))
    lrs = [h["lr"] for h in trainer.history]
    assert lrs[1] == pytest.approx(1e-2 * lr_lambda(2, 12, 2, "cosine"))
    assert lrs[-1] == pytest.approx(0.0, abs=1e-12)


def test_gradient_accumulation_matches_a_larger_batch():
    no_dropout = dict(epochs=2, shuffle=False, warmup=0, max_grad_norm=None)

    def run(batch_size, accum):
        torch.manual_seed(0)
        model = Tiny(dropout=0.0)
        Trainer(model, _mse, _cfg(batch_size=batch_size, grad_accum=accum, **no_dropout), collate=_collate).train(_data())
        return model

    big, small = run(16, 1), run(8, 2)
    for x, y in zip(big.parameters(), small.parameters()):
        torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-5)


def test_gradient_clipping_bounds_the_norm():
    _, trainer = _train(_cfg(max_grad_norm=1e-3, lr=1e-3))
    assert all("grad_norm" in h for h in trainer.history)
    torch.manual_seed(0)
    model = Tiny()
    before = [p.detach().clone() for p in model.parameters()]
    Trainer(model, _mse, _cfg(max_grad_norm=1e-6, lr=1.0, max_steps=1, warmup=0, weight_decay=0.0), collate=_collate).train(_data())
    # Adam normalises the step, so instead check the clipped gradient on the last step is tiny.
    grads = torch.cat([p.grad.flatten() for p in model.parameters()])
    assert float(grads.norm()) <= 1e-6 * 1.001
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


class Killed(RuntimeError):
    pass


def _killer(at_step):
    def callback(trainer):
        if trainer.state.step == at_step:
            raise Killed(f"killed at {at_step}")

    return callback


def test_resume_after_a_kill_gives_the_same_weights_and_history(tmp_path):
    cfg = _cfg(epochs=3, checkpoint_every=4, checkpoint_dir=str(tmp_path / "ckpt"))
    with pytest.raises(Killed):
        _train(cfg, callbacks=[_killer(10)])  # 6 steps/epoch: dies mid-epoch 2, last checkpoint at 8
    assert [p.name for p in Trainer(Tiny(), _mse, cfg).checkpoints()][-1] == "step-00000008"
    torch.manual_seed(123)  # a different init: everything must come from the checkpoint
    resumed = Tiny()
    trainer = Trainer(resumed, _mse, cfg, collate=_collate)
    trainer.train(_data(), resume=True)
    reference, ref_trainer = _train(_cfg(epochs=3))
    assert _same(resumed, reference)
    assert [h["loss"] for h in trainer.history] == [h["loss"] for h in ref_trainer.history]


def test_resume_with_callable_batches_restores_the_epoch_batches(tmp_path):
    data = _data()

    def epoch_batches(epoch):  # uses the global RNG: must be replayed exactly, not recomputed
        perm = torch.randperm(len(data)).tolist()
        return [perm[i : i + 8] for i in range(0, len(perm), 8)]

    def loss(model, ids):
        return _mse(model, _collate([data[i] for i in ids]))

    def run(tmp, kill=None):
        torch.manual_seed(0)
        model = Tiny()
        cfg = _cfg(epochs=2, checkpoint_every=3, checkpoint_dir=str(tmp))
        Trainer(model, loss, cfg, callbacks=[_killer(kill)] if kill else []).train(epoch_batches, resume=True)
        return model

    with pytest.raises(Killed):
        run(tmp_path / "a", kill=5)
    resumed = run(tmp_path / "a")
    assert _same(resumed, run(tmp_path / "b"))


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_checkpoint(tmp_path):
    calls = {"n": 0}

    def flaky(model, batch):
        calls["n"] += 1
        loss = _mse(model, batch)
        return loss * float("nan") if calls["n"] == 5 else loss

    torch.manual_seed(0)
    model = Tiny()
    cfg = _cfg(checkpoint_every=2, checkpoint_dir=str(tmp_path))
    trainer = Trainer(model, flaky, cfg, collate=_collate)
    with pytest.raises(NonFiniteLossError, match=r"loss is nan at step 5.*step-00000004"):
        trainer.train(_data())
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert [p.name for p in trainer.checkpoints()] == ["step-00000002", "step-00000004"]


def test_eval_callback_and_best_weights_are_restored():
    data = _data()
    x, y = _collate(data)
    scores = iter([0.1, 0.9, 0.2, 0.3, 0.0, 0.0])
    snapshots = []

    def eval_fn(model):
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return {"val": next(scores), "mse": float(((model(x) - y) ** 2).mean())}

    torch.manual_seed(0)
    model = Tiny()
    trainer = Trainer(model, _mse, _cfg(eval_every=3, select_metric="val"), eval_fn=eval_fn, collate=_collate)
    trainer.train(data)
    evals = [h for h in trainer.history if "eval" in h]
    assert [e["step"] for e in evals] == [3, 6, 9, 12, 15, 18]
    assert trainer.state.best_step == 6
    assert all(torch.equal(v, snapshots[1][k]) for k, v in model.state_dict().items())


def test_bad_config_names_the_argument():
    with pytest.raises(ValueError, match="schedule='step'"):
        TrainerConfig(schedule="step")
    with pytest.raises(ValueError, match="grad_accum=0"):
        TrainerConfig(grad_accum=0)
