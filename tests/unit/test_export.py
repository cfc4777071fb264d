import pytest

from callytics_ray.errors import ConfigError
from callytics_ray.export import FORMATS, render
from callytics_ray.result import CallAnalysis, SegmentResult, WordResult


@pytest.fixture()
def analysis() -> CallAnalysis:
    return CallAnalysis(
        call_id="call-1",
        language="en",
        segments=[
            SegmentResult(start=0.5, end=2.25, text="Thank you for calling.", speaker="SPEAKER_00", role="agent",
                          words=[WordResult(start=0.5, end=0.9, text="Thank", probability=0.9)]),
            SegmentResult(start=3661.0, end=3662.5, text="I was charged twice.", speaker="SPEAKER_01", role="customer"),
            SegmentResult(start=4.0, end=5.0, text="Hello?", channel=1),
        ],
    )


def test_txt(analysis):
    lines = render(analysis, "txt").splitlines()
    assert lines[0] == "[00:00:00.500 - 00:00:02.250] SPEAKER_00 (agent): Thank you for calling."
    assert lines[1].startswith("[01:01:01.000 - 01:01:02.500] SPEAKER_01 (customer):")
    assert lines[2].endswith("CHANNEL_1: Hello?")


def test_srt(analysis):
    blocks = render(analysis, "srt").strip().split("\n\n")
    assert blocks[0].splitlines() == ["1", "00:00:00,500 --> 00:00:02,250", "SPEAKER_00 (agent): Thank you for calling."]
    assert blocks[1].splitlines()[1] == "01:01:01,000 --> 01:01:02,500"


def test_vtt(analysis):
    vtt = render(analysis, "vtt")
    assert vtt.startswith("WEBVTT\n")
    assert "00:00:00.500 --> 00:00:02.250\n<v SPEAKER_00 (agent)>Thank you for calling." in vtt


def test_rttm(analysis):
    lines = render(analysis, "rttm").splitlines()
    assert lines[0] == "SPEAKER call-1 1 0.500 1.750 <NA> <NA> SPEAKER_00 <NA> <NA>"
    assert lines[2].split()[7] == "CHANNEL_1"
    for line in lines:
        assert len(line.split()) == 10


def test_json_is_the_contract_without_nulls(analysis):
    data = CallAnalysis.model_validate_json(render(analysis, "json"))
    assert data == analysis
    assert '"sentiment"' not in render(analysis, "json")
    assert '"audio"' not in render(analysis, "json")  # not produced: absent, not null


def test_unknown_format(analysis):
    assert set(FORMATS) == {"json", "txt", "srt", "vtt", "rttm"}
    with pytest.raises(ConfigError, match="choose one of"):
        render(analysis, "docx")
