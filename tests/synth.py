"""Speech the tests make with espeak-ng: single sentences and two-voice dialogues with references."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

# Two clearly different voices: a male US voice and a female variant. espeak's en-us+m3 and
# en-gb+f4 sound different to a person but their CAM++ embeddings are 0.88 alike on 1 s windows
# (synthetic speech varies less than people do), so the diarizer merges them; this pair it separates.
AGENT_VOICE = "en-us+m1"
CUSTOMER_VOICE = "en+Annie"


@dataclass(frozen=True)
class DialogueTurn:
    speaker: str  # reference label, e.g. "agent" / "customer"
    text: str
    start: float
    end: float


def espeak(text: str, voice: str = "en-us", *, sample_rate_hz: int = 16_000, speed_wpm: int = 160) -> np.ndarray:
    """Speak `text` with espeak-ng and return float32 mono samples at `sample_rate_hz`."""
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed_wpm), "-w", str(raw), text],
            check=True,
            capture_output=True,
        )
        samples, rate = sf.read(raw, dtype="float32")
    if rate != sample_rate_hz:
        samples = _resample(samples, rate, sample_rate_hz)
    return samples.astype(np.float32)


def _resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    from scipy.signal import resample_poly

    g = np.gcd(rate, target)
    return resample_poly(samples, target // g, rate // g).astype(np.float32)


def build_dialogue(
    turns: list[tuple[str, str]],
    path: Path,
    *,
    voices: dict[str, str] | None = None,
    gap_s: float = 0.6,
    sample_rate_hz: int = 16_000,
    noise_dbfs: float | None = -55.0,
    seed: int = 0,
) -> list[DialogueTurn]:
    """Write a dialogue to `path` (16-bit WAV) and return the reference turns.

    Args:
        turns: (speaker, text) in order; speakers are looked up in `voices`.
        voices: speaker -> espeak voice; defaults to agent/customer voices.
        gap_s: silence between turns.
        sample_rate_hz: output rate (8000 for telephone band).
        noise_dbfs: level of a light noise floor so the audio is not digitally silent between turns.
    """
    voices = voices or {"agent": AGENT_VOICE, "customer": CUSTOMER_VOICE}
    rng = np.random.default_rng(seed)
    pieces: list[np.ndarray] = []
    reference: list[DialogueTurn] = []
    cursor = 0.0
    gap = np.zeros(int(gap_s * sample_rate_hz), dtype=np.float32)
    pieces.append(gap)
    cursor += gap_s
    for speaker, text in turns:
        speech = espeak(text, voices[speaker], sample_rate_hz=sample_rate_hz)
        speech = speech / max(1e-6, float(np.max(np.abs(speech)))) * 0.5
        reference.append(DialogueTurn(speaker, text, cursor, cursor + len(speech) / sample_rate_hz))
        pieces.extend([speech, gap])
        cursor += len(speech) / sample_rate_hz + gap_s
    audio = np.concatenate(pieces)
    if noise_dbfs is not None:
        audio = audio + rng.normal(0, 10 ** (noise_dbfs / 20), len(audio)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(audio, -1, 1), sample_rate_hz, subtype="PCM_16")
    return reference


# A short call-centre dialogue used by several test suites.
DOUBLE_CHARGE_CALL: list[tuple[str, str]] = [
    ("agent", "Thank you for calling Acme Bank, my name is John. How can I help you today?"),
    ("customer", "Hi. I am really upset. I was charged twice for the same purchase on my credit card."),
    ("agent", "I am sorry to hear that. I can help you with the double charge. Can you read me the card number please?"),
    ("customer", "Yes, it is four one one one, one one one one, one one one one, one one one one."),
    ("agent", "Thank you. I see the duplicate charge, and I have issued a refund. It will arrive in three days."),
    ("customer", "Okay, thank you, that is great. I appreciate your help."),
    ("agent", "You are welcome. Is there anything else I can help you with today? Have a nice day."),
]
