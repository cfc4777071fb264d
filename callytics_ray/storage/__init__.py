"""Storage stage: SQLModel tables on SQLite (default) or PostgreSQL, and the CallStore repository."""

from callytics_ray.storage.db import make_engine, normalize_url
from callytics_ray.storage.models import CallFilter, CallPage, CallRecord, SearchHit, SearchPage, StageState
from callytics_ray.storage.repository import WRITE_METHODS, CallStore
from callytics_ray.storage.models import CallSort
from callytics_ray.storage.tables import CallStatus

__all__ = [
    "WRITE_METHODS", "CallFilter", "CallPage", "CallRecord", "CallStatus", "CallStore", "SearchHit", "SearchPage",
    "StageState", "make_engine", "normalize_url",
    "CallSort",
]
