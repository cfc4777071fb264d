"""Words to speakers: each word goes to the speaker turn that overlaps it most (on dual-channel
calls, to its channel's party, once the other party's echo is dropped); `utterances` then cuts
the attributed words into utterances."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from callytics_ray.settings import UtteranceOptions
from callytics_ray.types import SpeakerTurn, Transcript, Utterance, Word, channel_label
from callytics_ray.utterances import SENTENCE_END as _SENTENCE_END
from callytics_ray.utterances import build_utterances

UNKNOWN_SPEAKER = "UNKNOWN"


def speaker_of_word(word: Word, turns: Sequence[SpeakerTurn], starts: Sequence[float] | None = None) -> str:
    """The speaker whose turns overlap `word` most; the nearest turn's speaker when none does.

    Inside overlapped speech both speakers' turns cover the word alike: it then goes to the one
    whose turn began first, who holds the floor (a single-stream transcript follows the speaker
    who was talking, and the one barging in gets the words after the overlap).

    Args:
        word: a timed word.
        turns: speaker turns sorted by start.
        starts: `[t.start for t in turns]`, precomputed by callers aligning many words.
    """
    if not turns:
        return UNKNOWN_SPEAKER
    starts = starts if starts is not None else [t.start for t in turns]
    overlap: dict[str, float] = {}
    began: dict[str, float] = {}
    # Turns starting after the word ends cannot overlap it; earlier ones may be long.
    for turn in turns[: bisect.bisect_right(starts, word.end)]:
        shared = min(turn.end, word.end) - max(turn.start, word.start)
        if shared > 0:
            overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
            began[turn.speaker] = min(began.get(turn.speaker, turn.start), turn.start)
    if overlap:
        # Overlaps within 10 ms are a tie (word and turn edges are that precise).
        return max(overlap, key=lambda speaker: (round(overlap[speaker], 2), -began[speaker]))
    middle = (word.start + word.end) / 2
    nearest = min(turns, key=lambda t: max(t.start - middle, middle - t.end, 0.0))
    return nearest.speaker


def _boundary_inside(turns: Sequence[SpeakerTurn], start: float, end: float, speakers: set[str]) -> bool:
    """Whether a turn of one of `speakers` starts or ends strictly inside (start, end)."""
    return any(
        start < edge < end for turn in turns if turn.speaker in speakers for edge in (turn.start, turn.end)
    )


def _keep_sentences_whole(words: list[Word], speakers: list[str], turns: Sequence[SpeakerTurn]) -> list[str]:
    """Undo speaker flips inside a sentence unless a turn boundary truly falls inside it.

    Word timestamps and turn edges are each off by a few tens of milliseconds, which flips the
    odd word at a sentence edge to the neighbouring speaker; a sentence goes to one speaker (the
    one with most of its words) unless the turns say the speaker changed inside it.
    """
    speakers = list(speakers)
    first = 0
    for index, word in enumerate(words):
        is_last = index == len(words) - 1
        if not (word.text.strip().endswith(_SENTENCE_END) or is_last):
            continue
        sentence = range(first, index + 1)
        labels = [speakers[i] for i in sentence]
        if len(set(labels)) > 1:
            counts = {s: sum(1 for x in labels if x == s) for s in labels}
            majority = max(counts, key=lambda s: (counts[s], -labels.index(s)))
            if not _split_is_real(words, labels, turns, first):
                for i in sentence:
                    speakers[i] = majority
        first = index + 1
    return speakers


def _split_is_real(words: list[Word], labels: list[str], turns: Sequence[SpeakerTurn], offset: int) -> bool:
    """A speaker change inside a sentence stands only where the minority side has at least two
    words and the change lies inside the turns (not at a word's edge)."""
    runs: list[tuple[str, int, int]] = []
    for i, label in enumerate(labels):
        if runs and runs[-1][0] == label:
            runs[-1] = (label, runs[-1][1], i)
        else:
            runs.append((label, i, i))
    if any(end - start + 1 < 2 for _, start, end in runs):
        return False
    for (prev_label, _, prev_end), (label, start, _) in zip(runs, runs[1:]):
        gap_start, gap_end = words[offset + prev_end].start, words[offset + start].end
        if not _boundary_inside(turns, gap_start, gap_end, {prev_label, label}):
            return False
    return True


def align_words(
    transcript: Transcript, turns: Sequence[SpeakerTurn], options: UtteranceOptions | None = None
) -> tuple[Utterance, ...]:
    """Utterances in time order, parties interleaved.

    Args:
        transcript: words with timestamps (segments without words are aligned as one word).
        turns: diarization output, any order; secondary turns are left out.
        options: where utterances end (`UtteranceOptions`); defaults when None.

    Returns:
        Utterances sorted by start; text is the words joined as Whisper spaced them.
    """
    options = options or UtteranceOptions()
    # Secondary turns (a speaker heard under the turn the diarizer chose, see SpeakerTurn) keep
    # the overlap in the diarization; they must not pull words away from the chosen speaker.
    ordered = sorted((t for t in turns if not t.secondary), key=lambda t: (t.start, t.end))
    starts = [t.start for t in ordered]
    words: list[Word] = []
    channels: list[int | None] = []
    for segment in transcript.segments:
        seg_words = segment.words or (Word(segment.start, segment.end, segment.text, 1.0),)
        words.extend(seg_words)
        channels.extend([segment.channel] * len(seg_words))
    if not words:
        return ()
    labels = {t.speaker for t in ordered}
    if channels[0] is not None and all(channel_label(c) in labels for c in set(channels)):
        # Dual-channel call: each word was recognised on its party's own channel, which says who
        # spoke it even while both talk at once; time overlap with turns cannot.
        keep = own_channel_words(words, channels, ordered, options.bleed_pad_s)
        words = [w for w, k in zip(words, keep, strict=True) if k]
        channels = [c for c, k in zip(channels, keep, strict=True) if k]
        speakers = [channel_label(c) for c in channels]  # type: ignore[arg-type]
        return build_utterances(words, speakers, channels, options, exclusive=False)
    speakers = [speaker_of_word(w, ordered, starts) for w in words]
    speakers = _keep_sentences_whole(words, speakers, ordered)
    return build_utterances(words, speakers, channels, options, exclusive=True)


def _normal(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def own_channel_words(
    words: Sequence[Word], channels: Sequence[int | None], turns: Sequence[SpeakerTurn], pad_s: float
) -> list[bool]:
    """Which words of a dual-channel transcript are their channel's own party's.

    A word far from its channel's speech turns is the other party's echo that recognition still
    picked up; the same word heard on both channels at once is kept on the channel whose turn
    holds it (the louder one, which the turns follow), else on the more confident one.
    """
    spans: dict[int, list[tuple[float, float]]] = {}
    for turn in turns:
        if turn.speaker.startswith("CHANNEL_"):
            spans.setdefault(int(turn.speaker.removeprefix("CHANNEL_")), []).append((turn.start, turn.end))
    for channel_spans in spans.values():
        channel_spans.sort()
    # A channel's speech turns do not overlap each other, so the longest one bounds how far back
    # a turn that still covers a word can start.
    longest = max((e - s for channel_spans in spans.values() for s, e in channel_spans), default=0.0)

    def inside(word: Word, channel: int | None) -> bool:
        own = spans.get(channel or 0, [])
        first = bisect.bisect_left(own, (word.start - pad_s - longest,))
        last = bisect.bisect_right(own, (word.end + pad_s, float("inf")))
        return any(s - pad_s < word.end and word.start < e + pad_s for s, e in own[first:last])

    keep = [inside(w, c) for w, c in zip(words, channels, strict=True)]
    # Each channel's words by start, to find a word's twins on the other channels by time.
    by_channel: dict[int | None, list[int]] = {}
    for index, channel in enumerate(channels):
        by_channel.setdefault(channel, []).append(index)
    for members in by_channel.values():
        members.sort(key=lambda i: words[i].start)
    starts = {c: [words[i].start for i in members] for c, members in by_channel.items()}
    longest_word = max((w.end - w.start for w in words), default=0.0)
    for index, (word, channel) in enumerate(zip(words, channels, strict=True)):
        if not keep[index]:
            continue
        for other_channel, members in by_channel.items():
            if other_channel == channel:
                continue
            first = bisect.bisect_left(starts[other_channel], word.start - longest_word)
            last = bisect.bisect_right(starts[other_channel], word.end)
            for other in members[first:last]:
                twin = words[other]
                shared = min(word.end, twin.end) - max(word.start, twin.start)
                if keep[other] and shared > 0.5 * min(word.end - word.start, twin.end - twin.start) and (
                    _normal(word.text) == _normal(twin.text) and _normal(word.text)
                ):
                    # Heard on both channels: the louder channel's turns are tighter around it.
                    mine = (inside(word, channel), word.probability)
                    theirs = (inside(twin, channels[other]), twin.probability)
                    keep[index if mine < theirs else other] = False
                    if not keep[index]:
                        break
            if not keep[index]:
                break
    return keep
