"""Sentiment per utterance, per speaker and for the call (English and Korean)."""

from callytics_ray.sentiment.aggregate import summarize_sentiment, trajectory
from callytics_ray.sentiment.classifier import SentimentClassifier
from callytics_ray.sentiment.lexicon import LexiconScorer
from callytics_ray.text.wordlists import WordList, load_wordlists
from callytics_ray.types import SENTIMENT_LABELS as LABELS
from callytics_ray.types import Sentiment

__all__ = [
    "LABELS",
    "LexiconScorer",
    "Sentiment",
    "SentimentClassifier",
    "WordList",
    "load_wordlists",
    "summarize_sentiment",
    "trajectory",
]
