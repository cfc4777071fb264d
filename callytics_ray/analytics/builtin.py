"""The rubric and category set shipped with the package (English and Korean contact-center
defaults, data under `defaults/`). They apply to a tenant until it stores its own."""

from __future__ import annotations

from importlib import resources

import yaml

from callytics_ray.analytics.categories import CategorySet
from callytics_ray.analytics.scorecards import Rubric


def _read(filename: str) -> object:
    text = resources.files("callytics_ray.analytics").joinpath("defaults").joinpath(filename).read_text("utf-8")
    # The C loader when PyYAML has it: these files are read on every call that is scored.
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def builtin_rubric() -> Rubric:
    """The default contact-center rubric (version 0), read afresh: callers may change their copy."""
    return Rubric.model_validate(_read("rubric.yaml"))


def builtin_categories() -> CategorySet:
    """The default contact-center category set (version 0)."""
    return CategorySet.model_validate(_read("categories.yaml"))
