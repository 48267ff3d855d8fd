"""The alert rules and the dashboard in deploy/ as Prometheus and Grafana would read them: promtool
checks and unit-tests the rules, every metric they name is one the services really expose, and
every alert's runbook section exists in docs/operations.md."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.environment import REPO, unavailable
from tests.support.world import migrated_app

ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
ALERT_TESTS = REPO / "deploy" / "prometheus" / "alerts_test.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "eigen-regie.json"
# Series Prometheus itself or the client library's default collectors provide.
NOT_OURS = {"up"}
_METRIC = re.compile(r"\b(prb_[a-z0-9_]+|process_[a-z0-9_]+)\b")


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        unavailable("promtool not installed (Debian package prometheus; `make test` installs it as root)")
    assert path is not None
    return path


def _alert_rules() -> list[dict]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for target in panel["targets"]]


@pytest.fixture(scope="module")
def exposed_names(request, tmp_path_factory) -> set[str]:
    """Every sample name one scrape of the embedded app gives (counters' _total, histograms' _bucket)."""
    _, http = migrated_app(request, tmp_path_factory.mktemp("observability"))
    with http:
        http.get("/healthz")
        http.get("/intake/v1/nothing-here")
        text = http.get("/metrics").text
    names = {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}
    # Labelled families without a sample yet still declare their series in HELP/TYPE lines.
    for family in text_string_to_metric_families(text):
        names |= {family.name, f"{family.name}_total", f"{family.name}_bucket", f"{family.name}_count"}
    return names


def test_promtool_accepts_the_alert_rules():
    result = subprocess.run([_promtool(), "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_alert_fires_on_its_symptom_and_stays_quiet_otherwise():
    result = subprocess.run(
        [_promtool(), "test", "rules", str(ALERT_TESTS)], capture_output=True, text=True, check=False, cwd=ALERTS.parent
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_refuses_a_broken_rule(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(ALERTS.read_text().replace("max by (service) (prb_dead_letters_open) > 0", "max by (service ("))
    result = subprocess.run([_promtool(), "check", "rules", str(broken)], capture_output=True, text=True, check=False)
    assert result.returncode != 0


def test_every_metric_the_alerts_and_the_dashboard_use_is_exposed(exposed_names):
    used = {name for expr in [r["expr"] for r in _alert_rules()] + _dashboard_exprs() for name in _METRIC.findall(expr)}
    assert used, "no metric names found"
    missing = sorted(name for name in used - NOT_OURS if name not in exposed_names)
    assert not missing, f"named in deploy/ but not exposed by the services: {missing}"


def test_every_alert_has_a_runbook_section_in_the_operations_guide():
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in (REPO / "docs" / "operations.md").read_text().splitlines()
        if line.startswith("#")
    }
    for rule in _alert_rules():
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert anchor in headings, f"{rule['alert']}: docs/operations.md has no heading for #{anchor}"
        assert rule["labels"]["severity"] in {"critical", "warning"}


def test_the_dashboard_panels_each_have_a_query_and_a_place():
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"]), panel["title"]
        assert {"h", "w", "x", "y"} <= panel["gridPos"].keys()
