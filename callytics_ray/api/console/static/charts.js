// Callytics console charts: every chart on every page is drawn here, with Chart.js (vendor/).
//
// A page declares a chart as data, not code:
//   <canvas data-chart="line" data-chart-data="ID" aria-label="..."></canvas>
//   <script type="application/json" id="ID">{"series": [...], ...}</script>
// Kinds:
//   line:  {"series": [{"label", "points": [[x, y], ...], "color"?}], "x": {"min", "max", "unit"?},
//           "y": {"min"?, "max"?, "label"?, "integer"?}}   (numeric x: seconds into the call, or a time axis
//           with "x": {"time": true}, "labels": [...] and x as one of the labels)
//   bars:  {"labels": [...], "series": [{"label", "values": [...], "color"?, "colors"?: [one per bar]}],
//           "y": {...}, "horizontal"?: bool, "stacked"?: bool}
// Axes may also have "step" (tick spacing; 1: whole numbers), "width" (the axis' fixed width in px,
// to line a chart's area up with other rows of a page) and "tickAlign": "inner" (the end labels
// stay inside the chart area, which then spans the canvas' full width).
// (chart_specs.py has the same format as pydantic models.)
// Series without a colour take the speaker colours in order (console.css's --spk0..5, as the
// transcript's .spk-N classes), so a party has one colour on the whole page.
(function () {
  "use strict";

  // The speaker colours are console.css's --spk0..5: one definition for the page and the charts.
  const PALETTE_SIZE = 6;

  function cssColour(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // `color` is a CSS colour or a console.css variable name such as "--neg".
  function colour(series, index) {
    const c = series.color || `--spk${index % PALETTE_SIZE}`;
    return c.startsWith("--") ? cssColour(c) : c;
  }

  function axis(spec, fallback) {
    const out = { ...fallback };
    if (!spec) return out;
    if (spec.min !== undefined) out.min = spec.min;
    if (spec.max !== undefined) out.max = spec.max;
    if (spec.label) out.title = { display: true, text: spec.label };
    if (spec.integer) out.ticks = { precision: 0 };  // counts: no 1.5-call ticks
    if (spec.step !== undefined || spec.tickAlign) {
      out.ticks = { ...(out.ticks || {}) };
      if (spec.step !== undefined) out.ticks.stepSize = spec.step;
      if (spec.tickAlign) out.ticks.align = spec.tickAlign;
      // An inner-aligned axis spans the canvas edge to edge: no gap for the label padding.
      if (spec.tickAlign === "inner") out.ticks.padding = 0;
    }
    if (spec.width !== undefined) {
      out.afterFit = (scale) => { scale.width = spec.width; };
    }
    return out;
  }

  function lineConfig(data) {
    const timeAxis = data.x && data.x.time;
    return {
      type: "line",
      data: {
        datasets: data.series.map((s, i) => ({
          label: s.label,
          data: s.points.map(([x, y]) => ({ x: timeAxis ? x : Number(x), y })),
          borderColor: colour(s, i),
          backgroundColor: colour(s, i),
          pointRadius: 3,
          tension: 0.25,
          stepped: s.stepped || false,
        })),
      },
      options: {
        // A chart lined up with other rows (inner-aligned x ticks) must not shrink its area by
        // half a point's size at each end, which Chart.js's auto padding does.
        layout: { autoPadding: !(data.x && data.x.tickAlign === "inner") },

        scales: {
          x: axis(data.x, timeAxis ? { type: "category", labels: data.labels } : { type: "linear" }),
          y: axis(data.y, { type: "linear" }),
        },
      },
    };
  }

  function barsConfig(data) {
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map((s, i) => ({
          label: s.label, data: s.values,
          backgroundColor: s.colors ? s.colors.map((c) => colour({ color: c }, i)) : colour(s, i),
          borderColor: s.colors ? s.colors.map((c) => colour({ color: c }, i)) : colour(s, i),
        })),
      },
      options: {
        indexAxis: data.horizontal ? "y" : "x",
        scales: {
          x: { stacked: !!data.stacked, ...(data.horizontal ? axis(data.y, {}) : {}) },
          y: { stacked: !!data.stacked, ...(data.horizontal ? {} : axis(data.y, {})) },
        },
      },
    };
  }

  const KINDS = { line: lineConfig, bars: barsConfig };

  function draw(canvas) {
    if (Chart.getChart(canvas)) return;  // drawn already (htmx swaps re-run this)
    const source = document.getElementById(canvas.dataset.chartData);
    const make = KINDS[canvas.dataset.chart];
    if (!source || !make) return;
    const config = make(JSON.parse(source.textContent));
    config.options = {
      ...config.options,
      animation: false,  // charts are read, not watched; and tests see the final state at once
      maintainAspectRatio: false,
      responsive: true,
      plugins: { legend: { display: canvas.dataset.legend !== "off", position: "bottom" } },
    };
    new Chart(canvas, config);
  }

  function drawAll(root) {
    if (typeof Chart === "undefined") return;
    (root || document).querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  window.CallyticsCharts = { drawAll };
  document.addEventListener("DOMContentLoaded", () => drawAll());
  document.addEventListener("htmx:afterSettle", (event) => drawAll(event.target));
})();
