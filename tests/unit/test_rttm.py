"""Reading RTTM: one file may describe several recordings (the shared dev.rttm holds dev00 and dev01)."""

from callytics_ray.diarization.nemo_backend import read_rttm
from callytics_ray.types import SpeakerTurn

RTTM = (
    "SPEAKER dev01 1 4.304 2.448 <NA> <NA> MEE012 <NA> <NA>\n"
    "SPEAKER dev00 1 1.440 11.872 <NA> <NA> MEE009 <NA> <NA>\n"
    "SPEAKER dev00 1 0.500 0.250 <NA> <NA> MÉO069 <NA> <NA>\n"
)


def test_every_line_without_a_file_id_sorted_by_start(tmp_path):
    path = tmp_path / "two.rttm"
    path.write_text(RTTM, encoding="utf-8")
    assert [t.speaker for t in read_rttm(path)] == ["MÉO069", "MEE009", "MEE012"]


def test_only_the_named_recording(tmp_path):
    path = tmp_path / "two.rttm"
    path.write_text(RTTM, encoding="utf-8")
    assert read_rttm(path, "dev00") == [SpeakerTurn(0.5, 0.75, "MÉO069"), SpeakerTurn(1.44, 13.312, "MEE009")]
    assert read_rttm(path, "trn00") == []
