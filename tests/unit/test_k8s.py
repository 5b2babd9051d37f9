"""infra/k8s: every overlay renders with kustomize, every manifest is valid against the Kubernetes schemas, and the
parts fit together (settings the processes read, secrets, probes, the KEDA trigger's queue). No cluster needed."""

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from bot.settings import BotSettings
from schemas.topology import GENERATE
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.ratings.settings import RatingsSettings
from workers.assets.settings import AssetsSettings
from workers.generator.settings import GeneratorSettings
from workers.trainer.settings import TrainerSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra/k8s"
OVERLAYS = ["production", "scale-to-zero"]
KUBERNETES = "1.32.0"  # the oldest release the manifests are meant for
SETTINGS = {
    "api": ApiSettings,
    "generator": GeneratorSettings,
    "trainer": TrainerSettings,
    "ratings": RatingsSettings,
    "assets": AssetsSettings,
    "bot": BotSettings,
}
# Secrets made outside the manifests: by hand (README, "Scaling out") or by the MongoDB operator.
EXTERNAL_SECRETS = {
    "logoforge": {
        "rabbit-url",
        "s3-access-key",
        "s3-secret-key",
        "url-signing-key",
        "api-keys",
        "admin-keys",
        "bot-token",
        "bot-api-key",
        "bot-admin-key",
    },
    "logoforge-mongodb-admin-logoforge": {"connectionString.standard"},
}

# The fields of the operators' custom resources that these manifests use, as their CRDs define them.
CUSTOM_RESOURCES: dict[tuple[str, str], dict[str, Any]] = {
    ("keda.sh/v1alpha1", "ScaledObject"): {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "spec": {
                "type": "object",
                "required": ["scaleTargetRef", "triggers"],
                "properties": {
                    "scaleTargetRef": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}},
                    },
                    "minReplicaCount": {"type": "integer", "minimum": 0},
                    "maxReplicaCount": {"type": "integer", "minimum": 1},
                    "pollingInterval": {"type": "integer"},
                    "cooldownPeriod": {"type": "integer"},
                    "triggers": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["type", "metadata"],
                            "properties": {
                                "type": {"type": "string"},
                                "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                                "authenticationRef": {"type": "object", "required": ["name"]},
                            },
                        },
                    },
                },
            }
        },
    },
    ("keda.sh/v1alpha1", "TriggerAuthentication"): {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "secretTargetRef": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["parameter", "name", "key"],
                            "additionalProperties": False,
                            "properties": {
                                "parameter": {"type": "string"},
                                "name": {"type": "string"},
                                "key": {"type": "string"},
                            },
                        },
                    }
                },
            }
        },
    },
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "replicas": {"type": "integer", "minimum": 0},
                    "image": {"type": "string"},
                    "persistence": {"type": "object", "properties": {"storage": {"type": "string"}}},
                    "rabbitmq": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "additionalPlugins": {"type": "array", "items": {"type": "string"}},
                            "additionalConfig": {"type": "string"},
                        },
                    },
                },
            }
        },
    },
    ("mongodbcommunity.mongodb.com/v1", "MongoDBCommunity"): {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "spec": {
                "type": "object",
                "required": ["members", "type", "version", "security", "users"],
                "properties": {
                    "members": {"type": "integer", "minimum": 1},
                    "type": {"enum": ["ReplicaSet"]},
                    "version": {"type": "string"},
                    "security": {
                        "type": "object",
                        "required": ["authentication"],
                        "properties": {
                            "authentication": {
                                "type": "object",
                                "required": ["modes"],
                                "properties": {
                                    "modes": {
                                        "type": "array",
                                        "items": {"enum": ["SCRAM", "SCRAM-SHA-1", "SCRAM-SHA-256", "X509"]},
                                    },
                                },
                            },
                        },
                    },
                    "users": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "db", "passwordSecretRef", "roles", "scramCredentialsSecretName"],
                            "properties": {
                                "passwordSecretRef": {"type": "object", "required": ["name"]},
                                "roles": {"type": "array", "items": {"type": "object", "required": ["name", "db"]}},
                            },
                        },
                    },
                },
            }
        },
    },
}


