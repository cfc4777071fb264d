"""The console's template filters."""

from callytics_ray.api.console.format import clock, mark


def test_clock():
    assert [clock(0), clock(5.9), clock(75.4), clock(3723)] == ["0:00", "0:05", "1:15", "1:02:03"]


def test_mark_escapes_and_highlights_every_query_word():
    assert str(mark("A <b>double</b> Charge", "double charge")) == (
        "A &lt;b&gt;<mark>double</mark>&lt;/b&gt; <mark>Charge</mark>")
    assert str(mark("x < y", None)) == "x &lt; y"
