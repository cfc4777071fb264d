import pytest
from pydantic import ValidationError

from callytics_ray.settings import Settings


def test_environment_overrides_nested_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("CALLYTICS_DATABASE_URL", "postgresql://u@db/calls")
    monkeypatch.setenv("CALLYTICS_ASR__MODEL", "large-v3")
    monkeypatch.setenv("CALLYTICS_ASR__OPTIONS__BEAM_SIZE", "2")
    monkeypatch.setenv("CALLYTICS_AUDIO__MAX_DURATION_S", "600")
    settings = Settings(_env_file=None)
    assert settings.database_url == "postgresql://u@db/calls"
    assert settings.asr.model == "large-v3" and settings.asr.options.beam_size == 2
    assert settings.audio.max_duration_s == 600


def test_invalid_values_are_refused(monkeypatch):
    monkeypatch.setenv("CALLYTICS_ASR__OPTIONS__BEAM_SIZE", "0")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


def test_unknown_option_keys_are_refused():
    from callytics_ray.settings import AsrOptions

    with pytest.raises(ValidationError):
        AsrOptions.model_validate({"beam_sise": 3})


def test_errors_survive_pickling_across_processes():
    import pickle

    from callytics_ray.errors import LLMError, ModelNotFoundError, NotAudioError, StageError

    stage = pickle.loads(pickle.dumps(StageError("asr", "replica died", retriable=False)))
    assert (type(stage), stage.stage, stage.retriable, str(stage)) == (StageError, "asr", False, "asr failed: replica died")
    assert pickle.loads(pickle.dumps(LLMError("timeout"))).stage == "llm"
    model = pickle.loads(pickle.dumps(ModelNotFoundError("x", "whisper", "install it")))
    assert (model.ref, model.kind) == ("x", "whisper")
    assert pickle.loads(pickle.dumps(NotAudioError("nope"))).reason == "not_audio"


def test_offline_analyzer_encoder_is_its_own_or_the_sentiment_encoder(monkeypatch):
    defaults = Settings(_env_file=None)
    assert defaults.llm.offline_encoder(defaults.sentiment) == ("bundled:all-MiniLM-L6-v2", "auto")
    monkeypatch.setenv("CALLYTICS_SENTIMENT__EMBEDDING_MODEL", "/models/e5-small")
    monkeypatch.setenv("CALLYTICS_SENTIMENT__DEVICE", "cpu")
    shared = Settings(_env_file=None)
    assert shared.llm.offline_encoder(shared.sentiment) == ("/models/e5-small", "cpu")
    monkeypatch.setenv("CALLYTICS_LLM__EMBEDDING_MODEL", "/models/minilm")
    monkeypatch.setenv("CALLYTICS_LLM__DEVICE", "cuda")
    own = Settings(_env_file=None)
    assert own.llm.offline_encoder(own.sentiment) == ("/models/minilm", "cuda")


def test_the_llm_analyzer_embeds_through_the_sentiment_stage_only_where_it_loads_that_encoder():
    defaults = Settings(_env_file=None)
    assert defaults.llm.shares_sentiment_encoder(defaults.sentiment)
    same_model_named = Settings(_env_file=None, llm={"embedding_model": "bundled:all-MiniLM-L6-v2"})
    assert same_model_named.llm.shares_sentiment_encoder(same_model_named.sentiment)
    # Another model, another device, or a sentiment stage that loads no encoder: its own copy.
    for settings in (Settings(_env_file=None, llm={"embedding_model": "/models/e5-small"}),
                     Settings(_env_file=None, llm={"device": "cuda"}),
                     Settings(_env_file=None, sentiment={"method": "lexicon"}),
                     Settings(_env_file=None, sentiment={"model": "/models/roberta-sentiment"})):
        assert not settings.llm.shares_sentiment_encoder(settings.sentiment)
