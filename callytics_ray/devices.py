"""Which device a model stage runs on."""

from __future__ import annotations

import ctypes
import os


def torch_device(device: str) -> str:
    """"auto" -> "cuda" when torch sees a GPU, else "cpu"; explicit devices pass through."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cuda_available() -> bool:
    """Whether this process sees a CUDA device, asked of the driver (libcuda) rather than torch, so
    that a stage which does not otherwise run torch need not load it (hundreds of MB) to find out.
    Ray hides the GPUs of a replica that reserved none (CUDA_VISIBLE_DEVICES is empty)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    try:
        driver = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return driver.cuInit(0) == 0 and driver.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0
