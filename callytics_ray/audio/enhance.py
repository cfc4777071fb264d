"""Signal measurements and clean-up: SNR estimate, noise reduction, loudness normalisation."""

from __future__ import annotations

import numpy as np

_FRAME_S = 0.03
_EPS = 1e-10
MAX_GAIN_DB = 30.0


def frame_levels_db(samples: np.ndarray, sample_rate_hz: int, frame_s: float = _FRAME_S) -> np.ndarray:
    """RMS level in dBFS of consecutive `frame_s` frames (30 ms by default).  # shape: (num_frames,)"""
    frame = max(1, int(frame_s * sample_rate_hz))
    usable = len(samples) // frame * frame
    if usable == 0:
        return np.array([20 * np.log10(np.sqrt(np.mean(samples**2)) + _EPS)]) if len(samples) else np.array([-200.0])
    frames = samples[:usable].reshape(-1, frame).astype(np.float64)
    return 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + _EPS)


def estimate_snr_db(samples: np.ndarray, sample_rate_hz: int) -> float:
    """Loud frames (95th percentile) against the noise floor (10th percentile), in dB.

    A percentile estimate needs no VAD and is robust on calls, where pauses give the floor.
    """
    levels = frame_levels_db(samples, sample_rate_hz)
    return float(np.clip(np.percentile(levels, 95) - np.percentile(levels, 10), 0.0, 100.0))


def reduce_noise(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Stationary spectral gating (noisereduce); call noise is mostly line hiss and hum."""
    import noisereduce

    cleaned = noisereduce.reduce_noise(
        y=samples, sr=sample_rate_hz, stationary=True, prop_decrease=0.8, n_jobs=1
    )
    return np.asarray(cleaned, dtype=np.float32)


def normalize_loudness(
    samples: np.ndarray, sample_rate_hz: int, target_dbfs: float, speech: list[tuple[float, float]]
) -> tuple[np.ndarray, float]:
    """Scale so speech frames sit at `target_dbfs` RMS, without clipping. Returns (audio, gain_db)."""
    if speech:
        parts = [samples[int(s * sample_rate_hz) : int(e * sample_rate_hz)] for s, e in speech]
        voiced = np.concatenate([p for p in parts if len(p)]) if any(len(p) for p in parts) else samples
    else:
        voiced = samples
    rms_db = 20 * np.log10(np.sqrt(np.mean(voiced.astype(np.float64) ** 2)) + _EPS)
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    gain_db = min(target_dbfs - rms_db, MAX_GAIN_DB)
    if peak > 0:
        gain_db = min(gain_db, 20 * np.log10(0.99 / peak))
    return (samples * (10 ** (gain_db / 20))).astype(np.float32), float(gain_db)
