"""Stages run in this process: core objects loaded once, called in worker threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from callytics_ray.asr import Transcriber
from callytics_ray.audio import load_audio
from callytics_ray.pipeline.request import CallRequest
from callytics_ray.settings import AsrOptions, Settings
from callytics_ray.types import AudioInfo, ProcessedAudio, Transcript

T = TypeVar("T")


class Lazy(Generic[T]):
    """A value built on first use, once, even when several threads ask at the same time."""

    def __init__(self, build: Callable[[], T], value: T | None = None) -> None:
        self._build = build
        self._value = value
        self._lock = threading.Lock()

    def get(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
        return self._value


class LocalStages:
    """The StageBackend for the CLI, benchmarks and tests: no Ray, models loaded on first use.

    Already-loaded core objects can be passed in (tests share one model across many calls).
    """

    def __init__(self, settings: Settings, *, transcriber: Transcriber | None = None) -> None:
        self.settings = settings
        self._transcriber = Lazy(lambda: Transcriber.from_settings(settings), transcriber)

    @property
    def transcriber(self) -> Transcriber:
        return self._transcriber.get()

    async def process_audio(self, request: CallRequest) -> tuple[AudioInfo, Any]:
        audio = await asyncio.to_thread(
            load_audio, request.source, self.settings.audio, layout=request.layout, name=request.name
        )
        return audio.info, audio

    async def transcribe(self, audio: ProcessedAudio, options: AsrOptions) -> Transcript:
        return await asyncio.to_thread(self.transcriber.transcribe, audio, options)
