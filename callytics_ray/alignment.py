"""Words to speakers: each word goes to the speaker turn that overlaps it most, and runs of one
speaker's words become utterances."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from callytics_ray.diarization.dual_channel import channel_label
from callytics_ray.types import SpeakerTurn, Transcript, Utterance, Word, join_words

_SENTENCE_END = (".", "?", "!", "。", "？", "！")
UNKNOWN_SPEAKER = "UNKNOWN"


def speaker_of_word(word: Word, turns: Sequence[SpeakerTurn], starts: Sequence[float] | None = None) -> str:
    """The speaker whose turns overlap `word` most; the nearest turn's speaker when none does.

    Args:
        word: a timed word.
        turns: speaker turns sorted by start.
        starts: `[t.start for t in turns]`, precomputed by callers aligning many words.
    """
    if not turns:
        return UNKNOWN_SPEAKER
    starts = starts if starts is not None else [t.start for t in turns]
    overlap: dict[str, float] = {}
    # Turns starting after the word ends cannot overlap it; earlier ones may be long.
    for turn in turns[: bisect.bisect_right(starts, word.end)]:
        shared = min(turn.end, word.end) - max(turn.start, word.start)
        if shared > 0:
            overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
    if overlap:
        return max(overlap, key=lambda speaker: (overlap[speaker], -_first_index(turns, speaker)))
    middle = (word.start + word.end) / 2
    nearest = min(turns, key=lambda t: max(t.start - middle, middle - t.end, 0.0))
    return nearest.speaker


def _first_index(turns: Sequence[SpeakerTurn], speaker: str) -> int:
    return next(i for i, t in enumerate(turns) if t.speaker == speaker)


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


def align_words(transcript: Transcript, turns: Sequence[SpeakerTurn]) -> tuple[Utterance, ...]:
    """Utterances: maximal runs of consecutive words of one speaker.

    Args:
        transcript: words with timestamps (segments without words are aligned as one word).
        turns: diarization output, any order; secondary turns are left out.

    Returns:
        Utterances in time order; text is the words joined as Whisper spaced them.
    """
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
        speakers = [channel_label(c) for c in channels]
    else:
        speakers = [speaker_of_word(w, ordered, starts) for w in words]
        speakers = _keep_sentences_whole(words, speakers, ordered)
    utterances: list[Utterance] = []
    run: list[int] = []
    for index in range(len(words) + 1):
        if run and (index == len(words) or speakers[index] != speakers[run[0]] or channels[index] != channels[run[0]]):
            run_words = tuple(words[i] for i in run)
            utterances.append(
                Utterance(
                    start=run_words[0].start,
                    end=run_words[-1].end,
                    speaker=speakers[run[0]],
                    text=join_words(run_words),
                    words=run_words,
                    channel=channels[run[0]],
                )
            )
            run = []
        if index < len(words):
            run.append(index)
    return tuple(utterances)
