"""The JSON that static/charts.js draws a chart from, as pydantic models (one definition of the format).

A template embeds `spec.model_dump(exclude_none=True)` with Jinja's `tojson` next to a
`<canvas data-chart="line|bars" data-chart-data="ID">`; charts.js's header documents each field.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def as_json(self) -> dict:
        """What the page embeds (fields left unset are left out: charts.js then uses its defaults)."""
        return self.model_dump(exclude_none=True, by_alias=True)


class Axis(_Spec):
    min: float | None = None
    max: float | None = None
    label: str | None = None
    step: float | None = Field(None, description="distance between ticks (1: whole numbers only)")
    width: int | None = Field(None, description="the axis' width in px, fixed (to line the chart up with other rows)")
    tick_align: str | None = Field(None, serialization_alias="tickAlign",
                                   description='"inner": the end labels stay inside the chart area')


class LineSeries(_Spec):
    label: str
    points: list[tuple[float, float]]
    color: str | None = Field(None, description='a CSS colour or a console.css variable such as "--spk1"')


class LineChart(_Spec):
    series: list[LineSeries]
    x: Axis | None = None
    y: Axis | None = None


class BarSeries(_Spec):
    label: str
    values: list[float]
    color: str | None = None
    colors: list[str] | None = Field(None, description="one colour per bar (e.g. each speaker's own)")


class BarChart(_Spec):
    labels: list[str]
    series: list[BarSeries]
    y: Axis | None = None
    horizontal: bool | None = None
    stacked: bool | None = None
