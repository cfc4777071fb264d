"""Dual-channel test calls built from real recordings, with an exact reference.

A recorded call with a reference per channel is not in the shared data (only one constructed
file, synthetic_stereo_call_bleed.wav). These are built the same way from other real speech:
single-speaker stretches of a recording (cut where its reference RTTM says one person talks,
or a whole channel of a one-speaker-per-channel file) become the turns of two parties, laid out
as an alternating call with pauses and a little overlap, one party per channel; each party then
bleeds into the other channel (-12 to -25 dB, 5-40 ms late) as on a real line with echo.
The reference is what was laid out, so it is exact up to the source's own annotation.
Deterministic: the same seed gives the same samples and reference.

Example:
    >>> calls = constructed_calls(Path("/work/shared/data"))
    >>> wav, rttm = write_call(calls[0], Path("/tmp/calls"))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from callytics_ray.audio.enhance import frame_levels_db
from callytics_ray.diarization.nemo_backend import read_rttm
from callytics_ray.types import SpeakerTurn

RATE_HZ = 16_000
_FRAME_S = 0.03  # frame_levels_db's frame
_TURN_DBFS = -24.0  # every turn at one speech level, like a call after the line's AGC
_NOISE_DBFS = -60.0  # line noise, so pauses are not digital silence
BLEED_DB = (-25.0, -12.0)
DELAY_MS = (5.0, 40.0)


@dataclass(frozen=True)
class Call:
    """A two-party dual-channel call and its reference.

    Attributes:
        name: file stem.
        channels: party 0 on row 0, party 1 on row 1, with the other party's bleed.  # shape: (2, n)
        turns: the reference: each turn's extent, speaker = the party's name.
        parties: the party on channel 0 and on channel 1.
        bleed_db: level of party 0 in channel 1 and of party 1 in channel 0, against their own.
        delay_ms: how late that bleed arrives, same order.
        source: where the speech comes from, in words.
    """

    name: str
    channels: np.ndarray
    turns: list[SpeakerTurn]
    parties: tuple[str, str]
    bleed_db: tuple[float, float]
    delay_ms: tuple[float, float]
    source: str

    @property
    def duration_s(self) -> float:
        return self.channels.shape[1] / RATE_HZ


def solo_spans(turns: Sequence[SpeakerTurn], speaker: str, margin_s: float = 0.1) -> list[tuple[float, float]]:
    """Where `speaker` talks and nobody else does, kept `margin_s` clear of the others' turns
    (annotated boundaries are a little loose, and a word of the other speaker must not slip in)."""
    others = sorted((t.start - margin_s, t.end + margin_s) for t in turns if t.speaker != speaker)
    spans: list[tuple[float, float]] = []
    for turn in (t for t in turns if t.speaker == speaker):
        pieces = [(turn.start, turn.end)]
        for o_start, o_end in others:
            pieces = [
                part
                for start, end in pieces
                for part in ((start, min(end, o_start)), (max(start, o_end), end))
                if part[1] > part[0]
            ]
        spans.extend(pieces)
    return spans


def _trim(samples: np.ndarray, below_loud_db: float = 35.0) -> np.ndarray:
    """Drop leading and trailing frames far below the piece's loud frames (and any below
    -60 dBFS): a cut from a turn-level annotation often starts or ends in a pause, not speech."""
    levels = frame_levels_db(samples, RATE_HZ)
    loud = np.flatnonzero((levels > np.percentile(levels, 95) - below_loud_db) & (levels > -60.0))
    if len(loud) == 0:
        return samples[:0]
    frame = int(_FRAME_S * RATE_HZ)
    return samples[loud[0] * frame : (loud[-1] + 1) * frame]


def cut_pieces(
    samples: np.ndarray, spans: Sequence[tuple[float, float]], *, min_s: float = 1.0, max_s: float = 4.5
) -> list[np.ndarray]:
    """One-speaker pieces of `min_s` to `max_s` out of `spans` of a 16 kHz recording; a longer
    span is cut at its quietest frame in the allowed range, so no word is cut in half."""
    frame = int(_FRAME_S * RATE_HZ)
    pieces: list[np.ndarray] = []
    for start_s, end_s in spans:
        rest = samples[int(start_s * RATE_HZ) : int(end_s * RATE_HZ)]
        while len(rest) > max_s * RATE_HZ:
            levels = frame_levels_db(rest, RATE_HZ)
            first, last = int(min_s / _FRAME_S), int(max_s / _FRAME_S)
            cut = (first + int(np.argmin(levels[first:last]))) * frame
            pieces.append(rest[:cut])
            rest = rest[cut:]
        pieces.append(rest)
    trimmed = (_trim(p) for p in pieces)
    return [p for p in trimmed if len(p) >= min_s * RATE_HZ]


def _at_level(piece: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(piece.astype(np.float64) ** 2))) or 1.0
    scaled = piece * (10 ** (_TURN_DBFS / 20) / rms)
    peak = float(np.max(np.abs(scaled)))
    return (scaled * min(1.0, 0.9 / peak)).astype(np.float32)


def lay_out(
    name: str,
    parties: tuple[str, str],
    pieces: tuple[list[np.ndarray], list[np.ndarray]],
    source: str,
    *,
    seed: int,
    max_turns: int = 5,
    overlap_share: float = 0.2,
    bleed: bool = True,
) -> Call:
    """A call from each party's pieces: turns alternate (party 0 first) while both have pieces,
    then the rest of the other party's follow; a pause of 0.3-1.0 s between turns, or, for about
    `overlap_share` of them, the next party starts 0.15-0.4 s before the previous turn ends.
    With `bleed` False the channels carry no trace of the other party (bleed_db is then -inf)."""
    rng = np.random.default_rng(seed)
    counts = [min(len(p), max_turns) for p in pieces]
    order = [party for turn in range(max(counts)) for party in (0, 1) if turn < counts[party]]
    remaining = [iter(p) for p in pieces]
    placed: list[tuple[int, int, np.ndarray]] = []  # (party, start sample, piece)
    turns: list[SpeakerTurn] = []
    end = int(0.5 * RATE_HZ)
    for index, party in enumerate(order):
        piece = _at_level(next(remaining[party]))
        if index and order[index - 1] != party and rng.random() < overlap_share:
            previous_start = placed[-1][1]
            start = max(previous_start + RATE_HZ // 2, end - int(rng.uniform(0.15, 0.4) * RATE_HZ))
        else:
            start = end + int(rng.uniform(0.3, 1.0) * RATE_HZ)
        placed.append((party, start, piece))
        turns.append(SpeakerTurn(round(start / RATE_HZ, 4), round((start + len(piece)) / RATE_HZ, 4), parties[party]))
        end = max(end, start + len(piece))
    tracks = np.zeros((2, end + int(0.5 * RATE_HZ)), dtype=np.float32)
    for party, start, piece in placed:
        tracks[party, start : start + len(piece)] += piece
    bleed_db = (float(rng.uniform(*BLEED_DB)), float(rng.uniform(*BLEED_DB)))
    delay_ms = (float(rng.uniform(*DELAY_MS)), float(rng.uniform(*DELAY_MS)))
    channels = tracks.copy()
    for party in (0, 1) if bleed else ():
        shift = int(delay_ms[party] / 1000 * RATE_HZ)
        echo = np.concatenate([np.zeros(shift, np.float32), tracks[party, : tracks.shape[1] - shift]])
        channels[1 - party] += echo * 10 ** (bleed_db[party] / 20)
    channels += rng.normal(0.0, 10 ** (_NOISE_DBFS / 20), channels.shape).astype(np.float32)
    if not bleed:
        bleed_db = (-np.inf, -np.inf)
    return Call(name, np.clip(channels, -1.0, 1.0), sorted(turns, key=lambda t: t.start), parties,
                bleed_db, delay_ms, source)


def _mono(path: Path) -> np.ndarray:
    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    if rate != RATE_HZ:
        raise ValueError(f"{path.name}: expected {RATE_HZ} Hz, got {rate}")
    return samples.mean(axis=1)


def _speaker_pieces(data: Path, stems: Sequence[str], rttm: str, speaker: str) -> list[np.ndarray]:
    return [
        piece
        for stem in stems
        for piece in cut_pieces(_mono(data / f"{stem}.wav"), solo_spans(read_rttm(data / rttm, stem), speaker))
    ]


def constructed_calls(data: Path, seed: int = 0, *, bleed: bool = True) -> list[Call]:
    """The bench's constructed dual-channel calls, from the shared recordings in `data`."""
    ami = (_speaker_pieces(data, ("dev00", "dev01"), "dev.rttm", "MEE009"),
           _speaker_pieces(data, ("dev00", "dev01"), "dev.rttm", "MEE012"))
    paa = (_speaker_pieces(data, ("paa_diar_4spk",), "paa_diar_4spk.rttm", "speakerB"),
           _speaker_pieces(data, ("paa_diar_4spk",), "paa_diar_4spk.rttm", "speakerC"))
    stereo, _ = sf.read(data / "stereo_diarization.wav", dtype="float32", always_2d=True)
    whole = [(0.0, stereo.shape[0] / RATE_HZ)]
    read = (cut_pieces(stereo[:, 0], whole, max_s=2.5), cut_pieces(stereo[:, 1], whole, max_s=2.5))
    return [
        lay_out("call_ami", ("agent_MEE009", "customer_MEE012"), ami,
                "AMI dev00/dev01 (same meeting room, two male speakers)", seed=seed, bleed=bleed),
        lay_out("call_paa", ("agent_paaB", "customer_paaC"), paa,
                "paa_diar_4spk: wideband speaker B against band-limited speaker C", seed=seed + 1, bleed=bleed),
        lay_out("call_read", ("agent_left", "customer_right"), read,
                "stereo_diarization.wav: the read sentence of each channel", seed=seed + 2, bleed=bleed),
    ]


def write_call(call: Call, directory: Path) -> tuple[Path, Path]:
    """`<name>.wav` (16 kHz stereo PCM16) and `<name>.rttm` (the exact reference) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    wav, rttm = directory / f"{call.name}.wav", directory / f"{call.name}.rttm"
    sf.write(wav, call.channels.T, RATE_HZ, subtype="PCM_16")
    rttm.write_text("".join(
        f"SPEAKER {call.name} 1 {t.start:.4f} {t.end - t.start:.4f} <NA> <NA> {t.speaker} <NA> <NA>\n"
        for t in call.turns
    ))
    return wav, rttm
