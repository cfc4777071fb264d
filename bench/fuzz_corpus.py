"""Hostile uploads for the gateway: a deterministic corpus of broken, odd and malicious requests
built from a real recording (issue 14, "Hostile input").

Valid files of every supported container are encoded with ffmpeg from a clip of a shared
recording; the corpus then truncates them at many offsets, flips header bytes, sends random bytes
under every audio extension, odd sample rates and channel counts, 0 and 1 sample, WAV headers that
claim hours, an mp3 of only ID3 tags, FLAC decompression bombs (hours of silence in a few KB),
hostile filenames (10k characters, path traversal, NUL, non-UTF-8), wrong content types and
malformed multipart bodies. The same seed gives the same bytes.

Example:
    >>> cases = build_corpus(Path("/work/shared/data"), Path("/tmp/fuzz"), seed=14)
    >>> len(cases), cases[0].name
"""

from __future__ import annotations

import random
import struct
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

SOURCE_RECORDING = "dev00.wav"  # AMI meeting speech, mono 16 kHz
STEREO_RECORDING = "stereo_diarization.wav"  # one speaker per channel
CLIP_S = 2.0
BOUNDARY = "callytics-fuzz-boundary"

# name -> (file name, ffmpeg output arguments); every container the README promises.
CONTAINERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "wav": ("call.wav", ("-c:a", "pcm_s16le")),
    "flac": ("call.flac", ("-c:a", "flac")),
    "mp3": ("call.mp3", ("-c:a", "libmp3lame", "-b:a", "32k")),
    "m4a": ("call.m4a", ("-c:a", "aac", "-b:a", "32k")),
    "m4a-faststart": ("call.m4a", ("-c:a", "aac", "-b:a", "32k", "-movflags", "+faststart")),
    "ogg": ("call.ogg", ("-c:a", "libvorbis", "-q:a", "2")),
    "opus": ("call.opus", ("-c:a", "libopus", "-b:a", "16k")),
    "webm": ("call.webm", ("-c:a", "libopus", "-b:a", "16k", "-f", "webm")),
}
AUDIO_EXTENSIONS = (".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".webm",
                    ".amr", ".aif", ".aiff", ".au", ".wma", ".3gp")
MEDIA_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg", ".m4a": "audio/mp4",
               ".ogg": "audio/ogg", ".opus": "audio/ogg", ".webm": "audio/webm"}


@dataclass(frozen=True, slots=True)
class Part:
    """One multipart part. `filename` is raw bytes so that non-UTF-8 and NUL bytes go out as they are."""

    field: str
    data: bytes
    filename: bytes | None = None
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class FuzzCase:
    """One hostile request to POST /v1/calls.

    Attributes:
        name: unique and stable, e.g. "truncate/flac/512".
        family: what kind of hostility (truncate, flip, random, header, format, bomb, name, type, multipart).
        body: the request body as sent.
        content_type: the request's Content-Type header (None: none sent).
        decodable: the file may well be valid audio (a harmless mutation, an odd but legal format):
            completing is then as right as failing with a reason.
    """

    name: str
    family: str
    body: bytes
    content_type: str | None
    decodable: bool = False


def encode_multipart(parts: tuple[Part, ...], *, boundary: str = BOUNDARY, close: bool = True) -> bytes:
    """A multipart/form-data body written byte by byte (no client library would send a NUL in a filename)."""
    out = bytearray()
    for part in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'Content-Disposition: form-data; name="{part.field}"'.encode()
        if part.filename is not None:
            disposition += b'; filename="' + part.filename + b'"'
        out += disposition + b"\r\n"
        if part.content_type is not None:
            out += f"Content-Type: {part.content_type}\r\n".encode("latin-1", "replace")
        out += b"\r\n" + part.data + b"\r\n"
    if close:
        out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def upload_case(name: str, family: str, data: bytes, filename: bytes | str = b"call.wav",
                content_type: str | None = "audio/wav", *, decodable: bool = False) -> FuzzCase:
    """A well-formed multipart request with one file part."""
    raw_name = filename.encode() if isinstance(filename, str) else filename
    part = Part("file", data, raw_name, content_type)
    return FuzzCase(name, family, encode_multipart((part,)), f"multipart/form-data; boundary={BOUNDARY}", decodable)


