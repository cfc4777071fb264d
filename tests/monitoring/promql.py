"""What the monitoring files query: every PromQL expression and the metric names in it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "cluster" / "monitoring"
ALERTS = MONITORING / "alerts.yml"
DASHBOARD = MONITORING / "grafana" / "callytics-dashboard.json"

# Every metric we or Ray export starts with ray_; label values and functions never do.
_METRIC = re.compile(r"\bray_[A-Za-z0-9_]+\b")
_SELECTOR = re.compile(r"\b(ray_[A-Za-z0-9_]+)\{([^}]*)\}")
_LABEL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")


def dashboard_exprs(*, variables: bool = True) -> Iterator[tuple[str, str]]:
    """(panel title, expr) for every query of the Grafana dashboard; `variables`: also the template
    variables' queries (Grafana's label_values(), not PromQL)."""
    board = json.loads(DASHBOARD.read_text())
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]
    if not variables:
        return
    for variable in board["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            yield f"variable {variable['name']}", query["query"]


def alert_exprs() -> Iterator[tuple[str, str]]:
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            yield rule["alert"], rule["expr"]


def metric_names(expr: str) -> set[str]:
    return set(_METRIC.findall(expr))


def selector_labels(expr: str) -> dict[str, set[str]]:
    """Labels each metric is filtered on inside `{...}` selectors."""
    labels: dict[str, set[str]] = {}
    for name, body in _SELECTOR.findall(expr):
        labels.setdefault(name, set()).update(_LABEL.findall(body))
    return labels


def used_metric_names() -> set[str]:
    exprs = [e for _, e in dashboard_exprs()] + [e for _, e in alert_exprs()]
    return set().union(*(metric_names(e) for e in exprs))
