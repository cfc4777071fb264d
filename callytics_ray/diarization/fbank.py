"""Kaldi-compatible log-mel filterbank features in torch, batched over equal-length windows.

CAM++ was trained on `torchaudio.compliance.kaldi.fbank` features; torchaudio cannot be installed
beside the base torch (see runtime_envs/), so the same computation is written out here.
"""

from __future__ import annotations

import math

import torch

_PREEMPHASIS = 0.97
_LOW_FREQ_HZ = 20.0


def _mel(freq_hz: torch.Tensor | float) -> torch.Tensor | float:
    if isinstance(freq_hz, torch.Tensor):
        return 1127.0 * torch.log1p(freq_hz / 700.0)
    return 1127.0 * math.log1p(freq_hz / 700.0)


def mel_banks(num_bins: int, num_fft: int, sample_rate_hz: int) -> torch.Tensor:
    """Kaldi's triangular mel filters.  # shape: (num_bins, num_fft // 2 + 1)"""
    num_fft_bins = num_fft // 2
    bin_width_hz = sample_rate_hz / num_fft
    mel_low = _mel(_LOW_FREQ_HZ)
    mel_high = _mel(sample_rate_hz / 2.0)
    delta = (mel_high - mel_low) / (num_bins + 1)
    fft_mel = _mel(bin_width_hz * torch.arange(num_fft_bins, dtype=torch.float64))
    index = torch.arange(num_bins, dtype=torch.float64).unsqueeze(1)
    left = mel_low + index * delta
    center = mel_low + (index + 1) * delta
    right = mel_low + (index + 2) * delta
    up = (fft_mel - left) / (center - left)
    down = (right - fft_mel) / (right - center)
    banks = torch.clamp(torch.minimum(up, down), min=0.0)
    # Kaldi leaves the Nyquist bin out of every filter.
    return torch.nn.functional.pad(banks, (0, 1)).to(torch.float32)


class KaldiFbank(torch.nn.Module):
    """80-bin log-mel features like `kaldi.fbank(wav, num_mel_bins=80, dither=0)`, mean-normalised.

    Args:
        num_bins: mel filters.
        sample_rate_hz: rate of the input waveform.
        frame_length_ms / frame_shift_ms: analysis window and hop.

    Example:
        >>> feats = KaldiFbank()(torch.zeros(4, 24_000))  # shape: (4, 148, 80)
    """

    def __init__(
        self,
        num_bins: int = 80,
        sample_rate_hz: int = 16_000,
        frame_length_ms: float = 25.0,
        frame_shift_ms: float = 10.0,
    ) -> None:
        super().__init__()
        self.frame_length = int(sample_rate_hz * frame_length_ms / 1000)
        self.frame_shift = int(sample_rate_hz * frame_shift_ms / 1000)
        self.num_fft = 1 << (self.frame_length - 1).bit_length()
        window = torch.hann_window(self.frame_length, periodic=False, dtype=torch.float64).pow(0.85)
        self.register_buffer("window", window.to(torch.float32), persistent=False)
        self.register_buffer("banks", mel_banks(num_bins, self.num_fft, sample_rate_hz), persistent=False)

    def num_frames(self, num_samples: int) -> int:
        """Frames Kaldi makes from `num_samples` (snip_edges=True)."""
        if num_samples < self.frame_length:
            return 0
        return 1 + (num_samples - self.frame_length) // self.frame_shift

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Features of equal-length float waveforms in [-1, 1].

        Args:
            waveforms: shape (batch, num_samples), num_samples >= one frame.

        Returns:
            Mean-normalised log-mel energies.  # shape: (batch, num_frames, num_bins)
        """
        frames = waveforms.unfold(-1, self.frame_length, self.frame_shift)  # (batch, frames, length)
        frames = frames - frames.mean(dim=-1, keepdim=True)
        previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
        frames = (frames - _PREEMPHASIS * previous) * self.window
        spectrum = torch.fft.rfft(frames, n=self.num_fft).abs().pow(2)
        energies = torch.matmul(spectrum, self.banks.T)
        log_energies = torch.log(torch.clamp(energies, min=torch.finfo(torch.float32).eps))
        return log_energies - log_energies.mean(dim=1, keepdim=True)