# -- valid base files -------------------------------------------------------------------------------


def _ffmpeg(args: list[str]) -> None:
    # bitexact: no encoder version tags and fixed Ogg serial numbers, so the same seed gives the same bytes.
    *inputs, out = args
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, "-fflags", "+bitexact", "-flags:a", "+bitexact",
                    "-map_metadata", "-1", out], check=True, capture_output=True, timeout=120)


def encode(source: Path, out: Path, codec_args: tuple[str, ...], *, filters: tuple[str, ...] = ()) -> bytes:
    """`source` (a clip) encoded with ffmpeg; the bytes of the result."""
    _ffmpeg(["-i", str(source), *filters, *codec_args, str(out)])
    return out.read_bytes()


def base_clips(data_dir: Path, work: Path) -> tuple[Path, Path]:
    """(mono, stereo) 16 kHz PCM clips of CLIP_S seconds cut from the shared recordings."""
    work.mkdir(parents=True, exist_ok=True)
    mono, stereo = work / "clip-mono.wav", work / "clip-stereo.wav"
    if not mono.exists():
        _ffmpeg(["-i", str(data_dir / SOURCE_RECORDING), "-ss", "3", "-t", str(CLIP_S), "-ac", "1", "-ar", "16000",
                 "-c:a", "pcm_s16le", str(mono)])
    if not stereo.exists():
        _ffmpeg(["-i", str(data_dir / STEREO_RECORDING), "-t", str(CLIP_S), "-ar", "16000", "-c:a", "pcm_s16le",
                 str(stereo)])
    return mono, stereo


def encode_all(source: Path, jobs: dict[Path, tuple[str, ...]]) -> dict[Path, bytes]:
    """Every out path -> the bytes of `source` encoded with its arguments; files already there are
    reused, the rest encoded side by side (each ffmpeg mostly waits on process start-up)."""
    missing = [out for out in jobs if not out.exists()]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda out: encode(source, out, jobs[out]), missing))
    return {out: out.read_bytes() for out in jobs}


def base_files(mono: Path, work: Path) -> dict[str, tuple[str, bytes]]:
    """container -> (file name, bytes) of the mono clip in every supported container."""
    paths = {container: work / f"base-{container}{Path(name).suffix}" for container, (name, _) in CONTAINERS.items()}
    encoded = encode_all(mono, {paths[c]: args for c, (_, args) in CONTAINERS.items()})
    return {container: (name, encoded[paths[container]]) for container, (name, _) in CONTAINERS.items()}


# -- hand-made headers ------------------------------------------------------------------------------


