"""The Grafana dashboard: valid JSON Grafana can import, valid PromQL, and only metrics that exist.

Our own metrics are checked against deployments/metrics.py here; Ray's built-in ones against a
live cluster's exporter in test_prometheus.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from deployments.metrics import METRICS, exported_names
from tests.monitoring.promql import DASHBOARD, alert_exprs, dashboard_exprs, metric_names, selector_labels

SERVE_LABELS = {"deployment", "replica", "application"}


def test_dashboard_is_importable_grafana_json():
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] == "callytics-pipeline" and board["schemaVersion"] >= 36
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in board["panels"]:
        pos = panel["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["targets"], f"{panel['title']} has no query"
            assert panel["datasource"]["uid"] == "${datasource}"
    # The topics the issue asks for each have a panel.
    titles = " | ".join(p["title"].lower() for p in board["panels"])
    for topic in ("stage latency", "real-time factor", "cpu utilisation", "gpu utilisation", "error", "llm", "backlog"):
        assert topic in titles, topic


def test_every_query_is_valid_promql(tmp_path):
    """promtool parses each query as a recording rule (there is no offline query parser)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: install Debian's prometheus package (scripts/setup.sh does)")
    exprs = [e for _, e in dashboard_exprs(variables=False)]
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"callytics:dashboard_query_{i}", "expr": e} for i, e in enumerate(exprs)
    ]}]}
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(rules))
    done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in done.stdout


def test_custom_metric_names_and_labels_exist_in_deployments_metrics():
    known = exported_names()
    tags = {name: set(spec.tag_keys) | SERVE_LABELS | {"le"} for spec in METRICS for name in spec.exported}
    for where, expr in [*dashboard_exprs(), *alert_exprs()]:
        for name in metric_names(expr):
            if name.startswith("ray_callytics_"):
                assert name in known, f"{where}: {name} is not defined in deployments/metrics.py"
        for name, labels in selector_labels(expr).items():
            if name in tags:
                assert labels <= tags[name], f"{where}: {name} has no label(s) {labels - tags[name]}"


def test_every_custom_metric_is_on_the_dashboard():
    on_board = set().union(*(metric_names(e) for _, e in dashboard_exprs()))
    families = {re.sub(r"_(bucket|sum|count)$", "", n) for n in on_board}
    missing = [s.name for s in METRICS if not ({f"ray_{s.name}", *s.exported} & (on_board | families))]
    assert not missing, f"metrics nobody can see: {missing}"
