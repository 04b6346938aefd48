"""What deploy/ asks of the service: the PromQL of the Prometheus rules and of the Grafana dashboard, and the
metric names in it (tests/unit/test_prometheus_rules.py checks them with promtool, and
tests/flows/test_metrics_exported.py against a running fleet's /metrics)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
# Grafana's interval variables, given the value a dashboard would most often have
# (so promtool can parse them).
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def rules() -> list[dict[str, Any]]:
    """Every rule of deploy/prometheus/rules.yml (recording and alerting), in order."""
    doc = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def recorded() -> set[str]:
    """The names the recording rules define (`aj:*`): Prometheus makes them,
    the service never exports them."""
    return {rule["record"] for rule in rules() if "record" in rule}


def unit_tests() -> list[dict[str, Any]]:
    return list(yaml.safe_load((PROMETHEUS / "tests.yml").read_text())["tests"])


def dashboard_targets() -> list[tuple[str, str]]:
    """(where, expression) of every query of every dashboard: `<file>#<panel id>/<refId>`."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        doc = json.loads(path.read_text())
        for panel in _panels(doc.get("panels", [])):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    found.append((f"{path.name}#{panel.get('id')}/{target.get('refId')}", target["expr"]))
    return found


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for panel in panels:
        out.append(panel)
        out.extend(_panels(panel.get("panels", [])))  # panels inside a collapsed row
    return out


def as_promql(expr: str) -> str:
    """A dashboard expression with Grafana's variables replaced by values, so it is plain PromQL."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def expressions() -> list[tuple[str, str]]:
    """(where, PromQL) of every rule and every dashboard query."""
    found = [(rule.get("record") or rule["alert"], str(rule["expr"])) for rule in rules()]
    return found + [(where, as_promql(expr)) for where, expr in dashboard_targets()]


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_RANGE = re.compile(r"\[[^\[\]]*\]")
# A name: not inside a number or a duration (`1e3`, `offset 5m`), not a function (followed by "(").
_NAME = re.compile(r"(?<![\w.:])([A-Za-z_:][A-Za-z0-9_:]*)(?!\s*\(|[\w:])")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left"}
_KEYWORDS |= {"group_right", "inf", "nan", "Inf", "NaN", "atan2"}


def metric_names(expr: str) -> set[str]:
    """The metric (and recorded series) names a PromQL expression reads."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _GROUPING.sub("", text)
    text = _RANGE.sub("", text)
    return {name for name in _NAME.findall(text) if name not in _KEYWORDS}


def exported_names(families: list[Any]) -> set[str]:
    """Every series name a /metrics page can answer for, from prometheus_client's parsed families: a counter
    `x` serves `x_total`, a histogram `x` serves `x_bucket`, `x_sum` and `x_count`, whether or not it has
    samples yet."""
    names = set()
    for family in families:
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
    return names
