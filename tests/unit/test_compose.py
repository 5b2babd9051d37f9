"""compose.yaml: the rules of the production stack, and validation by whichever compose CLIs are installed."""

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"

STORES = {"rabbitmq", "mongo", "seaweedfs"}
GPU_WORKERS = {"generator", "trainer"}
CPU_PROCESSES = {"api", "ratings", "bot", "assets"}
LOGOFORGE_PROCESSES = GPU_WORKERS | CPU_PROCESSES
MONITORING = {"prometheus", "grafana"}
SERVICES = STORES | LOGOFORGE_PROCESSES | MONITORING | {"nginx"}

# `${NAME}`, `${NAME:-default}`, `${NAME:?message}`, `${NAME?message}`; `$$` is a literal dollar.
REFERENCE = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:\?|\?|:-|-)?(?P<arg>[^}]*)\}")
SECRET_NAME = re.compile(r"(PASS|PASSWORD|SECRET|SECRET_KEY|ACCESS_KEY|TOKEN|_KEYS|SIGNING_KEY)$")
URL_PASSWORD = re.compile(r"^[a-z0-9+]+://[^:@/]+:(?P<password>[^@]+)@")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    assert isinstance(environment, dict), "environment must be a mapping (the rules below read it as one)"
    return {name: str(value) for name, value in environment.items()}


def _url_password(value: str) -> str | None:
    """The password part of a URL like `amqp://${USER:-x}:${PASSWORD:?...}@host`, references kept whole."""
    references: list[str] = []

    def hide(match: re.Match[str]) -> str:
        references.append(match[0])
        return f"\0{len(references) - 1}\0"

    url = URL_PASSWORD.match(REFERENCE.sub(hide, value))
    return re.sub(r"\0(\d+)\0", lambda m: references[int(m[1])], url["password"]) if url else None


def test_compose_spec_without_version_and_the_expected_services(compose: dict[str, Any]) -> None:
    assert "version" not in compose
    assert set(compose["services"]) == SERVICES


def test_every_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        test = (service.get("healthcheck") or {}).get("test")
        assert isinstance(test, list) and test[0] in {"CMD", "CMD-SHELL"} and len(test) > 1, name


def test_dependencies_wait_until_healthy(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: depends_on needs the long form with a condition"
        for dependency, rule in depends_on.items():
            assert rule == {"condition": "service_healthy"}, f"{name} -> {dependency}"
            assert "healthcheck" in services[dependency], f"{name} waits on {dependency}, which has no check"
    for name in LOGOFORGE_PROCESSES:
        assert set(services[name]["depends_on"]) >= STORES, name
    assert set(services["nginx"]["depends_on"]) == {"api"}


def test_gpu_workers_reserve_an_nvidia_gpu(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        devices = service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
        if name not in GPU_WORKERS:
            assert not devices, f"{name} must not reserve devices"
            continue
        assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices), name
        environment = _environment(service)
        assert environment["LOGOFORGE_DEVICE"] == "cuda"
        dtype = REFERENCE.fullmatch(environment["LOGOFORGE_DTYPE"])
        default = dtype["arg"] if dtype else environment["LOGOFORGE_DTYPE"]
        assert default in {"float16", "bfloat16"}, name


def test_one_dockerfile_and_torch_only_in_gpu_images(services: dict[str, dict[str, Any]]) -> None:
    for name in LOGOFORGE_PROCESSES:
        build = services[name]["build"]
        assert (build["context"], build["dockerfile"]) == (".", "infra/Dockerfile"), name
        extras = {extra.strip() for extra in str(build["args"]["EXTRAS"]).split(",")}
        assert ("gpu" in extras) == (name in GPU_WORKERS), f"{name}: EXTRAS={build['args']['EXTRAS']!r}"
        assert services[name]["environment"]["LOGOFORGE_ENVIRONMENT"] == "production", name
    assert (ROOT / "infra" / "Dockerfile").is_file()


def test_secrets_only_come_from_required_variables(services: dict[str, dict[str, Any]]) -> None:
    checked = 0
    for name, service in services.items():
        # A service behind a profile may accept an empty value (`?` instead of `:?`): compose
        # interpolates it even when the profile is off.
        allowed = {":?", "?"} if service.get("profiles") else {":?"}
        for variable, value in _environment(service).items():
            secrets = [value] if SECRET_NAME.search(variable) else []
            if (password := _url_password(value)) is not None:
                secrets.append(password)
            for secret in secrets:
                reference = REFERENCE.fullmatch(secret)
                assert reference, f"{name}.{variable}: literal secret {secret!r}"
                assert reference["op"] in allowed and reference["arg"].strip(), f"{name}.{variable}: {secret}"
                checked += 1
    assert checked >= 10, "the secret rule matched too little of compose.yaml to mean anything"


def test_env_example_lists_exactly_the_variables_compose_reads() -> None:
    used = {match["name"] for match in REFERENCE.finditer(COMPOSE_FILE.read_text())}
    listed = {
        line.split("=", 1)[0].strip()
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    assert used == listed


def test_env_example_keys_are_what_the_api_and_the_bot_read() -> None:
    """The example's service keys parse as the API's settings, and the bot's key acts for Telegram users."""
    import json

    from services.api.settings import ApiSettings

    values = dict(
        line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line and not line.startswith("#")
    )
    api_keys = json.loads(values["API_KEYS"].strip("'"))
    settings = ApiSettings(api_keys=api_keys, admin_keys=json.loads(values["ADMIN_KEYS"].strip("'")))
    [bot] = [service for service in settings.api_keys if service.key.get_secret_value() == values["BOT_API_KEY"]]
    assert bot.user_prefix == "tg:"
    assert values["BOT_ADMIN_KEY"] in [key.get_secret_value() for key in settings.admin_keys]


def test_mounted_files_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source}"


COMPOSE_CLIS = {"docker-compose": ["docker-compose"], "docker compose": ["docker", "compose"]}


def _compose_cli(label: str) -> list[str]:
    command = COMPOSE_CLIS[label]
    if not shutil.which(command[0]):
        pytest.skip(f"`{label}` is not installed (Debian: apt-get install docker-compose)")
    if subprocess.run([*command, "version"], capture_output=True).returncode != 0:
        pytest.skip(f"`{label}` is not usable here (no compose plugin for this docker CLI)")
    return command


def _config(command: list[str], env_file: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # Only where the CLIs and their plugins are: the shell's variables must not fill in missing secrets.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(cwd))}
    if "DOCKER_CONFIG" in os.environ:
        env["DOCKER_CONFIG"] = os.environ["DOCKER_CONFIG"]
    return subprocess.run(
        [*command, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


@pytest.mark.parametrize("label", list(COMPOSE_CLIS))
def test_compose_cli_validates_the_example_and_names_a_missing_secret(label: str, tmp_path: Path) -> None:
    command = _compose_cli(label)
    valid = _config(command, ENV_EXAMPLE, tmp_path)
    assert valid.returncode == 0, valid.stderr

    lines = ENV_EXAMPLE.read_text().splitlines()
    missing = tmp_path / "missing.env"
    missing.write_text("\n".join(line for line in lines if not line.startswith("S3_SECRET_KEY=")) + "\n")
    result = _config(command, missing, tmp_path)
    assert result.returncode != 0 and "S3_SECRET_KEY" in result.stderr, result.stderr

    empty = tmp_path / "empty.env"
    empty.write_text("\n".join("API_KEYS=" if line.startswith("API_KEYS=") else line for line in lines) + "\n")
    result = _config(command, empty, tmp_path)
    assert result.returncode != 0 and "API_KEYS" in result.stderr, result.stderr
