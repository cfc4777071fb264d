"""The NLP settings sections read from the environment (CALLYTICS_<SECTION>__<FIELD>)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from callytics_ray.settings import LLMOptions, PunctuationOptions, Settings


def test_nlp_sections_from_environment(monkeypatch):
    monkeypatch.setenv("CALLYTICS_LLM__BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("CALLYTICS_LLM__API_KEY", "sk-secret")
    monkeypatch.setenv("CALLYTICS_LLM__MODEL", "qwen2.5:7b")
    monkeypatch.setenv("CALLYTICS_LLM__OPTIONS__TOKEN_BUDGET", "3000")
    monkeypatch.setenv("CALLYTICS_REDACTION__BEFORE_STORAGE", "true")
    monkeypatch.setenv("CALLYTICS_SENTIMENT__METHOD", "lexicon")
    monkeypatch.setenv("CALLYTICS_PUNCTUATION__MODEL", "/models/fullstop")
    s = Settings(_env_file=None)
    assert s.llm.base_url == "http://127.0.0.1:11434/v1" and s.llm.model == "qwen2.5:7b"
    assert s.llm.api_key.get_secret_value() == "sk-secret" and "sk-secret" not in repr(s)
    assert s.llm.options.token_budget == 3000 and s.llm.options.redact_before_send is True
    assert s.redaction.before_storage is True
    assert s.sentiment.method == "lexicon" and s.punctuation.model == "/models/fullstop"


def test_defaults_are_offline_and_redact_before_sending():
    s = Settings(_env_file=None)
    assert s.llm.base_url is None and s.llm.options.redact_before_send is True
    assert s.punctuation.model is None and s.sentiment.model is None
    assert s.redaction.before_storage is True  # PCI DSS: no full card numbers in stored transcripts


@pytest.mark.parametrize(
    ("model", "values"),
    [(LLMOptions, {"token_budget": 10}), (LLMOptions, {"structured_output": "xml"}),
     (PunctuationOptions, {"restore": "sometimes"}), (LLMOptions, {"surprise": 1})],
)
def test_bad_options_are_refused(model, values):
    with pytest.raises(ValidationError):
        model(**values)
