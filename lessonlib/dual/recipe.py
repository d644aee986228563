"""The dual-encoder training recipe: every knob of :func:`lessonlib.dual.train.train_dual`, in three sizes.

Introduced in notebook 02 (contrastive training) and varied in 03 (negatives) and 04 (advanced
training). ``DualRecipe.FAST`` is CI-sized (a few dozen optimizer steps on the fast-mode subset),
``DualRecipe.CPU`` fits a 2-core laptop (full SciFact train, BM25 negatives, 128 document tokens while
training, 2 epochs), ``DualRecipe.GPU`` is the recipe chosen on the validation split by
bench/bench_dual.py (negatives mined by the model being trained, ANCE-style; Xiong et al. 2021).

>>> DualRecipe.for_mode(fast=True).max_steps
24
>>> DualRecipe.CPU.replace(negatives="dense").negatives
'dense'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lessonlib.core import config
from lessonlib.core.recipe import Recipe

NEGATIVES = ("none", "random", "bm25", "dense", "dynamic")
DUAL_LOSSES = ("mnrl", "infonce", "triplet", "margin_ranking")


@dataclass(frozen=True)
class DualRecipe(Recipe):
    """Every knob of :func:`lessonlib.dual.train.train_dual` (stored with the model as ``training.json``).

    The stored values are the defaults; ``DualRecipe.FAST`` / ``CPU`` / ``GPU`` are the three sizes
    (:class:`lessonlib.core.recipe.Recipe`) and ``DualRecipe.for_mode()`` picks one.
    """

    model_name: str = config.DEFAULT_MODEL
    loss: str = "mnrl"
    negatives: str = "bm25"
    n_negatives: int = 1
    epochs: int = 3
    lr: float = 2e-5
    batch_size: int = 32
    temperature: float = 0.05
    pooling: str = "mean"
    max_length: int = 256
    query_max_length: int = 64
    train_max_length: int | None = None  # doc tokens while training (shorter = faster on CPU)
    skip_top: int = 0
    depth: int = 50
    warmup: float = 0.1
    weight_decay: float = 0.01
    schedule: str = "linear"
    seed: int = 0
    pretrain: str | None = None
    pretrain_epochs: int = 1
    pretrain_max_pairs: int | None = None
    max_steps: int | None = None
    eval_every: int | None = None
    margin: float = 0.2
    symmetric: bool = False
    dropout: float | None = None  # set every nn.Dropout of the model to this p (None: keep the model's)
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.negatives not in NEGATIVES:
            raise ValueError(f"train_dual(negatives={self.negatives!r}): expected one of {NEGATIVES}")
        if self.loss not in DUAL_LOSSES:
            raise ValueError(f"train_dual(loss={self.loss!r}): expected one of {DUAL_LOSSES}")
        if self.n_negatives < 0:
            raise ValueError(f"train_dual(n_negatives={self.n_negatives}): must be >= 0")
        if self.loss in {"triplet", "margin_ranking"} and (self.negatives == "none" or self.n_negatives < 1):
            raise ValueError(f"train_dual(loss={self.loss!r}): needs negatives other than 'none' and n_negatives >= 1")
        if self.temperature <= 0:
            raise ValueError(f"train_dual(temperature={self.temperature}): must be > 0")


DualRecipe.FAST = DualRecipe(negatives="bm25", n_negatives=1, epochs=1, max_steps=24, batch_size=16, lr=5e-5,
                             max_length=256, train_max_length=96, query_max_length=48, warmup=0.1)
DualRecipe.CPU = DualRecipe(negatives="bm25", n_negatives=1, epochs=2, batch_size=32, lr=3e-5, max_length=256,
                            train_max_length=128)
DualRecipe.GPU = DualRecipe(negatives="dynamic", n_negatives=3, skip_top=3, depth=30, epochs=8, batch_size=32, lr=2e-5,
                            max_length=256)
