"""Call analysis: an OpenAI-protocol LLM with structured output, or the offline analyzer."""

from callytics_ray.llm.analyzer import AnalysisOutcome, CallAnalyzer
from callytics_ray.llm.client import AnswerFormat, LLMAnalyzer, LLMAnswer
from callytics_ray.llm.offline import OfflineAnalyzer
from callytics_ray.llm.schema import LLMAnalysis, analysis_json_schema
from callytics_ray.llm.tokens import estimate_tokens

__all__ = [
    "AnalysisOutcome", "AnswerFormat", "CallAnalyzer", "LLMAnalysis", "LLMAnalyzer", "LLMAnswer", "OfflineAnalyzer",
    "analysis_json_schema", "estimate_tokens",
]
