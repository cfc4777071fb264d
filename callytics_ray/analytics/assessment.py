"""A call's whole QA assessment: its scorecard on each rubric and the categories it matches."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from callytics_ray.analytics.categories import CategoryMatch, CategorySet, categorize
from callytics_ray.analytics.conversation import Conversation
from callytics_ray.analytics.scorecards import Rubric, Scorecard, judge_questions, score
from callytics_ray.judgement import ItemJudge
from callytics_ray.result import CallAnalysis


class Assessment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scorecards: list[Scorecard] = []
    categories: list[CategoryMatch] = []


def assess(rubrics: Sequence[Rubric], category_sets: Sequence[CategorySet],
           analysis: CallAnalysis | Conversation, judge: ItemJudge | None = None) -> Assessment:
    """Score the call on every rubric and match it against every category set. Pure but for
    `judge`, which answers the llm items of all rubrics in one go (without one they are not
    assessed)."""
    conversation = Conversation.of(analysis)
    judgements = judge_questions(judge, rubrics, conversation)
    return Assessment(
        scorecards=[score(r, conversation, judgements=judgements) for r in rubrics],
        categories=[m for s in category_sets for m in categorize(s, conversation)],
    )