@cache
def render(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl (with its built-in kustomize) is not installed; .ci/run installs it")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_manifest_is_valid(overlay):
    docs = render(overlay)
    for doc in docs:
        key = (doc["apiVersion"], doc["kind"])
        if key in CUSTOM_RESOURCES:
            jsonschema.validate(doc, CUSTOM_RESOURCES[key])
        else:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
        assert doc["metadata"].get("namespace") in (None, "logoforge") if doc["kind"] == "Namespace" else True
    namespaced = [doc for doc in docs if doc["kind"] != "Namespace"]
    assert all(doc["metadata"]["namespace"] == "logoforge" for doc in namespaced)


def test_each_process_runs_with_settings_it_reads():
    docs = render("production")
    deployments = of_kind(docs, "Deployment")
    assert set(deployments) == set(SETTINGS)
    [config] = of_kind(docs, "ConfigMap").values()
    for name, deployment in deployments.items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["command"][:2] == ["logoforge", name]
        names = {item["name"] for item in container["env"]} | set(config["data"])
        fields = {f"LOGOFORGE_{field}".upper() for field in SETTINGS[name].model_fields}
        unknown = {env for env in names if env.startswith("LOGOFORGE_")} - fields
        assert not unknown, f"{name} is given settings it does not read: {unknown}"
        for item in container["env"]:
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in EXTERNAL_SECRETS[ref["name"]], (name, ref)
        assert "image" in container and "/" in container["image"] and ":" in container["image"]


def test_probes_and_services_point_at_what_the_api_serves():
    docs = render("production")
    api = of_kind(docs, "Deployment")["api"]
    [container] = api["spec"]["template"]["spec"]["containers"]
    settings = ApiSettings(mongo_url="mongodb://127.0.0.1:1", s3_endpoint="http://127.0.0.1:1")
    paths = set(create_app(settings).openapi()["paths"])
    assert container["readinessProbe"]["httpGet"]["path"] in paths
    assert container["livenessProbe"]["httpGet"]["path"] in paths
    service = of_kind(docs, "Service")["api"]
    assert service["spec"]["selector"].items() <= api["spec"]["template"]["metadata"]["labels"].items()
    [rule] = of_kind(docs, "Ingress")["api"]["spec"]["rules"]
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "api"
    config = next(iter(of_kind(docs, "ConfigMap").values()))
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["metrics"] == int(config["data"]["LOGOFORGE_METRICS_PORT"])
    assert api["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(ports["metrics"])


def test_generators_and_the_trainer_ask_for_a_gpu_and_keda_scales_generators_on_the_generate_queue():
    docs = render("production")
    deployments = of_kind(docs, "Deployment")
    for name in ("generator", "trainer"):
        [container] = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert container["resources"]["limits"]["nvidia.com/gpu"] == 1, name
    scaled = of_kind(docs, "ScaledObject")["generator"]
    assert scaled["spec"]["scaleTargetRef"]["name"] == "generator"
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["type"] == "rabbitmq" and trigger["metadata"]["queueName"] == GENERATE.name
    auth = of_kind(docs, "TriggerAuthentication")[trigger["authenticationRef"]["name"]]
    [host] = auth["spec"]["secretTargetRef"]
    assert host["parameter"] == "host" and host["key"] in EXTERNAL_SECRETS[host["name"]]
    assert scaled["spec"]["minReplicaCount"] == 1
    assert of_kind(render("scale-to-zero"), "ScaledObject")["generator"]["spec"]["minReplicaCount"] == 0


def test_the_stores_are_replicated():
    docs = render("production")
    [rabbitmq] = of_kind(docs, "RabbitmqCluster").values()
    assert rabbitmq["spec"]["replicas"] == 3
    assert "rabbitmq_prometheus" in rabbitmq["spec"]["rabbitmq"]["additionalPlugins"]
    [mongodb] = of_kind(docs, "MongoDBCommunity").values()
    assert mongodb["spec"]["members"] == 3 and mongodb["spec"]["type"] == "ReplicaSet"
    [user] = mongodb["spec"]["users"]
    # The operator names its connection-string Secret <resource>-<db>-<user>: the one the processes read.
    assert f"{mongodb['metadata']['name']}-{user['db']}-{user['name']}" in EXTERNAL_SECRETS


def test_every_worker_is_probed_on_its_metrics_port_health():
    deployments = of_kind(render("production"), "Deployment")
    for name, deployment in deployments.items():
        if name == "api":
            continue
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert ports == {"metrics": 9100}, name
        for probe, path in (
            ("startupProbe", "/health/live"),
            ("livenessProbe", "/health/live"),
            ("readinessProbe", "/health/ready"),
        ):
            assert container[probe]["httpGet"] == {"path": path, "port": "metrics"}, (name, probe)
