from callytics_ray.asr.repetition import collapse_repeated_ngrams, is_repeated_segment
from callytics_ray.types import Word


def words(text: str) -> tuple[Word, ...]:
    return tuple(Word(i, i + 0.5, w, 0.9) for i, w in enumerate(text.split()))


def texts(ws) -> str:
    return " ".join(w.text for w in ws)


def test_a_looping_phrase_is_cut_back():
    looped = words("thank you for calling " + "thank you for calling " * 9 + "goodbye")
    assert texts(collapse_repeated_ngrams(looped, 3)) == ("thank you for calling " * 3 + "goodbye")


def test_natural_repeats_survive():
    assert texts(collapse_repeated_ngrams(words("no, no, no. I said no"), 3)) == "no, no, no. I said no"
    assert texts(collapse_repeated_ngrams(words("one one one one, one one one one"), 8)) == "one one one one, one one one one"


def test_single_word_loop_and_punctuation_variants():
    assert texts(collapse_repeated_ngrams(words("okay okay. okay, okay okay okay"), 2)) == "okay okay."


def test_repeated_segments():
    assert is_repeated_segment("Thank you.", ["Thank you.", "thank you", "Thank you!"], 3)
    assert not is_repeated_segment("Thank you.", ["Hello", "thank you", "Thank you!"], 3)
    assert not is_repeated_segment("", ["", "", ""], 3)
