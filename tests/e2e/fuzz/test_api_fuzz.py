"""Schemathesis against the live API: every answer is one its OpenAPI document names, with the body it names.

Each run generates requests from `/openapi.json` (valid ones, and ones that break the schema), in every phase
(the schema's examples, boundary coverage, random fuzzing, and stateful chains such as POST /jobs then
GET /jobs/{id}) and runs every check in `schemathesis.toml`: no 5xx, only documented status codes, content
types and bodies, schema-valid requests accepted, schema-breaking ones refused, a missing key refused.
A fixed seed keeps a run reproducible; `st replay` reproduces a failure from the output.
"""

import asyncio
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.api.security import ServiceKey
from services.settings import DEV_ADMIN_KEY

pytestmark = pytest.mark.asyncio

CONFIG = Path(__file__).with_name("schemathesis.toml")
SERVICE_KEY = "fuzzing-service-key"
EXAMPLES_PER_OPERATION = 12


@pytest.fixture
def api_settings(common_env: dict):
    from services.api.settings import ApiSettings

    # /generate answers 202 ("follow the job") at once: no generator runs here.
    keys = [ServiceKey(owner="fuzz", key=SecretStr(SERVICE_KEY))]
    return ApiSettings(**common_env, api_keys=keys, generate_timeout_s=0.2)


async def schemathesis_run(url: str, folder: Path, *headers: str) -> tuple[int, str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "20261206",
        "--workers",
        "1",
        "--no-shrink",
    ]
    for header in headers:
        command += ["--header", header]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=folder, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    return process.returncode, output.decode(errors="replace")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param((f"X-API-Key: {SERVICE_KEY}", "X-User-Id: fuzz:alice"), id="service-key-for-a-user"),
        pytest.param((f"X-API-Key: {DEV_ADMIN_KEY}",), id="admin-key"),
    ],
)
async def test_the_api_answers_as_its_openapi_document_says(api, headers, tmp_path):
    returncode, output = await schemathesis_run(api.url, tmp_path, *headers)
    assert returncode == 0, output[-12000:]
    assert "No issues found" in output or " passed" in output, output[-4000:]