def wav_bytes(pcm: bytes, *, rate_hz: int = 16_000, channels: int = 1, bits: int = 16, format_tag: int = 1,
              data_size: int | None = None, riff_size: int | None = None) -> bytes:
    """A RIFF/WAVE file around `pcm` whose header may lie (`data_size`, `riff_size`, any field)."""
    block_align = (channels * bits // 8) & 0xFFFF
    byte_rate = (rate_hz * block_align) & 0xFFFFFFFF
    fmt = struct.pack("<HHIIHH", format_tag, channels, rate_hz, byte_rate, block_align, bits)
    data_size = len(pcm) if data_size is None else data_size
    riff_size = 4 + 8 + len(fmt) + 8 + data_size if riff_size is None else riff_size
    return (b"RIFF" + struct.pack("<I", riff_size & 0xFFFFFFFF) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt))
            + fmt + b"data" + struct.pack("<I", data_size & 0xFFFFFFFF) + pcm)


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def silent_flac(duration_s: float, *, rate_hz: int = 8_000, declare_length: bool = True) -> bytes:
    """A valid FLAC stream of digital silence: one CONSTANT subframe per 65535-sample block, about
    10 bytes per 8 s of audio, so hours fit in a few KB (a decompression bomb). With
    `declare_length` False STREAMINFO says "length unknown", so only decoding reveals how long it is."""
    block = 65_535
    total = int(duration_s * rate_hz)
    declared = total if declare_length else 0
    # STREAMINFO: block sizes, frame sizes unknown, then rate (20 bits) | channels-1 (3) | bits-1 (5)
    # | samples (36), MD5 unknown.
    packed = (rate_hz << 44) | (0 << 41) | (15 << 36) | declared
    info = struct.pack(">HH", 16, block) + b"\0" * 6 + packed.to_bytes(8, "big") + b"\0" * 16
    out = bytearray(b"fLaC" + bytes([0x80, 0, 0, len(info)]) + info)
    for number, start in enumerate(range(0, total, block)):
        size = min(block, total - start)
        # sync, fixed blocking; block size from the end of the header (0111), rate from STREAMINFO (0000);
        # mono (0000), 16 bits (100), frame number (UTF-8 coded), block size - 1.
        coded_number = chr(number).encode("utf-8", "surrogatepass")
        header = bytes([0xFF, 0xF8, 0x70, 0x08]) + coded_number + struct.pack(">H", size - 1)
        frame = header + bytes([_crc8(header)]) + b"\x00" + b"\x00\x00"  # CONSTANT subframe of value 0
        out += frame + struct.pack(">H", _crc16(frame))
    return bytes(out)


def id3_only(seed: int) -> bytes:
    """An 'mp3' that is nothing but tags: an ID3v2 tag with a title and 64 KB of picture, and an ID3v1 tag."""
    rng = random.Random(seed)

    def frame(frame_id: bytes, payload: bytes) -> bytes:
        return frame_id + struct.pack(">I", len(payload)) + b"\0\0" + payload

    body = frame(b"TIT2", b"\x03fuzzed call") + frame(b"APIC", b"\x00image/png\x00\x03\x00" + rng.randbytes(65536))
    size = len(body)
    synchsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    v1 = b"TAG" + b"fuzzed call".ljust(30, b"\0") + b"\0" * 60 + b"2026" + b"\0" * 30 + b"\x0c"
    return b"ID3\x03\x00\x00" + synchsafe + body + v1


# -- the corpus -------------------------------------------------------------------------------------


