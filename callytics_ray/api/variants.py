"""A/B variants: which speech-recognizer variant serves a new call, by configured weights."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence

from callytics_ray.errors import ConfigError
from callytics_ray.settings import AsrVariant, Settings


def pick_variant(variants: Sequence[AsrVariant], u: float) -> str:
    """The variant that owns point `u` in [0, 1) when the weights are laid end to end.

    Raises:
        ConfigError: no variants, or no variant has a positive weight.
    """
    total = sum(v.weight for v in variants)
    if not variants or total <= 0:
        raise ConfigError("A/B variants need at least one variant with a positive weight")
    bounds = list(itertools.accumulate(v.weight / total for v in variants))
    index = bisect.bisect_right(bounds, u)
    # Float rounding can leave the last bound a hair under 1.0: never step past the end, and
    # never land on a zero-weight variant.
    index = min(index, len(variants) - 1)
    while variants[index].weight <= 0:
        index -= 1
    return variants[index].name


class VariantPicker:
    """Weighted random choice of a variant per call; weights can be replaced live.

    Example:
        >>> picker = VariantPicker([AsrVariant(name="base", weight=0.9), AsrVariant(name="tiny", weight=0.1)])
        >>> picker.pick() in {"base", "tiny"}
        True
    """

    def __init__(self, variants: Sequence[AsrVariant], *, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._variants: tuple[AsrVariant, ...] = ()
        self.set_variants(variants)

    @classmethod
    def from_settings(cls, settings: Settings, *, rng: random.Random | None = None) -> VariantPicker | None:
        """A picker for `settings.api.variants`, or None when no experiment is configured."""
        return cls(settings.api.variants, rng=rng) if settings.api.variants else None

    @property
    def variants(self) -> tuple[AsrVariant, ...]:
        return self._variants

    def set_variants(self, variants: Sequence[AsrVariant]) -> None:
        """Replace the variants and weights (a Serve `reconfigure`); new calls use them at once.

        Raises:
            ConfigError: duplicate names, or no positive weight.
        """
        variants = tuple(AsrVariant.model_validate(v) for v in variants)
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            raise ConfigError(f"A/B variant names must be unique; got {', '.join(names)}")
        if not variants or sum(v.weight for v in variants) <= 0:
            raise ConfigError("A/B variants need at least one variant with a positive weight")
        self._variants = variants  # one reference swap: a concurrent pick sees old or new, whole

    def weights(self) -> dict[str, float]:
        return {v.name: v.weight for v in self._variants}

    def pick(self) -> str:
        return pick_variant(self._variants, self._rng.random())
