"""Categories: named rules a call either matches (with the evidence) or not.

Example:
    >>> [m.category for m in categorize(builtin_categories(), analysis)]
    ['cancellation', 'lost_or_stolen_card']
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from callytics_ray.analytics.conversation import Conversation
from callytics_ray.analytics.evidence import Evidence
from callytics_ray.analytics.rules import NAME_PATTERN, Rule
from callytics_ray.result import CallAnalysis


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Category(_Model):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = Field("", max_length=500)
    rule: Rule


class CategorySet(_Model):
    """Categories managed together. `version` 0 is a built-in set; stored versions count from 1."""

    name: str = Field(pattern=NAME_PATTERN)
    version: int = Field(0, ge=0)
    description: str = Field("", max_length=2000)
    categories: list[Category] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _unique_names(self) -> CategorySet:
        names = [c.name for c in self.categories]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"category names must be unique; repeated: {', '.join(duplicated)}")
        return self


class CategoryMatch(_Model):
    """A category the call matched, and what matched. `category_set` and `set_version` name the
    set it came from (None when categories were given without a set)."""

    category: str
    description: str = ""
    category_set: str | None = None
    set_version: int | None = None
    evidence: list[Evidence] = []


def categorize(categories: CategorySet | Sequence[Category], analysis: CallAnalysis | Conversation) -> list[CategoryMatch]:
    """The categories the call matches, in the order given. A category whose rule cannot be
    decided on this call (it needs roles or metrics the call lacks) is not matched."""
    conversation = Conversation.of(analysis)
    source = categories if isinstance(categories, CategorySet) else None
    matches = []
    for category in source.categories if source is not None else categories:
        result = category.rule.evaluate(conversation)
        if result.matched:
            matches.append(CategoryMatch(
                category=category.name, description=category.description,
                category_set=source.name if source else None, set_version=source.version if source else None,
                evidence=result.evidence,
            ))
    return matches
