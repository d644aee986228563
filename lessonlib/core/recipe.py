"""Training recipes: every knob of a trainer in one frozen dataclass, in three sizes.

A recipe is the unit of reproducibility the course teaches (notebooks 02-04 for dual encoders, 15 for
the cross-encoder): the knobs are values, not scattered keyword defaults, and a run stores its recipe
with the model. Each concrete recipe (:class:`lessonlib.dual.recipe.DualRecipe`,
:class:`lessonlib.cross.recipe.CrossRecipe`) has three members, sized to where it runs:

* ``FAST``: a few optimizer steps on the fast-mode subset (CI, ``LESSONLIB_FAST=1``);
* ``CPU``: what fits a learner's 2-core laptop in full mode;
* ``GPU``: the recipe chosen on a validation split by the bench scripts.

>>> recipe = DualRecipe.for_mode()                       # doctest: +SKIP
>>> recipe.replace(epochs=1).changes()                   # doctest: +SKIP
{'epochs': 1, ...}
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, TypeVar

from lessonlib.core import config

R = TypeVar("R", bound="Recipe")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Base of the training recipes: frozen knobs, with ``FAST`` / ``CPU`` / ``GPU`` members."""

    FAST: ClassVar[Recipe]
    CPU: ClassVar[Recipe]
    GPU: ClassVar[Recipe]

    def replace(self: R, **changes: Any) -> R:
        """A copy with some knobs changed (an unknown knob is a ``TypeError``)."""
        return dataclasses.replace(self, **changes)

    def changes(self) -> dict[str, Any]:
        """The knobs that differ from the class defaults, by name (what a cache key or a log needs)."""
        default = type(self)()
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) != getattr(default, f.name)}

    @classmethod
    def for_mode(cls: type[R], fast: bool | None = None, device: str | None = None) -> R:
        """``FAST`` in fast mode, else ``GPU`` on a CUDA device and ``CPU`` otherwise."""
        if config.is_fast() if fast is None else fast:
            return cls.FAST
        return cls.GPU if config.device(device) == "cuda" else cls.CPU
