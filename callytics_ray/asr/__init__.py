"""Speech recognizer stage: faster-whisper with guards for call audio."""

from callytics_ray.asr.transcriber import DeviceChoice, Transcriber, choose_device

__all__ = ["DeviceChoice", "Transcriber", "choose_device"]
