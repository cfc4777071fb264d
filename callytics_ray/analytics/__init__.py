"""Contact-center analytics beyond the transcript: categories (rules over what was said, by whom,
when, and the call's metrics) and QA scorecards (rubrics of weighted items), each with evidence.

Ray-free and pure: everything here reads one `CallAnalysis` and returns pydantic models, so the
gateway scores a call when it completes and a backfill can map the same functions over stored
calls. Built on the shared floor only (result, text helpers, headline).

Example:
    >>> from callytics_ray.analytics import builtin_categories, builtin_rubric, categorize, score
    >>> score(builtin_rubric(), analysis).score
    >>> [m.category for m in categorize(builtin_categories(), analysis)]
"""

from callytics_ray.analytics.assessment import Assessment, assess
from callytics_ray.analytics.builtin import builtin_categories, builtin_rubric
from callytics_ray.analytics.categories import Category, CategoryMatch, CategorySet, categorize
from callytics_ray.analytics.conversation import Conversation
from callytics_ray.analytics.evidence import Evidence, RuleResult
from callytics_ray.analytics.rules import Rule, evaluate, parse_rule
from callytics_ray.analytics.scorecards import ItemResult, Rubric, RubricItem, Scorecard, judge_questions, score

__all__ = [
    "Assessment", "Category", "CategoryMatch", "CategorySet", "Conversation", "Evidence", "ItemResult", "Rubric",
    "RubricItem", "Rule", "RuleResult", "Scorecard", "assess", "builtin_categories", "builtin_rubric", "categorize",
    "evaluate", "judge_questions", "parse_rule", "score",
]
