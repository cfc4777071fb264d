"""Lexicon sentiment: VADER for English, the shipped Korean word lists for Hangul text."""

from __future__ import annotations

import numpy as np

from callytics_ray.text.korean import is_hangul
from callytics_ray.text.wordlists import WordList
from callytics_ray.types import Sentiment

FEATURE_NAMES = ("vader_compound", "vader_neg", "vader_neu", "vader_pos", "ko_positive", "ko_negative")


class LexiconScorer:
    """Lexicon features and a lexicon-only label.

    Example:
        >>> LexiconScorer().classify("I am really upset.", neutral_band=0.05).label
        'negative'
    """

    name = "lexicon"

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._vader = SentimentIntensityAnalyzer()
        self._ko_positive = WordList.load("positive")
        self._ko_negative = WordList.load("negative")

    def features(self, texts: list[str]) -> np.ndarray:
        """Lexicon features per text.  # shape: (len(texts), len(FEATURE_NAMES))"""
        rows = []
        for text in texts:
            v = self._vader.polarity_scores(text)
            pos = sum(self._ko_korean_hits(self._ko_positive, text))
            neg = sum(self._ko_korean_hits(self._ko_negative, text))
            rows.append([v["compound"], v["neg"], v["neu"], v["pos"], min(pos, 3) / 3, min(neg, 3) / 3])
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), len(FEATURE_NAMES))

    @staticmethod
    def _ko_korean_hits(words: WordList, text: str) -> list[int]:
        return [n for term, n in words.count(text).items() if is_hangul(term)]

    def polarity(self, text: str) -> float:
        """Signed polarity in [-1, 1]: VADER's compound for English, the list balance for Korean."""
        if is_hangul(text):
            pos = sum(self._ko_korean_hits(self._ko_positive, text))
            neg = sum(self._ko_korean_hits(self._ko_negative, text))
            return 0.0 if pos == neg else (pos - neg) / (pos + neg)
        return float(self._vader.polarity_scores(text)["compound"])

    def classify(self, text: str, *, neutral_band: float) -> Sentiment:
        score = self.polarity(text)
        if score > neutral_band:
            probs = (0.0, 1.0 - score, score)
        elif score < -neutral_band:
            probs = (-score, 1.0 + score, 0.0)
        else:
            probs = (0.0, 1.0, 0.0)
        label = "positive" if score > neutral_band else "negative" if score < -neutral_band else "neutral"
        return Sentiment(label, round(score, 4), probs)
