"""The one settings object. Environment variables use the prefix CALLYTICS_ and `__` for nesting,
e.g. CALLYTICS_DATABASE_URL, CALLYTICS_ASR__MODEL, CALLYTICS_LLM__BASE_URL.

Structural settings (model references, devices, URLs) need a restart to change; the tunable
`*Options` models can also be changed live through a Serve deployment's user_config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ChannelLayout = Literal["auto", "mono", "dual"]
Device = Literal["auto", "cpu", "cuda"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class AudioOptions(_Section):
    """How a recording is decoded and cleaned.

    Attributes:
        target_sample_rate_hz: every stage works on audio at this rate.
        max_duration_s: longer recordings are refused.
        max_channels: recordings with more channels are refused.
        channel_layout: "dual" keeps two channels apart (one party each), "mono" downmixes,
            "auto" keeps them apart only when they really carry different signals.
        noise_reduction: "auto" reduces noise only when the SNR estimate is below
            `noise_reduction_below_snr_db`; noise reduction on clean speech costs ASR accuracy.
        loudness_normalization: scale speech to `target_loudness_dbfs` (RMS over speech frames).
        min_speech_ratio: below this share of speech frames the recording counts as silent.
    """

    target_sample_rate_hz: int = 16_000
    max_duration_s: float = Field(4 * 3600.0, gt=0)
    max_channels: int = Field(2, ge=1)
    channel_layout: ChannelLayout = "auto"
    noise_reduction: Literal["off", "auto", "on"] = "auto"
    noise_reduction_below_snr_db: float = 15.0
    loudness_normalization: bool = True
    target_loudness_dbfs: float = -20.0
    min_speech_ratio: float = Field(0.005, ge=0.0, le=1.0)


class AsrOptions(_Section):
    """Tunable faster-whisper decoding options (see faster_whisper.transcribe.TranscriptionOptions)."""

    beam_size: int = Field(5, ge=1)
    language: str | None = None
    allowed_languages: list[str] | None = None
    vad_filter: bool = True
    vad_min_silence_ms: int = Field(500, ge=0)
    word_timestamps: bool = True
    condition_on_previous_text: bool = False
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    hallucination_silence_threshold_s: float | None = 2.0
    max_repeats: int = Field(3, ge=1)
    batched_min_duration_s: float = Field(120.0, ge=0)
    batch_size: int = Field(8, ge=1)


class AsrSettings(_Section):
    """Structural speech-recognition settings.

    Attributes:
        model: "bundled:whisper-base" (multilingual, default), "bundled:whisper-tiny.en", a local
            CTranslate2 directory, or a faster-whisper name / hub id such as "large-v3".
        device: "auto" picks CUDA when a GPU is visible.
        compute_type: "auto" is float16 on CUDA and int8 on CPU.
    """

    model: str = "bundled:whisper-base"
    device: Device = "auto"
    compute_type: str = "auto"
    cpu_threads: int = Field(0, ge=0)
    options: AsrOptions = AsrOptions()


class StorageSettings(_Section):
    """Where results live. `database_url` on Settings picks the database."""

    echo_sql: bool = False
    store_audio: bool = True


class Settings(BaseSettings):
    """Every setting of Callytics-Ray. Build one per process (or per replica) and pass it down."""

    model_config = SettingsConfigDict(
        env_prefix="CALLYTICS_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    database_url: str = "sqlite:///callytics.db"
    cache_dir: Path = Path.home() / ".cache" / "callytics"
    offline: bool = True
    audio: AudioOptions = AudioOptions()
    asr: AsrSettings = AsrSettings()
    storage: StorageSettings = StorageSettings()
