"""The HTTP gateway (FastAPI): uploads, results, exports, auth, rate limits, retries, A/B variants.

Ray-free: `create_app` takes a `CallRunner`; `LocalRunner` runs calls in-process, and the Serve
ingress supplies one backed by deployment handles. Needs the `serve` extra (fastapi, python-multipart).
"""

from callytics_ray.api.app import create_app
from callytics_ray.api.experiments import ExperimentReport, VariantReport, compare_variants, word_error_rate
from callytics_ray.api.local import build_local_app
from callytics_ray.api.reconciler import Reconciler
from callytics_ray.api.runner import CallRunner, LocalRunner, make_worker_id
from callytics_ray.api.stored import StoredRequest, SubmittedOptions, load_call_request
from callytics_ray.api.variants import VariantPicker, pick_variant

__all__ = [
    "CallRunner", "ExperimentReport", "LocalRunner", "Reconciler", "StoredRequest", "SubmittedOptions",
    "VariantPicker", "VariantReport", "build_local_app", "compare_variants", "create_app", "load_call_request",
    "make_worker_id", "pick_variant", "word_error_rate",
]
