"""The one settings object. Environment variables use the prefix CALLYTICS_ and `__` for nesting,
e.g. CALLYTICS_DATABASE_URL, CALLYTICS_ASR__MODEL, CALLYTICS_LLM__BASE_URL.

Structural settings (model references, devices, URLs) need a restart to change; the tunable
`*Options` models can also be changed live through a Serve deployment's user_config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
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


class PunctuationOptions(_Section):
    """When and how punctuation is restored.

    Attributes:
        restore: "auto" restores only text that lost punctuation (lower-case or unpunctuated runs,
            text re-split at speaker boundaries) and keeps Whisper's own punctuation elsewhere;
            "always" re-punctuates everything; "never" only splits sentences.
        max_unpunctuated_words: a run of more words than this with no sentence mark counts as lost.
        sentence_pause_s: offline method: a pause at least this long between words ends a sentence.
        comma_pause_s: offline method: a pause at least this long inside a sentence becomes a comma.
        truecase: capitalise restored English text with the `truecase` statistics.
    """

    restore: Literal["auto", "always", "never"] = "auto"
    max_unpunctuated_words: int = Field(25, ge=3)
    sentence_pause_s: float = Field(0.7, gt=0)
    comma_pause_s: float = Field(0.35, gt=0)
    truecase: bool = True


class PunctuationSettings(_Section):
    """Structural punctuation settings.

    Attributes:
        model: a deepmultilingualpunctuation checkpoint (hub id such as
            "oliverguhr/fullstop-punctuation-multilang-large" or a local directory); None uses the
            offline pause-and-ending method.
    """

    model: str | None = None
    device: Device = "auto"
    options: PunctuationOptions = PunctuationOptions()


class SentimentOptions(_Section):
    """Tunable sentiment options.

    Attributes:
        neutral_band: a signed score within +/- this is labelled neutral by the lexicon-only method.
        trajectory_points: how many windows the customer's sentiment trajectory is cut into.
    """

    neutral_band: float = Field(0.05, ge=0.0, lt=1.0)
    trajectory_points: int = Field(3, ge=2, le=20)


class SentimentSettings(_Section):
    """Structural sentiment settings.

    Attributes:
        model: a transformers sequence-classification checkpoint (hub id or local directory) for
            production; None uses the offline method below.
        method: offline method: "combined" (logistic head over sentence embeddings plus lexicon
            features), "embedding" (head over embeddings only) or "lexicon" (VADER and a Korean list).
        embedding_model: the sentence encoder of the offline head.
    """

    model: str | None = None
    method: Literal["combined", "embedding", "lexicon"] = "combined"
    embedding_model: str = "bundled:all-MiniLM-L6-v2"
    device: Device = "auto"
    batch_size: int = Field(32, ge=1)
    options: SentimentOptions = SentimentOptions()


class QualityOptions(_Section):
    """Thresholds of the communication-quality metrics.

    Attributes:
        min_overlap_s: overlapping speech shorter than this is not counted as overtalk.
        interruption_min_overlap_s: a speaker who starts this far before the other stops interrupts.
        backchannel_max_words: overlaps of this many words or fewer ("okay", "yes") are not
            interruptions.
        max_response_latency_s: gaps between parties longer than this are not counted as responses.
    """

    min_overlap_s: float = Field(0.1, ge=0.0)
    interruption_min_overlap_s: float = Field(0.3, ge=0.0)
    backchannel_max_words: int = Field(2, ge=0)
    max_response_latency_s: float = Field(10.0, gt=0)


class LLMOptions(_Section):
    """Tunable options of the LLM analyzer.

    Attributes:
        timeout_s: per request.
        max_retries: further attempts after a failed or invalid response.
        backoff_initial_s / backoff_max_s: exponential backoff between attempts.
        token_budget: estimated prompt tokens per request; longer calls are chunked and merged.
        max_output_tokens: completion limit per request.
        structured_output: "json_schema" (response_format) or "tool" (a forced function call).
        redact_before_send: mask PII in everything sent to the endpoint.
        fallback_offline: when the endpoint fails, record the failure and run the offline analyzer.
    """

    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0)
    backoff_initial_s: float = Field(1.0, ge=0)
    backoff_max_s: float = Field(20.0, ge=0)
    token_budget: int = Field(6000, ge=500)
    max_output_tokens: int = Field(1200, ge=64)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    structured_output: Literal["json_schema", "tool"] = "json_schema"
    redact_before_send: bool = True
    fallback_offline: bool = True


class LLMSettings(_Section):
    """Structural LLM settings: any OpenAI-protocol endpoint (OpenAI, Azure OpenAI, vLLM, Ollama).

    Attributes:
        base_url: e.g. "http://localhost:11434/v1"; None runs the offline analyzer.
        api_key: sent as the bearer token (local servers accept any value).
        model: the model name the endpoint knows.
    """

    base_url: str | None = None
    api_key: SecretStr = SecretStr("not-needed")
    model: str = "gpt-4o-mini"
    options: LLMOptions = LLMOptions()


class RedactionOptions(_Section):
    """PII masking.

    Attributes:
        types: which kinds of PII are detected.
        before_storage: also store the masked text (the spans are stored either way).
        unverified_digit_runs: mask runs of 12 or more digits that fail the card check (a
            misrecognised card or account number) as "account_number".
    """

    types: list[Literal["card", "phone", "email", "ssn", "kr_rrn", "account_number"]] = [
        "card", "phone", "email", "ssn", "kr_rrn", "account_number",
    ]
    before_storage: bool = False
    unverified_digit_runs: bool = True


class LLMPrice(_Section):
    """What one LLM model costs, in USD per million tokens (for the cost estimate metric)."""

    prompt_usd_per_mtok: float = Field(ge=0)
    completion_usd_per_mtok: float = Field(ge=0)

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt_usd_per_mtok + completion_tokens * self.completion_usd_per_mtok) / 1e6


class MonitoringSettings(_Section):
    """What the Prometheus metrics estimate (deployments/metrics.py).

    Attributes:
        llm_prices: price per model name for `ray_callytics_llm_cost_usd_total`; models not listed
            (a local vLLM or Ollama server) count 0. The defaults are OpenAI list prices (2025-2026):
            check them against your contract.
    """

    llm_prices: dict[str, LLMPrice] = {
        "gpt-4o-mini": LLMPrice(prompt_usd_per_mtok=0.15, completion_usd_per_mtok=0.60),
        "gpt-4o": LLMPrice(prompt_usd_per_mtok=2.50, completion_usd_per_mtok=10.00),
    }


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
    punctuation: PunctuationSettings = PunctuationSettings()
    sentiment: SentimentSettings = SentimentSettings()
    quality: QualityOptions = QualityOptions()
    llm: LLMSettings = LLMSettings()
    redaction: RedactionOptions = RedactionOptions()
    monitoring: MonitoringSettings = MonitoringSettings()
