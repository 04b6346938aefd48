"""deploy/ checked with the real tools (issue 17): `promtool check rules`, the rules' unit tests
(`promtool test rules`: each alert fires when it should and stays quiet when it should), the Prometheus
configuration, every Grafana panel's query parsed by promtool, every alert unit-tested both ways and its
runbook a README heading.

Debian's `prometheus` package provides /usr/bin/promtool; scripts/test.sh installs it as root
(`ensure_promtool`). Without it these tests are skipped locally, saying how to install it, and fail under CI
(`CI=true`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support import promql

README = promql.ROOT / "README.md"


def promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    message = "promtool is missing: apt-get install prometheus (Debian's package provides /usr/bin/promtool)"
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"{message}; CI must run the promtool checks")
    pytest.skip(f"{message}, or run scripts/test.sh as root, which installs it")


def run_promtool(*args: str, cwd: Path = promql.PROMETHEUS) -> str:
    done = subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def test_the_rules_are_valid():
    assert "SUCCESS" in run_promtool("check", "rules", "rules.yml")


def test_the_rules_pass_their_unit_tests():
    assert "SUCCESS" in run_promtool("test", "rules", "tests.yml")


def test_the_prometheus_configuration_is_valid():
    assert "SUCCESS" in run_promtool("check", "config", "--syntax-only", "prometheus.yml")


def test_every_dashboard_query_is_valid_promql(tmp_path: Path):
    # Each query as a recording rule: `promtool check rules` parses it as Prometheus would.
    targets = promql.dashboard_targets()
    assert len(targets) >= 20
    rules = []
    for i, (where, expr) in enumerate(targets):
        query = promql.as_promql(expr)
        assert "$" not in query, f"{where}: a Grafana variable promtool cannot read: {expr}"
        rules.append({"record": f"aj_dashboard:query_{i}", "expr": query})
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in run_promtool("check", "rules", str(path), cwd=tmp_path)


def test_a_broken_dashboard_query_would_be_caught(tmp_path: Path):
    """The check above fails on a query Prometheus refuses (it is not vacuous)."""
    path = tmp_path / "broken.yml"
    rule = {"record": "aj_dashboard:broken", "expr": "sum by (vendor (rate(aj_vendor_requests_total[5m]))"}
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": [rule]}]}))
    done = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def readme_anchors() -> set[str]:
    anchors, fenced = set(), False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced  # a `# comment` in a code block is no heading
        elif not fenced and re.match(r"#{1,6} ", line):
            anchors.add(github_anchor(line.lstrip("#")))
    return anchors


def test_every_alert_has_a_runbook_section_in_the_readme():
    anchors = readme_anchors()
    assert "rotating-secret_key" in anchors  # the README's own link to it works
    for alert in promql.alerts():
        runbook = alert["annotations"].get("runbook", "")
        assert runbook.startswith("README.md#"), (alert["alert"], runbook)
        assert runbook.removeprefix("README.md#") in anchors, (
            f"{alert['alert']}: no README heading for {runbook}"
        )


def test_every_alert_is_unit_tested_firing_and_quiet():
    firing, quiet = set(), set()
    for test in promql.unit_tests():
        for case in test.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {alert["alert"] for alert in promql.alerts()}
    assert names - firing == set(), "alerts no test shows firing"
    assert names - quiet == set(), "alerts no test shows staying quiet"
    assert (firing | quiet) - names == set(), "tests of alerts that do not exist"


def test_every_recorded_series_a_rule_or_panel_reads_is_recorded():
    recorded = promql.recorded()
    for where, expr in promql.expressions():
        for name in promql.metric_names(expr):
            if ":" in name:
                assert name in recorded, f"{where} reads {name}, which no recording rule makes"


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("aj_dead_letters", {"aj_dead_letters"}),
        (
            'max(aj_queue_oldest_message_age_seconds{queue="cards"}) > 20',
            {"aj_queue_oldest_message_age_seconds"},
        ),
        (
            "histogram_quantile(0.95, sum by (vendor, le) (rate(aj_vendor_request_seconds_bucket[5m])))",
            {"aj_vendor_request_seconds_bucket"},
        ),
        (
            "time() - max by (task) (aj_beat_job_last_run_timestamp_seconds)"
            " > 3 * max by (task) (aj_beat_job_interval_seconds)",
            {"aj_beat_job_last_run_timestamp_seconds", "aj_beat_job_interval_seconds"},
        ),
        ("aj:redis_memory:ratio > 0.9", {"aj:redis_memory:ratio"}),
        ('sum(increase(x_total{outcome="failed", job=~"a|b"}[30m] offset 5m)) > 1e3', {"x_total"}),
        ("a / on (instance) group_left (status) b unless c", {"a", "b", "c"}),
    ],
)
def test_metric_names_are_read_from_promql(expr: str, names: set[str]):
    assert promql.metric_names(expr) == names


def test_grafana_provisioning_points_at_the_dashboards():
    provider = yaml.safe_load(
        (promql.ROOT / "deploy/grafana/provisioning/dashboards/aircall-jobber.yml").read_text()
    )
    assert provider["providers"][0]["type"] == "file"
    datasource = yaml.safe_load(
        (promql.ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    assert datasource["datasources"][0]["type"] == "prometheus"
    # Every query names the dashboard's datasource variable, so the dashboard loads on any Grafana.
    for path in promql.DASHBOARDS.glob("*.json"):
        text = path.read_text()
        assert '"uid": "${datasource}"' in text and '"uid": "prometheus"' not in text, path.name
