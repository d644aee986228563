"""Curriculum negatives: from easy (random) to hard as training progresses."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from lessonlib.dual.samplers.base import EncodeFn, NegativeSampler

SCHEDULES = ("linear", "cosine", "step")


class CurriculumNegatives(NegativeSampler):
    """Mix an easy and a hard sampler, with the share of hard negatives rising over training.

    At progress p = step / total_steps ∈ [0, 1], the hardness h(p) goes from ``start`` to ``end``:

    - ``linear``: h = start + (end − start) · p
    - ``cosine``: h = start + (end − start) · (1 − cos(π p)) / 2   (slow start, slow finish)
    - ``step``:   h = start before p = 0.5, end after
    - or any callable p -> h.

    Each query then gets round(h · n) negatives from ``hard`` and the rest from ``easy`` (no
    duplicates). Easy negatives early keep the first updates stable; hard ones later supply the
    fine-grained signal (curriculum learning, Bengio et al. 2009; for dense retrieval e.g.
    CL-DRD, Zeng et al. 2022, "Curriculum Learning for Dense Retrieval Distillation").

    Call :meth:`step` every training step (it is forwarded to both samplers).

    Args:
        easy, hard: two samplers (e.g. RandomNegatives and BM25Negatives / DenseHardNegatives).
        total_steps: the step at which the schedule reaches ``end``.
        schedule, start, end: see above.

    >>> cur = CurriculumNegatives(RandomNegatives(ids), BM25Negatives(run), total_steps=1000)  # doctest: +SKIP
    >>> cur.step(500); cur.hardness()                                                          # doctest: +SKIP
    0.5
    """

    def __init__(
        self,
        easy: NegativeSampler,
        hard: NegativeSampler,
        total_steps: int,
        schedule: str | Callable[[float], float] = "linear",
        start: float = 0.0,
        end: float = 1.0,
    ) -> None:
        super().__init__(seed=0)
        if total_steps < 1:
            raise ValueError(f"CurriculumNegatives(total_steps={total_steps}): must be >= 1")
        if not callable(schedule) and schedule not in SCHEDULES:
            raise ValueError(f"CurriculumNegatives(schedule={schedule!r}): expected one of {SCHEDULES} or a callable")
        for name, v in (("start", start), ("end", end)):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"CurriculumNegatives({name}={v}): must be in [0, 1]")
        self.easy = easy
        self.hard = hard
        self.total_steps = total_steps
        self.schedule = schedule
        self.start = start
        self.end = end
        self.step_ = 0

    @property
    def progress(self) -> float:
        return min(1.0, max(0.0, self.step_ / self.total_steps))

    def hardness(self, progress: float | None = None) -> float:
        """The share of hard negatives at ``progress`` (default: the current one)."""
        p = self.progress if progress is None else min(1.0, max(0.0, progress))
        if callable(self.schedule):
            return float(min(1.0, max(0.0, self.schedule(p))))
        if self.schedule == "linear":
            w = p
        elif self.schedule == "cosine":
            w = (1 - math.cos(math.pi * p)) / 2
        else:
            w = 1.0 if p >= 0.5 else 0.0
        return self.start + (self.end - self.start) * w

    def step(self, step: int, encode_fn: EncodeFn | None = None) -> bool:
        self.step_ = step
        changed_easy = self.easy.step(step, encode_fn)
        changed_hard = self.hard.step(step, encode_fn)
        return changed_easy or changed_hard

    def sample(self, query_ids: Sequence[str], positive_ids: Sequence[Sequence[str]], n: int) -> list[list[str]]:
        self._check(query_ids, positive_ids, n)
        n_hard = round(self.hardness() * n)
        hard = self.hard.sample(query_ids, positive_ids, n_hard) if n_hard else [[] for _ in query_ids]
        # the hard picks join the exclusions so that the easy sampler does not repeat them
        excl = [list(p) + h for p, h in zip(positive_ids, hard)]
        easy = self.easy.sample(query_ids, excl, n - n_hard) if n - n_hard else [[] for _ in query_ids]
        return [h + e for h, e in zip(hard, easy)]
