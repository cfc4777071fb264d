"""Stages run in this process: core objects loaded once, called in worker threads."""

from __future__ import annotations

import asyncio
from functools import cached_property
from typing import Any

from callytics_ray.asr import Transcriber
from callytics_ray.audio import load_audio
from callytics_ray.pipeline.request import CallRequest
from callytics_ray.settings import AsrOptions, Settings
from callytics_ray.types import AudioInfo, ProcessedAudio, Transcript


class LocalStages:
    """The StageBackend for the CLI, benchmarks and tests: no Ray, models loaded on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def transcriber(self) -> Transcriber:
        return Transcriber.from_settings(self.settings)

    async def process_audio(self, request: CallRequest) -> tuple[AudioInfo, Any]:
        audio = await asyncio.to_thread(
            load_audio, request.source, self.settings.audio, layout=request.layout, name=request.name
        )
        return audio.info, audio

    async def transcribe(self, audio: ProcessedAudio, options: AsrOptions) -> Transcript:
        return await asyncio.to_thread(self.transcriber.transcribe, audio, options)
