"""Callytics-Ray core: call analytics stages that run without Ray (CLI, notebooks, tests).

The Serve deployments in `deployments/` are thin wrappers over this package.
"""

from callytics_ray.errors import CallyticsError
from callytics_ray.result import CallAnalysis
from callytics_ray.settings import Settings

__all__ = ["CallAnalysis", "CallyticsError", "Settings"]
__version__ = "0.1.0"
