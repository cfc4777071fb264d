"""Prometheus and Alertmanager files: promtool's checks, the alert unit tests, and generated files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.monitoring.promql import ALERTS, MONITORING, ROOT

PROMTOOL = shutil.which("promtool")


def promtool(*args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess[str]:
    if PROMTOOL is None:
        pytest.fail("promtool not found: install Debian's prometheus package (scripts/setup.sh does)")
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_alert_rules_pass_promtool_check():
    done = promtool("check", "rules", str(ALERTS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 12 rules found" in done.stdout


def test_alert_rules_fire_as_their_unit_tests_expect():
    done = promtool("test", "rules", "alerts_test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_prometheus_config_passes_promtool_check():
    done = promtool("check", "config", "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    # Production discovers Ray's nodes from the file Ray keeps current, not a static list.
    (job,) = config["scrape_configs"]
    assert job["file_sd_configs"][0]["files"] == ["/tmp/ray/prom_metrics_service_discovery.json"]


def test_alertmanager_routes_reach_defined_receivers_for_every_severity():
    config = yaml.safe_load((MONITORING / "alertmanager.yml").read_text())
    receivers = {r["name"] for r in config["receivers"]}
    routes = [config["route"], *config["route"]["routes"]]
    assert {r["receiver"] for r in routes} <= receivers
    severities = {m.split("=", 1)[1].strip('"') for r in config["route"]["routes"] for m in r["matchers"]}
    used = {rule["labels"]["severity"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for rule in g["rules"]}
    assert used <= severities, f"alerts use severities without a route: {used - severities}"


def test_generated_cluster_files_are_current():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "render_cluster.py"), "--check"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
