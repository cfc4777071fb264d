"""Utterances from speaker-attributed words: the one place that decides where an utterance ends.

An utterance is what a reviewer reads as one line of the dialogue and what every export writes as
one item: one speaker's words, ended by a change of speaker, a pause of that speaker, a sentence
end followed by a breath, or a length cap (Whisper's batched decoding returns 30 s segments, and a
minute-long block is not a dialogue line). On a dual-channel call both parties may talk at once:
each party's utterances are cut on its own, and the two streams interleave by start time.
"""

from __future__ import annotations

from collections.abc import Sequence

from callytics_ray.settings import UtteranceOptions
from callytics_ray.types import Transcript, Utterance, Word, join_words

SENTENCE_END = (".", "?", "!", "。", "？", "！")


def ends_sentence(word: Word) -> bool:
    return word.text.strip().endswith(SENTENCE_END)


def _close(words: list[Word], speaker: str, channel: int | None) -> Utterance:
    return Utterance(
        start=words[0].start, end=words[-1].end, speaker=speaker, text=join_words(words),
        words=tuple(words), channel=channel,
    )


def _cap(words: list[Word], max_s: float) -> list[list[Word]]:
    """Cut a run longer than `max_s` at its best break: the widest pause after a sentence end in
    the second half of the cap, else the widest pause; repeat until every piece fits."""
    pieces: list[list[Word]] = []
    rest = words
    while len(rest) > 1 and rest[-1].end - rest[0].start > max_s:
        fits = [i for i in range(1, len(rest)) if rest[i - 1].end - rest[0].start <= max_s] or [1]
        late = [i for i in fits if rest[i - 1].end - rest[0].start >= max_s / 2]
        sentence = [i for i in late if ends_sentence(rest[i - 1])]
        candidates = sentence or fits
        cut = max(candidates, key=lambda i: (rest[i].start - rest[i - 1].end, i))
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return pieces


def build_utterances(
    words: Sequence[Word],
    speakers: Sequence[str],
    channels: Sequence[int | None],
    options: UtteranceOptions,
    *,
    exclusive: bool = True,
) -> tuple[Utterance, ...]:
    """Utterances in time order from words with a speaker and channel each.

    Args:
        words: timed words, any order.
        speakers / channels: per word.
        exclusive: one speaker at a time (mono): a word of another speaker ends every open
            utterance. False (dual-channel): each speaker's utterance runs on through the other
            party's words, which is real overlap.
    """
    order = sorted(range(len(words)), key=lambda i: (words[i].start, words[i].end))
    open_runs: dict[tuple[str, int | None], list[Word]] = {}
    finished: list[Utterance] = []

    def flush(key: tuple[str, int | None]) -> None:
        run = open_runs.pop(key, None)
        if run:
            finished.extend(_close(piece, key[0], key[1]) for piece in _cap(run, options.max_duration_s))

    for index in order:
        word, key = words[index], (speakers[index], channels[index])
        if exclusive:
            for other in [k for k in open_runs if k != key]:
                flush(other)
        run = open_runs.get(key)
        if run:
            gap = word.start - run[-1].end
            if gap >= options.pause_s or (ends_sentence(run[-1]) and gap >= options.sentence_pause_s):
                flush(key)
        open_runs.setdefault(key, []).append(word)
    for key in list(open_runs):
        flush(key)
    return tuple(sorted(finished, key=lambda u: (u.start, u.end, u.speaker)))


def plain_utterances(transcript: Transcript, options: UtteranceOptions | None = None) -> tuple[Utterance, ...]:
    """Whisper's words as utterances, for when diarization failed.

    The speaker label is the channel on dual-channel calls (one party per channel), else one
    unknown speaker; the result then carries no `speakers`. Utterances end where they would with
    speakers (pauses, sentence ends, the length cap), not at Whisper's 30 s segment edges.
    """
    words: list[Word] = []
    channels: list[int | None] = []
    for segment in transcript.segments:
        if not segment.text.strip():
            continue
        seg_words = segment.words or (Word(segment.start, segment.end, segment.text, 1.0),)
        words.extend(seg_words)
        channels.extend([segment.channel] * len(seg_words))
    speakers = [f"CHANNEL_{c}" if c is not None else "SPEAKER_00" for c in channels]
    dual = any(c is not None for c in channels)
    return build_utterances(words, speakers, channels, options or UtteranceOptions(), exclusive=not dual)
