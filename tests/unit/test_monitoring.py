"""The compose stack's Prometheus and Grafana: configs that their own tools accept, and that fit the stack."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "infra/prometheus/prometheus.yml"
GRAFANA = ROOT / "infra/grafana"
DASHBOARD = GRAFANA / "dashboards/logoforge.json"


def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus; .ci/run installs it)")
    return found


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def expressions(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_promtool_accepts_the_prometheus_config():
    result = subprocess.run([promtool(), "check", "config", str(PROMETHEUS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_process_is_scraped_on_the_port_it_serves_metrics_on(compose):
    config = yaml.safe_load(PROMETHEUS.read_text())
    scraped = {sd["names"][0]: sd["port"] for job in config["scrape_configs"] for sd in job.get("dns_sd_configs", [])}
    services = compose["services"]
    processes = {name for name, service in services.items() if str(service.get("command", "")).find("logoforge") >= 0}
    assert processes == {"api", "generator", "trainer", "ratings", "assets", "bot"}
    assert set(scraped) == processes
    shared_env = compose["x-logoforge-env"]
    for name in processes:
        assert scraped[name] == int(shared_env["LOGOFORGE_METRICS_PORT"]), name
    [rabbitmq] = [job for job in config["scrape_configs"] if job["job_name"] == "rabbitmq"]
    assert rabbitmq["static_configs"][0]["targets"] == ["rabbitmq:15692"]
    plugins = (ROOT / "infra/rabbitmq/enabled_plugins").read_text()
    assert "rabbitmq_prometheus" in plugins


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard(compose, dashboard):
    [source] = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yaml").read_text())["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    [provider] = yaml.safe_load((GRAFANA / "provisioning/dashboards/logoforge.yaml").read_text())["providers"]
    mounts = dict(volume.split(":")[:2] for volume in compose["services"]["grafana"]["volumes"])
    assert mounts["./infra/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./infra/grafana/provisioning"] == "/etc/grafana/provisioning"
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert all(target["datasource"]["uid"] == source["uid"] for target in panel["targets"]), panel["title"]


def test_the_dashboard_is_well_formed(dashboard):
    assert dashboard["uid"] and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["type"] in {"timeseries", "table", "stat", "gauge"}, panel["title"]
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]) and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert ref_ids and len(ref_ids) == len(set(ref_ids)), panel["title"]
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for subject in ("queue depth", "queue wait", "images per second", "latency", "gpu memory", "ratings", "retraining"):
        assert subject in titles, subject


def test_promtool_parses_every_dashboard_query(dashboard, tmp_path):
    """Each query as a recording rule: `promtool check rules` parses its PromQL."""
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"logoforge:panel_query_{n}", "expr": expr}
                    for n, expr in enumerate(expressions(dashboard))
                ],
            }
        ]
    }
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_domain_metric_the_dashboard_names_is_defined(dashboard):
    from prometheus_client import REGISTRY

    import services.observability  # noqa: F401 - defines the domain metrics
    import workers.device  # noqa: F401 - defines the GPU memory gauge

    defined = {
        sample for collector in REGISTRY.collect() for sample in [collector.name] + [s.name for s in collector.samples]
    }
    suffixes = ("_total", "_bucket", "_sum", "_count", "_created")
    named = {name for expr in expressions(dashboard) for name in re.findall(r"\blogoforge_[a-z_]+\b", expr)}
    assert named
    for name in named:
        assert name in defined or any(name.removesuffix(s) in defined for s in suffixes), name
