"""Which torch device a model stage runs on."""

from __future__ import annotations


def torch_device(device: str) -> str:
    """"auto" -> "cuda" when torch sees a GPU, else "cpu"; explicit devices pass through."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
