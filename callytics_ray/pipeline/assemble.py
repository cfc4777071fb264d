"""Turn stage data (frozen dataclasses) into the public CallAnalysis parts."""

from __future__ import annotations

from callytics_ray.result import AudioResult, SegmentResult, WordResult
from callytics_ray.types import AudioInfo, Transcript, TranscriptSegment, Utterance, Word


def audio_result(info: AudioInfo) -> AudioResult:
    return AudioResult(
        duration_s=info.duration_s,
        sample_rate_hz=info.sample_rate_hz,
        channels=info.channels,
        codec=info.codec,
        layout=info.layout,
        snr_db=info.snr_db,
        speech_ratio=info.speech_ratio,
        noise_reduced=info.noise_reduced,
        gain_db=info.gain_db,
    )


def word_results(words: tuple[Word, ...]) -> list[WordResult]:
    return [WordResult(start=w.start, end=w.end, text=w.text, probability=w.probability) for w in words]


def segments_from_transcript(transcript: Transcript) -> list[SegmentResult]:
    """Segments before speakers are known: Whisper's own segmentation."""
    return [_segment(s) for s in transcript.segments]


def _segment(s: TranscriptSegment) -> SegmentResult:
    return SegmentResult(start=s.start, end=s.end, text=s.text, words=word_results(s.words), channel=s.channel)


def segments_from_utterances(utterances: tuple[Utterance, ...], roles: dict[str, str]) -> list[SegmentResult]:
    """Speaker-attributed segments; `roles` maps speaker label -> role."""
    return [
        SegmentResult(
            start=u.start,
            end=u.end,
            text=u.text,
            words=word_results(u.words),
            speaker=u.speaker,
            role=roles.get(u.speaker),
            channel=u.channel,
        )
        for u in utterances
    ]
