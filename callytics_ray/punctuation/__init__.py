"""Punctuation restoration and sentence splitting (English and Korean)."""

from callytics_ray.punctuation.punctuator import Punctuator
from callytics_ray.punctuation.truecasing import TrueCaser
from callytics_ray.text.sentences import split_sentences, word_ends_sentence
from callytics_ray.types import join_words

__all__ = ["Punctuator", "TrueCaser", "join_words", "split_sentences", "word_ends_sentence"]
