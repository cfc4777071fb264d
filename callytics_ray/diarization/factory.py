"""Pick the diarization backend from settings; dual-channel calls always skip clustering."""

from __future__ import annotations

from collections.abc import Sequence

from callytics_ray.diarization.base import DiarizationRequest, DiarizationResult, Diarizer
from callytics_ray.diarization.dual_channel import DualChannelDiarizer
from callytics_ray.errors import ConfigError
from callytics_ray.settings import DiarizationOptions, Settings


class LayoutRouter(Diarizer):
    """Sends dual-channel calls to per-channel VAD and every other call to the clustering backend.

    Args:
        mono: the configured backend (offline, pyannote or NeMo).
        dual: the per-channel diarizer.
    """

    def __init__(self, mono: Diarizer, dual: DualChannelDiarizer) -> None:
        self.mono = mono
        self.dual = dual
        self.name = mono.name

    def with_options(self, options: DiarizationOptions) -> LayoutRouter:
        """Both paths with new tunable options (the models are shared, not reloaded)."""
        mono = self.mono.with_options(options) if hasattr(self.mono, "with_options") else self.mono
        return LayoutRouter(mono, self.dual.with_options(options))

    def _route(self, item: DiarizationRequest) -> Diarizer:
        return self.dual if item.audio.info.layout == "dual" and len(item.audio.channels) == 2 else self.mono

    def _bounds(self, item: DiarizationRequest) -> tuple[int, int | None]:
        return self._route(item)._bounds(item)

    def _diarize_many(self, items: Sequence[DiarizationRequest]) -> list[DiarizationResult]:
        results: list[DiarizationResult | None] = [None] * len(items)
        for backend in (self.mono, self.dual):
            indices = [i for i, item in enumerate(items) if self._route(item) is backend]
            if indices:
                for index, result in zip(indices, backend._diarize_many([items[i] for i in indices]), strict=True):
                    results[index] = result
        return [r for r in results if r is not None]


def build_diarizer(settings: Settings) -> LayoutRouter:
    """The diarizer `settings.diarization.backend` names, loaded and ready.

    Raises:
        ConfigError: the backend's library is not installed in this environment.
        ModelNotFoundError: its models cannot be resolved.
    """
    config = settings.diarization
    mono: Diarizer
    if config.backend == "offline":
        from callytics_ray.diarization.offline import OfflineDiarizer

        mono = OfflineDiarizer.from_settings(settings)
    elif config.backend == "pyannote":
        from callytics_ray.diarization.pyannote_backend import PyannoteDiarizer

        mono = PyannoteDiarizer.from_settings(settings)
    elif config.backend == "nemo":
        from callytics_ray.diarization.nemo_backend import NemoDiarizer

        mono = NemoDiarizer.from_settings(settings)
    else:  # pragma: no cover - the settings model only admits the three names
        raise ConfigError(f"unknown diarization backend {config.backend!r}")
    return LayoutRouter(mono, DualChannelDiarizer(config.options))
