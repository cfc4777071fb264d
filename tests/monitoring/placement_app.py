"""A one-deployment application for the multi-node test: the real audio-processor, with the
resources the real app builder gives it (AppArgs.resources, custom resources included)."""

from __future__ import annotations

from typing import Any

from ray.serve import Application

from deployments.app import AppArgs
from deployments.audio import AudioProcessorDeployment


def build(args: dict[str, Any]) -> Application:
    app_args = AppArgs.model_validate(args)
    options = app_args.actor_options(app_args.stage_resources("audio-processor"))
    return AudioProcessorDeployment.options(ray_actor_options=options).bind(settings=app_args.settings)
