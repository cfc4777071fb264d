"""Per-stage runtime_envs: read runtime_envs/<name>.txt into a Ray runtime_env dict.

A Serve config file cannot point at a local requirements file, so the app builder reads it and
puts the pins into the deployment's ray_actor_options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from callytics_ray.errors import ConfigError
from callytics_ray.settings import Settings

# The repository's runtime_envs/ when the project is installed editable (a source checkout);
# images that install the wheel copy the folder and set CALLYTICS_RUNTIME_ENVS_DIR.
DEFAULT_DIR = Path(__file__).resolve().parents[1] / "runtime_envs"


def runtime_envs_dir(configured: Path | None = None) -> Path:
    """Where the requirement files are: the argument, the settings' `runtime_envs_dir`
    ($CALLYTICS_RUNTIME_ENVS_DIR), or the checkout's."""
    directory = configured or Settings(_env_file=None).runtime_envs_dir or DEFAULT_DIR
    if not directory.is_dir():
        raise ConfigError(f"runtime_envs directory {directory} not found; set CALLYTICS_RUNTIME_ENVS_DIR")
    return directory


def read_requirements(name: str, directory: Path) -> list[str]:
    """The pinned requirement lines of runtime_envs/<name>.txt (comments and blanks dropped).

    Raises:
        ConfigError: the file is missing, empty, or has a line that is not pinned with ==.
    """
    path = directory / f"{name}.txt"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.txt")))
        raise ConfigError(f"no runtime env file {path}; known: {known}")
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-") or "==" not in line:
            raise ConfigError(f"{path}: {line!r} is not pinned with == (every stage env is reproducible)")
        lines.append(line)
    if not lines:
        raise ConfigError(f"{path} lists no packages")
    return lines


def stage_runtime_env(
    *, requirements: str | None, image_uri: str | None, env_vars: dict[str, str], directory: Path | None
) -> dict[str, Any]:
    """The runtime_env of one deployment.

    Args:
        requirements: runtime_envs/<requirements>.txt to pip-install on top of the base env, or None.
        image_uri: a prebuilt container image for the stage (clusters: no install at replica start).
        env_vars: environment every replica gets.
        directory: where the requirement files are (None: `runtime_envs_dir()`).
    """
    env: dict[str, Any] = {"env_vars": dict(env_vars)} if env_vars else {}
    if image_uri:
        # Ray does not combine image_uri with pip: the image already holds the stage's packages.
        env["image_uri"] = image_uri
    elif requirements:
        packages = read_requirements(requirements, runtime_envs_dir(directory))
        env["pip"] = {"packages": packages, "pip_check": False}
    return env