def _truncations(bases: dict[str, tuple[str, bytes]]) -> Iterator[FuzzCase]:
    for container, (filename, data) in bases.items():
        offsets = {1, 4, 8, 12, 16, 24, 32, 44, 64, 100, 256, 512, 1024, 4096}
        offsets |= {len(data) * k // 8 for k in (1, 2, 3, 4, 5)}
        for offset in sorted(o for o in offsets if o < len(data)):
            # Past its first pages a truncated stream can hold a good half second of speech.
            yield upload_case(f"truncate/{container}/{offset}", "truncate", data[:offset], filename,
                              MEDIA_TYPES[Path(filename).suffix], decodable=offset >= 1024)


def _flips(bases: dict[str, tuple[str, bytes]], rng: random.Random) -> Iterator[FuzzCase]:
    for container, (filename, data) in bases.items():
        media = MEDIA_TYPES[Path(filename).suffix]
        head = min(64, len(data))
        for n in range(4):
            mutated = bytearray(data)
            for _ in range(1 + 2 * n):
                mutated[rng.randrange(head)] ^= 1 << rng.randrange(8)
            yield upload_case(f"flip/{container}/{n}", "flip", bytes(mutated), filename, media, decodable=True)
        # MP3 frames resynchronise after a wiped header: these may still decode.
        yield upload_case(f"flip/{container}/zero-header", "flip", b"\0" * head + data[head:], filename, media,
                          decodable=True)
        yield upload_case(f"flip/{container}/ff-header", "flip", b"\xff" * head + data[head:], filename, media,
                          decodable=True)
        yield upload_case(f"flip/{container}/random-header", "flip", rng.randbytes(head) + data[head:], filename,
                          media, decodable=True)
        mid = len(data) // 2
        yield upload_case(f"flip/{container}/random-middle", "flip", data[:mid] + rng.randbytes(512) + data[mid + 512:],
                          filename, media, decodable=True)


def _random_bytes(rng: random.Random) -> Iterator[FuzzCase]:
    for extension in AUDIO_EXTENSIONS:
        yield upload_case(f"random/{extension[1:]}/empty", "random", b"", f"call{extension}",
                          MEDIA_TYPES.get(extension, "application/octet-stream"))
        for size in (1, 333, 4096, 65536):
            yield upload_case(f"random/{extension[1:]}/{size}", "random", rng.randbytes(size), f"call{extension}",
                              MEDIA_TYPES.get(extension, "application/octet-stream"))
    junk = {
        "text": b"hello, this is not a recording\n" * 100,
        "html": b"<!doctype html><html><body><audio src=x></audio></body></html>",
        "json": b'{"audio": "base64...", "rate": 16000}',
        "png": b"\x89PNG\r\n\x1a\n" + rng.randbytes(2048),
        "zip": b"PK\x03\x04" + rng.randbytes(2048),
        "elf": b"\x7fELF\x02\x01\x01" + rng.randbytes(2048),
        "pdf": b"%PDF-1.7\n" + rng.randbytes(2048),
        "zeros": b"\0" * 65536,
        "riff-only": b"RIFF",
        "riff-no-fmt": b"RIFF\x24\x00\x00\x00WAVEdata\x00\x00\x00\x00",
        "ogg-magic": b"OggS" + rng.randbytes(4096),
        "flac-magic": b"fLaC" + rng.randbytes(4096),
        "ftyp-magic": b"\x00\x00\x00\x20ftypM4A " + rng.randbytes(4096),
        "ebml-magic": b"\x1a\x45\xdf\xa3" + rng.randbytes(4096),
        "mp3-sync": b"\xff\xfb\x90\x00" * 2048,
    }
    for name, data in junk.items():
        yield upload_case(f"random/junk-{name}", "random", data, "call.wav", "audio/wav")


def _formats(mono: Path, stereo: Path, work: Path, pcm: bytes) -> Iterator[FuzzCase]:
    """Odd but legal formats: rates, channel counts, sample formats, 0 and 1 sample."""
    variants = {
        "96k-wav": ("call.wav", ("-ar", "96000", "-c:a", "pcm_s16le"), True),
        "96k-flac": ("call.flac", ("-ar", "96000", "-c:a", "flac"), True),
        "192k-wav": ("call.wav", ("-ar", "192000", "-c:a", "pcm_s16le"), True),
        "8k-wav": ("call.wav", ("-ar", "8000", "-c:a", "pcm_s16le"), True),
        "4k-wav": ("call.wav", ("-ar", "4000", "-c:a", "pcm_s16le"), True),
        "u8-wav": ("call.wav", ("-c:a", "pcm_u8"), True),
        "s24-wav": ("call.wav", ("-c:a", "pcm_s24le"), True),
        "f64-wav": ("call.wav", ("-c:a", "pcm_f64le"), True),
        "mulaw-wav": ("call.wav", ("-ar", "8000", "-c:a", "pcm_mulaw"), True),
        "alaw-wav": ("call.wav", ("-ar", "8000", "-c:a", "pcm_alaw"), True),
        "3ch-wav": ("call.wav", ("-ac", "3", "-c:a", "pcm_s16le"), False),
        "6ch-wav": ("call.wav", ("-ac", "6", "-c:a", "pcm_s16le"), False),
        "6ch-flac": ("call.flac", ("-ac", "6", "-c:a", "flac"), False),
        "6ch-opus": ("call.opus", ("-ac", "6", "-c:a", "libopus", "-b:a", "64k"), False),
        "6ch-m4a": ("call.m4a", ("-ac", "6", "-c:a", "aac"), False),
        "0-samples-flac": ("call.flac", ("-af", "atrim=end_sample=0", "-c:a", "flac"), False),
        "1-sample-flac": ("call.flac", ("-af", "atrim=end_sample=1", "-c:a", "flac"), False),
        "1-sample-mp3": ("call.mp3", ("-af", "atrim=end_sample=1", "-c:a", "libmp3lame"), False),
        "1-sample-ogg": ("call.ogg", ("-af", "atrim=end_sample=1", "-c:a", "libvorbis"), False),
    }
    paths = {name: work / f"format-{name}{Path(filename).suffix}" for name, (filename, _, _) in variants.items()}
    encoded = encode_all(mono, {paths[name]: args for name, (_, args, _) in variants.items()})
    for name, (filename, _, decodable) in variants.items():
        yield upload_case(f"format/{name}", "format", encoded[paths[name]], filename,
                          MEDIA_TYPES[Path(filename).suffix], decodable=decodable)
    tags = id3_only(len(pcm))
    yield upload_case("format/id3-only-mp3", "format", tags, "call.mp3", "audio/mpeg")
    yield upload_case("format/id3-then-zeros-mp3", "format", tags[:-128] + b"\0" * 4096, "call.mp3", "audio/mpeg")
    stereo_bytes = stereo.read_bytes()
    yield upload_case("format/stereo-wav", "format", stereo_bytes, "call.wav", decodable=True)
    yield upload_case("format/0-samples-wav", "format", wav_bytes(b""))
    yield upload_case("format/1-sample-wav", "format", wav_bytes(pcm[1000:1002]))
    yield upload_case("format/1-sample-stereo-wav", "format", wav_bytes(pcm[1000:1004], channels=2))
    yield upload_case("format/10-samples-wav", "format", wav_bytes(pcm[1000:1020]))


def _headers(pcm: bytes) -> Iterator[FuzzCase]:
    """WAV headers that lie. FFmpeg trusts the file over a data size past its end (the first
    five decode as the 2 s they hold); the rest are refused or fail."""
    hour_bytes = 3600 * 16_000 * 2
    lies = {
        "claims-10h": wav_bytes(pcm, data_size=10 * hour_bytes),
        "claims-3h": wav_bytes(pcm, data_size=3 * hour_bytes),
        "claims-3h-tiny": wav_bytes(pcm[:3200], data_size=3 * hour_bytes),
        "claims-max-size": wav_bytes(pcm, data_size=0xFFFFFFFF, riff_size=0xFFFFFFFF),
        "riff-size-0": wav_bytes(pcm, riff_size=0),
        "data-size-odd": wav_bytes(pcm, data_size=len(pcm) - 1),
        "rate-0": wav_bytes(pcm, rate_hz=0),
        "rate-1": wav_bytes(pcm, rate_hz=1),
        "rate-4g": wav_bytes(pcm, rate_hz=0xFFFFFFFF),
        "channels-0": wav_bytes(pcm, channels=0),
        "channels-6-of-mono": wav_bytes(pcm, channels=6),
        "channels-65535": wav_bytes(pcm, channels=65535),
        "bits-0": wav_bytes(pcm, bits=0),
        "bits-7": wav_bytes(pcm, bits=7),
        "bits-64-int": wav_bytes(pcm, bits=64),
        "format-unknown": wav_bytes(pcm, format_tag=0x1234),
        "format-extensible-short": wav_bytes(pcm, format_tag=0xFFFE),
        "format-mp3-in-wav": wav_bytes(pcm, format_tag=0x55),
    }
    plausible = ("claims-10h", "claims-3h", "claims-max-size", "riff-size-0", "data-size-odd")
    for name, data in lies.items():
        yield upload_case(f"header/wav-{name}", "header", data, decodable=name in plausible)


def _bombs() -> Iterator[FuzzCase]:
    """Small files that decode to hours: refused by what their header declares, or early while decoding."""
    for hours in (1.0, 3.9, 6.0):
        for declared in (True, False):
            label = f"{hours:g}h-{'declared' if declared else 'undeclared'}"
            yield upload_case(f"bomb/flac-silence-{label}", "bomb", silent_flac(hours * 3600, declare_length=declared),
                              "call.flac", "audio/flac")


def _names(silence: bytes) -> Iterator[FuzzCase]:
    """Hostile filenames on a file that opens as audio but is silent: accepted (or refused for the
    name) and failed as silent_audio, so the name travels through storage and the runner."""
    names: dict[str, bytes] = {
        "10k-chars": b"a" * 10_000 + b".wav",
        "10k-multibyte": "통화".encode() * 5_000 + b".wav",
        "traversal": b"../../etc/passwd.wav",
        "traversal-deep": b"../" * 200 + b"tmp/x.wav",
        "absolute": b"/etc/cron.d/x.wav",
        "windows-traversal": b"..\\..\\windows\\system32\\x.wav",
        "nul-byte": b"call\x00.wav",
        "nul-before-ext": b"evil.sh\x00.wav",
        "non-utf8-latin1": b"appel-\xe9t\xe9.wav",
        "non-utf8-invalid": b"\xff\xfe\xfd.wav",
        "control-chars": b"call\r\nX-Injected: 1\t\x1b[31m.wav",
        "quote": b'ca"ll.wav',
        "only-dots": b"..",
        "only-ext": b".wav",
        "empty": b"",
        "spaces": b"   .wav",
        "unicode-rtl": "\u202eVAW.exe.wav".encode(),
        "emoji": "📞☎️.wav".encode(),
        "double-ext": b"call.wav.exe",
        "upper-ext": b"CALL.WAV",
        "no-ext": b"call",
        "html": b"<script>alert(1)</script>.wav",
        "url": b"http://127.0.0.1/x.wav",
        "percent": b"%2e%2e%2fcall.wav",
        "device": b"/dev/zero.wav",
        "con": b"CON.wav",
    }
    for name, filename in names.items():
        yield upload_case(f"name/{name}", "name", silence, filename, "audio/wav")
    yield upload_case("name/missing-filename-attr", "name", silence, None, "audio/wav")


def _types(silence: bytes, wav: bytes) -> Iterator[FuzzCase]:
    types = ["text/plain", "image/png", "application/json", "application/x-sh", "video/x-msvideo", "audio",
             "audio/", "/wav", "x" * 300, "audio/" + "x" * 300, "audio/wav; " + "a=b; " * 100, "audio/wav\tx",
             "AUDIO/WAV", "audio/wav; charset=utf-8", "application/octet-stream", ";;;", "é/ü"]
    for n, media in enumerate(types):
        yield upload_case(f"type/{n}", "type", silence, "call.wav", media)
    yield upload_case("type/none-with-ext", "type", silence, "call.wav", None)
    yield upload_case("type/none-no-ext", "type", silence, "call", None)
    yield upload_case("type/wav-as-mp3", "type", wav, "call.mp3", "audio/mpeg", decodable=True)
    yield upload_case("type/wav-as-flac", "type", wav, "call.flac", "audio/flac", decodable=True)
    for extension in (".exe", ".txt", ".php", ".wav.php", ".", ".WaV"):
        yield upload_case(f"type/ext{extension}", "type", silence, f"call{extension}", "audio/wav")


def _multipart(silence: bytes) -> Iterator[FuzzCase]:
    form = f"multipart/form-data; boundary={BOUNDARY}"
    file_part = Part("file", silence, b"call.wav", "audio/wav")
    cases = {
        "empty-body": (b"", form),
        "no-parts": (f"--{BOUNDARY}--\r\n".encode(), form),
        "no-file-part": (encode_multipart((Part("language", b"en"),)), form),
        "file-as-field": (encode_multipart((Part("file", silence),)), form),
        "two-file-parts": (encode_multipart((file_part, file_part)), form),
        "file-under-other-name": (encode_multipart((Part("audio", silence, b"call.wav", "audio/wav"),)), form),
        "unclosed": (encode_multipart((file_part,), close=False), form),
        "cut-in-headers": (encode_multipart((file_part,))[:60], form),
        "wrong-boundary": (encode_multipart((file_part,), boundary="other"), form),
        "no-boundary": (encode_multipart((file_part,)), "multipart/form-data"),
        "empty-boundary": (encode_multipart((file_part,)), "multipart/form-data; boundary="),
        "huge-boundary": (encode_multipart((file_part,), boundary="b" * 5000),
                          "multipart/form-data; boundary=" + "b" * 5000),
        "raw-audio-body": (silence, "audio/wav"),
        "json-body": (b'{"file": "call.wav"}', "application/json"),
        "urlencoded": (b"file=call.wav", "application/x-www-form-urlencoded"),
        "no-content-type": (encode_multipart((file_part,)), None),
        "many-fields": (encode_multipart(tuple(Part(f"f{n}", b"x") for n in range(100)) + (file_part,)), form),
        "huge-field": (encode_multipart((Part("agent_id", b"a" * 200_000), file_part)), form),
        "bad-option": (encode_multipart((Part("min_speakers", b"-5"), file_part)), form),
        "bad-roles": (encode_multipart((Part("roles", b"{not json"), file_part)), form),
        "nul-in-field": (encode_multipart((Part("agent_id", b"a\x00b"), file_part)), form),
        "non-utf8-field": (encode_multipart((Part("agent_id", b"\xff\xfe"), file_part)), form),
        "long-idempotency-key": (encode_multipart((Part("idempotency_key", b"k" * 1000), file_part)), form),
        "part-without-disposition": (f"--{BOUNDARY}\r\nContent-Type: audio/wav\r\n\r\n".encode() + silence
                                     + f"\r\n--{BOUNDARY}--\r\n".encode(), form),
    }
    for name, (body, content_type) in cases.items():
        yield FuzzCase(f"multipart/{name}", "multipart", body, content_type)


def build_corpus(data_dir: Path, work: Path, *, seed: int = 14, large: bool = False) -> list[FuzzCase]:
    """Every hostile request, deterministic for `seed`; `large` adds more truncations and flips.

    Args:
        data_dir: the shared recordings (the base files are encoded from a clip of one).
        work: a folder for the encoded files (kept: a second build reuses them).
        seed: seeds every random choice.
        large: about three times as many mutations (the slow test and the reliability bench).
    """
    rng = random.Random(seed)
    mono, stereo = base_clips(data_dir, work)
    bases = base_files(mono, work)
    wav = bases["wav"][1]
    pcm = wav[44:]
    silence = wav_bytes(b"\0\0" * 16_000)
    cases = [
        *_truncations(bases), *_flips(bases, rng), *_random_bytes(rng), *_formats(mono, stereo, work, pcm),
        *_headers(pcm), *_bombs(), *_names(silence), *_types(silence, wav), *_multipart(silence),
    ]
    if large:
        cases += _more_mutations(bases, random.Random(seed + 1))
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "fuzz case names must be unique"
    return cases


def _more_mutations(bases: dict[str, tuple[str, bytes]], rng: random.Random) -> list[FuzzCase]:
    cases = []
    for container, (filename, data) in bases.items():
        media = MEDIA_TYPES[Path(filename).suffix]
        for n in range(25):
            offset = rng.randrange(1, len(data))
            cases.append(upload_case(f"truncate-random/{container}/{n}-{offset}", "truncate", data[:offset],
                                     filename, media, decodable=True))
        for n in range(25):
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 32)):
                mutated[rng.randrange(min(len(data), 4096))] = rng.randrange(256)
            cases.append(upload_case(f"flip-random/{container}/{n}", "flip", bytes(mutated), filename, media,
                                     decodable=True))
        cases.append(upload_case(f"random-body/{container}", "random", rng.randbytes(len(data)), filename, media))
    return cases
