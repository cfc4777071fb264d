"""Speech recognition with faster-whisper: word timestamps, language ID, VAD and loop guards."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from callytics_ray.asr.cross_call import decode_together
from callytics_ray.asr.decoding import decode_arguments, echoes_vocabulary, fit_vocabulary
from callytics_ray.asr.repetition import collapse_repeated_ngrams, is_repeated_segment
from callytics_ray.cpu import stage_threads
from callytics_ray.errors import ConfigError, StageError
from callytics_ray.failures import StageFailure, attempt
from callytics_ray.model_store import resolve_model
from callytics_ray.settings import AsrOptions, AsrSettings, Settings
from callytics_ray.types import ProcessedAudio, Transcript, TranscriptSegment, Word, join_words
from callytics_ray.vocabulary import merge_terms

logger = logging.getLogger(__name__)

STAGE = "asr"
_CHANNEL_WORKERS = 2  # a dual-channel call's channels decode at the same time


@dataclass(frozen=True, slots=True)
class _Piece:
    """One channel of one call in a cross-call batch."""

    item: int
    channel: int | None
    samples: np.ndarray
    rate: int
    language: str
    language_probability: float
    language_probs: tuple


@dataclass(frozen=True, slots=True)
class DeviceChoice:
    device: str
    compute_type: str


def choose_device(device: str, compute_type: str) -> DeviceChoice:
    """CUDA with float16 when a GPU is visible to CTranslate2, else CPU with int8."""
    import ctranslate2

    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return DeviceChoice(device, compute_type)


@contextmanager
def _whisper_errors() -> Iterator[None]:
    """faster-whisper and CTranslate2 report a failed decode as RuntimeError or ValueError."""
    try:
        yield
    except (RuntimeError, ValueError) as err:
        raise StageError(STAGE, f"faster-whisper failed: {err}") from err


def request_options(options: AsrOptions, language: str | None, vocabulary: Sequence[str] = ()) -> AsrOptions:
    """A stage's options with one call's hints on top: its language (the request wins over a
    configured language) and its vocabulary (the call's terms first, then any configured ones);
    every other option is the stage's own."""
    update: dict[str, object] = {}
    if language is not None:
        update["language"] = language
    if vocabulary:
        update["vocabulary"] = merge_terms(vocabulary, options.vocabulary)
    return options.model_copy(update=update) if update else options


class Transcriber:
    """faster-whisper behind one options object.

    Example:
        >>> transcriber = Transcriber.from_settings(Settings())
        >>> transcript = transcriber.transcribe(load_audio(Path("call.wav")))
        >>> transcript.language, transcript.text
    """

    def __init__(self, model_path: Path, settings: AsrSettings, *, model_name: str) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        choice = choose_device(settings.device, settings.compute_type)
        self.device = choice
        self.model_name = model_name
        self.options = settings.options
        # Two workers: the channels of a dual-channel call are decoded at the same time, each on
        # the stage's threads, so a stereo call keeps the cores a mono call's diarizer would use.
        self._model = WhisperModel(
            str(model_path),
            device=choice.device,
            compute_type=choice.compute_type,
            cpu_threads=stage_threads(settings.cpu_threads) if choice.device == "cpu" else 0,
            num_workers=_CHANNEL_WORKERS,
        )
        self._batched = BatchedInferencePipeline(self._model)
        # BatchedInferencePipeline keeps per-call state (last_speech_timestamp): one call at a time.
        self._batched_lock = threading.Lock()
        logger.info("loaded whisper %s on %s/%s", model_name, choice.device, choice.compute_type)

    @classmethod
    def from_settings(cls, settings: Settings) -> Transcriber:
        path = resolve_model(settings.asr.model, kind="whisper", cache_dir=settings.cache_dir, offline=settings.offline)
        return cls(path, settings.asr, model_name=settings.asr.model)

    @property
    def is_multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    def transcribe(self, audio: ProcessedAudio, options: AsrOptions | None = None) -> Transcript:
        """Transcribe every kept channel; on a dual-channel call each segment carries its channel.

        Raises:
            ConfigError: a forced language is not in `allowed_languages` or the model lacks it.
            StageError: the model failed on this audio.
        """
        options = self._fitted(options or self.options)
        self._check_language(options)
        channels = audio.channels
        with _whisper_errors():
            if len(channels) == 1:
                parts = [self._transcribe_channel(channels[0], audio.sample_rate_hz, options, None)]
            else:
                with ThreadPoolExecutor(max_workers=min(len(channels), _CHANNEL_WORKERS)) as pool:
                    parts = list(pool.map(
                        lambda indexed: self._transcribe_channel(indexed[1], audio.sample_rate_hz, options, indexed[0]),
                        enumerate(channels),
                    ))
        return self._combine(parts, audio)

    def _combine(self, parts: Sequence[Transcript], audio: ProcessedAudio) -> Transcript:
        """One call's transcript from its channels' transcripts."""
        segments = tuple(sorted((s for p in parts for s in p.segments), key=lambda s: (s.start, s.end)))
        # The channel with the most speech speaks for the call's language.
        main = max(parts, key=lambda p: (sum(s.end - s.start for s in p.segments), p.language_probability))
        return Transcript(
            segments=segments,
            language=main.language,
            language_probability=main.language_probability,
            model=self.model_name,
            duration_s=audio.duration_s,
            all_language_probs=main.all_language_probs,
            vocabulary=main.vocabulary,
        )

    def transcribe_batch(
        self, items: list[tuple[ProcessedAudio, AsrOptions | None]]
    ) -> list[Transcript | StageFailure]:
        """Length-preserving batch call for Serve's @serve.batch: one failure never fails the others
        (the batch rule of `callytics_ray.failures`).

        Calls that share a language and decoding options are decoded together, their speech chunks
        in the same forward passes (`cross_call.decode_together`), when `batch_across_calls` is on;
        the rest, and any group whose shared decode fails, go one call at a time.
        """
        results: list[Transcript | StageFailure | None] = [None] * len(items)
        groups: dict[tuple, list[_Piece]] = defaultdict(list)
        items = [(audio, self._fitted(options or self.options)) for audio, options in items]
        for index, (audio, options) in enumerate(items):
            if len(items) < 2 or not options.batch_across_calls or not options.vad_filter:
                results[index] = self._one(audio, options)
                continue
            pieces = attempt(STAGE, lambda: self._pieces(index, audio, options))
            if isinstance(pieces, StageFailure):
                results[index] = pieces
                continue
            for piece in pieces:
                # Calls decode together only when every decoding argument agrees.
                decoding = tuple(sorted(decode_arguments(options, piece.language).items()))
                groups[(decoding, piece.rate, options.batch_size, options.vad_min_silence_ms)].append(piece)
        parts: dict[int, list[Transcript]] = defaultdict(list)
        for pieces in groups.values():
            first = items[pieces[0].item][1]
            try:
                with self._batched_lock:
                    decoded = decode_together(
                        self._batched, [p.samples for p in pieces], pieces[0].rate, pieces[0].language, first
                    )
            except Exception as err:  # shared work broke: each call gets its own try, and its own failure
                logger.warning("shared decode of %d recordings failed (%s); decoding them one by one", len(pieces), err)
                for item in {p.item for p in pieces}:
                    results[item] = self._one(*items[item])
                continue
            for piece, raw in zip(pieces, decoded, strict=True):
                options = items[piece.item][1]
                parts[piece.item].append(self._channel_transcript(
                    raw, piece.language, piece.language_probability, piece.language_probs,
                    len(piece.samples) / piece.rate, options, piece.channel,
                ))
        for item, channel_parts in parts.items():
            if results[item] is None:
                results[item] = self._combine(channel_parts, items[item][0])
        return results  # type: ignore[return-value]  (every slot is filled above)

    def _fitted(self, options: AsrOptions) -> AsrOptions:
        """`options` with only the vocabulary terms that fit Whisper's prompt (`fit_vocabulary`)."""
        if not options.vocabulary:
            return options
        tokenizer = self._model.hf_tokenizer
        fitted = fit_vocabulary(options.vocabulary, lambda text: len(tokenizer.encode(text, add_special_tokens=False)))
        if len(fitted) < len(options.vocabulary):
            logger.info("vocabulary: %d of %d terms fit the prompt", len(fitted), len(options.vocabulary))
        return options.model_copy(update={"vocabulary": fitted})

    def _one(self, audio: ProcessedAudio, options: AsrOptions | None) -> Transcript | StageFailure:
        return attempt(STAGE, lambda: self.transcribe(audio, options))

    def _pieces(self, item: int, audio: ProcessedAudio, options: AsrOptions) -> list[_Piece]:
        """The channels of one call of a cross-call batch, each with the language it is decoded in.

        Raises:
            ConfigError: the call's forced language cannot be used (see `transcribe`).
        """
        self._check_language(options)
        with _whisper_errors():
            return [
                self._piece(item, channel if len(audio.channels) > 1 else None, samples, audio.sample_rate_hz, options)
                for channel, samples in enumerate(audio.channels)
            ]

    def _piece(self, item: int, channel: int | None, samples: np.ndarray, rate: int, options: AsrOptions) -> _Piece:
        """One channel of one call with the language it will be decoded in (detected when not given)."""
        language, probability, probs = self._pick_language(samples, options)
        if language is None:
            language, probability, detected = self._model.detect_language(samples, vad_filter=options.vad_filter)
            probs = tuple((lang, float(p)) for lang, p in detected)
        return _Piece(item, channel, samples, rate, language, float(probability), probs)

    def _check_language(self, options: AsrOptions) -> None:
        if options.language is None:
            return
        if options.allowed_languages and options.language not in options.allowed_languages:
            raise ConfigError(f"language {options.language!r} is not in allowed_languages {options.allowed_languages}")
        if not self.is_multilingual and options.language != "en":
            raise ConfigError(f"model {self.model_name} is English-only; it cannot transcribe {options.language!r}")
        if options.language not in self._model.supported_languages:
            raise ConfigError(f"Whisper does not know language {options.language!r}")

    def _pick_language(self, samples: np.ndarray, options: AsrOptions) -> tuple[str | None, float | None, tuple]:
        """Forced, restricted to allowed_languages, or left to Whisper (None)."""
        if options.language:
            return options.language, 1.0, ()
        if not self.is_multilingual:
            return "en", 1.0, ()
        if not options.allowed_languages:
            return None, None, ()
        _, _, probs = self._model.detect_language(
            samples, vad_filter=options.vad_filter, language_detection_segments=2
        )
        allowed = [(lang, p) for lang, p in probs if lang in options.allowed_languages]
        if not allowed:
            return options.allowed_languages[0], 0.0, tuple(probs)
        lang, prob = max(allowed, key=lambda x: x[1])
        return lang, float(prob), tuple((lang_, float(p)) for lang_, p in probs)

    def _transcribe_channel(
        self, samples: np.ndarray, rate: int, options: AsrOptions, channel: int | None
    ) -> Transcript:
        language, forced_prob, probs = self._pick_language(samples, options)
        kwargs = decode_arguments(options, language) | {
            "vad_filter": options.vad_filter,
            "vad_parameters": {"min_silence_duration_ms": options.vad_min_silence_ms},
        }
        duration_s = len(samples) / rate
        if duration_s >= options.batched_min_duration_s and options.vad_filter:
            with self._batched_lock:
                raw, info = self._batched.transcribe(samples, batch_size=options.batch_size, **kwargs)
                raw = list(raw)
        else:
            raw, info = self._model.transcribe(samples, **kwargs)
            raw = list(raw)
        return self._channel_transcript(
            raw,
            info.language,
            float(forced_prob if forced_prob is not None else info.language_probability),
            probs or tuple((lang, float(p)) for lang, p in (info.all_language_probs or ())),
            duration_s,
            options,
            channel,
        )

    def _channel_transcript(
        self,
        raw: list,
        language: str,
        language_probability: float,
        language_probs: tuple,
        duration_s: float,
        options: AsrOptions,
        channel: int | None,
    ) -> Transcript:
        return Transcript(
            segments=self._clean(raw, options, channel),
            language=language,
            language_probability=language_probability,
            model=self.model_name,
            duration_s=duration_s,
            all_language_probs=language_probs,
            vocabulary=options.vocabulary,
        )

    def _clean(self, raw: list, options: AsrOptions, channel: int | None) -> tuple[TranscriptSegment, ...]:
        """Drop Whisper's silence hallucinations and loops; keep everything else as it is."""
        kept: list[TranscriptSegment] = []
        previous: list[str] = []
        for seg in raw:
            if seg.no_speech_prob > options.no_speech_threshold and seg.avg_logprob < options.log_prob_threshold:
                continue
            if seg.compression_ratio > options.compression_ratio_threshold * 1.25:
                logger.debug("dropping looping segment %.1f-%.1f", seg.start, seg.end)
                continue
            if is_repeated_segment(seg.text, previous, options.max_repeats):
                continue
            if options.vocabulary and echoes_vocabulary(seg.text, options.vocabulary):
                logger.debug("dropping an echo of the vocabulary prompt %.1f-%.1f", seg.start, seg.end)
                continue
            previous.append(seg.text)
            words = tuple(
                Word(
                    start=round(float(w.start), 3),
                    end=round(float(w.end), 3),
                    text=w.word.strip(),
                    probability=round(float(w.probability), 4),
                )
                for w in (seg.words or ())
                if w.word.strip()
            )
            words = collapse_repeated_ngrams(words, options.max_repeats)
            if options.word_timestamps and not words:
                continue
            text = join_words(words) if words else seg.text.strip()
            kept.append(
                TranscriptSegment(
                    start=words[0].start if words else round(float(seg.start), 3),
                    end=words[-1].end if words else round(float(seg.end), 3),
                    text=text,
                    words=words,
                    channel=channel,
                    avg_logprob=round(float(seg.avg_logprob), 4),
                    no_speech_prob=round(float(seg.no_speech_prob), 4),
                    compression_ratio=round(float(seg.compression_ratio), 3),
                )
            )
        return tuple(kept)
