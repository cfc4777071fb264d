"""Audio processor stage: any common format in, clean 16 kHz float32 channels out."""

from callytics_ray.audio.decode import DecodedAudio, decode_audio, probe_audio
from callytics_ray.audio.processor import load_audio
from callytics_ray.vad import speech_ratio, speech_regions

__all__ = ["DecodedAudio", "decode_audio", "probe_audio", "load_audio", "speech_ratio", "speech_regions"]
