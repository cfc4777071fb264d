"""Stage data: frozen dataclasses that are cheap to pickle between processes and Serve replicas.

Timestamps are float seconds from the start of the call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

ChannelLayoutName = Literal["mono", "dual"]


@dataclass(frozen=True, slots=True, eq=False)
class LoudnessEnvelope:
    """Loudness of the recording as decoded, before noise reduction and gain: what the parties
    really sounded like, which loudness normalisation flattens.

    Attributes:
        frame_s: length of each frame (100 ms: four make one ITU-R BS.1770 gating block).
        frames_lufs: per kept channel, the K-weighted loudness of each consecutive frame in LUFS
            (ITU-R BS.1770, as pyloudnorm measures it).  # shape: (num_channels, num_frames)
    """

    frame_s: float
    frames_lufs: np.ndarray

    def channel(self, index: int | None) -> np.ndarray:
        """The frames of one kept channel (the only one of a mono call; None: channel 0)."""
        rows = self.frames_lufs
        return rows[min(index or 0, len(rows) - 1)]


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What the audio processor learned about a recording.

    Attributes:
        duration_s: length of the recording.
        sample_rate_hz: the rate it was recorded at (before resampling).
        channels: channels in the file.
        codec: decoder name, e.g. "pcm_s16le", "mp3", "aac".
        container: container format, e.g. "wav", "mp3", "mov,mp4,m4a,3gp,3g2,mj2".
        layout: "dual" when the channels are kept apart (one party each), else "mono".
        snr_db: estimated signal-to-noise ratio before enhancement.
        speech_ratio: share of the recording that voice activity detection calls speech.
        noise_reduced: whether noise reduction ran.
        gain_db: gain applied by loudness normalisation.
        loudness: the original loudness envelope per kept channel (None when not measured).
    """

    duration_s: float
    sample_rate_hz: int
    channels: int
    codec: str
    container: str
    layout: ChannelLayoutName
    snr_db: float
    speech_ratio: float
    noise_reduced: bool = False
    gain_db: float = 0.0
    loudness: LoudnessEnvelope | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ProcessedAudio:
    """Decoded, resampled and cleaned audio.

    Attributes:
        info: facts about the original recording.
        channels: one float32 array per kept channel at `sample_rate_hz`;
            one array for mono, two for a dual-channel call.  # shape: (num_samples,)
        sample_rate_hz: rate of the arrays (16 kHz by default).
    """

    info: AudioInfo
    channels: tuple[np.ndarray, ...]
    sample_rate_hz: int = 16_000

    @property
    def mono(self) -> np.ndarray:
        """All kept channels mixed down to one."""
        if len(self.channels) == 1:
            return self.channels[0]
        return np.mean(np.stack(self.channels), axis=0).astype(np.float32)

    @property
    def duration_s(self) -> float:
        return len(self.channels[0]) / self.sample_rate_hz


@dataclass(frozen=True, slots=True)
class Word:
    start: float
    end: float
    text: str
    probability: float


def join_words(words: tuple[Word, ...] | list[Word]) -> str:
    """Text from words: a word that carries its own leading space keeps it, others get one."""
    parts: list[str] = []
    for i, word in enumerate(words):
        text = word.text
        if i and not text[:1].isspace():
            text = " " + text
        parts.append(text)
    return "".join(parts).strip()


@dataclass(frozen=True, slots=True)
class TranscriptSegment:
    """A stretch of recognised speech.

    Attributes:
        channel: the channel it came from on a dual-channel call, else None.
        avg_logprob / no_speech_prob / compression_ratio: Whisper's own confidence figures.
    """

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    channel: int | None = None
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0


@dataclass(frozen=True, slots=True)
class Transcript:
    segments: tuple[TranscriptSegment, ...]
    language: str
    language_probability: float
    model: str
    duration_s: float
    all_language_probs: tuple[tuple[str, float], ...] = field(default=())
    vocabulary: tuple[str, ...] = ()  # the terms recognition was prompted with (`asr/decoding.py`)

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    """One speaker talking from `start` to `end`.

    Attributes:
        secondary: the speaker talks here while the diarizer gives the time to another speaker's
            turn (pyannote 4's exclusive diarization, callytics_ray/diarization/exclusive.py).
            Kept so overlap survives in the turns; word alignment leaves it out so a word goes
            to the speaker the diarizer chose. Backends that make no such choice leave every
            turn primary (False), overlapping or not.
    """

    start: float
    end: float
    speaker: str
    secondary: bool = False


def channel_label(channel: int) -> str:
    """Speaker label of a channel on a dual-channel call: "CHANNEL_0", "CHANNEL_1"."""
    return f"CHANNEL_{channel}"


@dataclass(frozen=True, slots=True)
class Utterance:
    """A maximal run of words by one speaker (after diarization and alignment).

    Attributes:
        speaker: diarization label, e.g. "SPEAKER_00" (or "CHANNEL_0" on dual-channel calls).
        channel: the channel on a dual-channel call, else None.
    """

    start: float
    end: float
    speaker: str
    text: str
    words: tuple[Word, ...] = ()
    channel: int | None = None


@dataclass(frozen=True, slots=True)
class SpeakerRole:
    """Which role a speaker plays, how sure we are, and how much they talked."""

    speaker: str
    role: str  # "agent" | "customer" | "other"
    confidence: float
    talk_time_s: float


SENTIMENT_LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class Sentiment:
    """Sentiment of one text.

    Attributes:
        label: "negative", "neutral" or "positive".
        score: signed polarity in [-1, 1] (P(positive) - P(negative) for the classifiers).
        probabilities: (negative, neutral, positive).
    """

    label: str
    score: float
    probabilities: tuple[float, float, float]

    @classmethod
    def from_probabilities(cls, probabilities: tuple[float, float, float]) -> Sentiment:
        neg, neu, pos = (float(p) for p in probabilities)
        best = max(range(3), key=lambda k: (neg, neu, pos)[k])
        return cls(SENTIMENT_LABELS[best], round(pos - neg, 4), (neg, neu, pos))


@dataclass(frozen=True, slots=True)
class RoleJudgement:
    """An LLM's answer to "which speaker label is the agent".

    Attributes:
        agent: the speaker label it names.
        confidence: its stated probability that `agent` is right (uncalibrated).
        reason: its one-line why (who greets, who states the problem); logged, not scored.
    """

    agent: str
    confidence: float
    reason: str = ""
