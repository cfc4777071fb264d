"""Which speech recognizer serves a call's A/B variant: the one routing rule every backend uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from callytics_ray.errors import ConfigError

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class VariantRouter(Generic[R]):
    """Maps the variant a call was given (`CallRequest.variant`) to the recognizer that serves it.

    The gateway's `VariantPicker` decides a call's variant once, at submission, and stores it;
    the orchestrator hands that name to `StageBackend.transcribe`, and the backend asks its
    router for the recognizer: a core `Transcriber` in-process, a deployment handle on Serve.

    Attributes:
        default: serves calls without a variant.
        by_variant: recognizer per variant name.
        strict: whether a variant not in `by_variant` is refused (Serve: every variant has its own
            deployment, so an unknown name is a misrouted call) or served by `default`
            (in-process: variants on the base model share its recognizer and are not listed).

    Example:
        >>> router = VariantRouter(default="base-model", by_variant={"tiny": "tiny-model"})
        >>> router.route("tiny"), router.route(None), router.route("control")
        ('tiny-model', 'base-model', 'base-model')
    """

    default: R
    by_variant: Mapping[str, R] = field(default_factory=dict)
    strict: bool = False

    def route(self, variant: str | None) -> R:
        """The recognizer for `variant`.

        Raises:
            ConfigError: `strict` and `variant` names no known recognizer.
        """
        if variant is None:
            return self.default
        recognizer = self.by_variant.get(variant)
        if recognizer is not None:
            return recognizer
        if self.strict:
            raise ConfigError(
                f"unknown speech-recognizer variant {variant!r}; deployed: {', '.join(self.by_variant)}"
            )
        return self.default
