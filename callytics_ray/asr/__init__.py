"""Speech recognizer stage: faster-whisper with guards for call audio."""

from callytics_ray.asr.transcriber import DeviceChoice, Transcriber, choose_device, request_options

__all__ = ["DeviceChoice", "Transcriber", "choose_device", "request_options"]
