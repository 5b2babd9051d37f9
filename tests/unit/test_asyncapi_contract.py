"""The AsyncAPI document says what the code does: persistent delivery, where the job id is, the size rules."""

import json

from schemas.generation import GenerateLogo, GenerationParams
from services.api.contract import asyncapi_json


def document() -> dict:
    return json.loads(asyncapi_json())


def test_every_message_is_published_persistent_and_names_where_its_job_id_is():
    spec = document()
    for name, channel in spec["channels"].items():
        assert channel["subscribe"]["bindings"]["amqp"]["deliveryMode"] == 2, name
    for name, message in spec["components"]["messages"].items():
        assert message["correlationId"]["location"] == "$message.payload#/correlation_id", name
    assert "AMQP `correlation_id`" in spec["info"]["description"]


def test_sizes_are_multiples_of_8_and_image_links_are_documented():
    schemas = document()["components"]["schemas"]
    params = schemas["GenerationParams"]["properties"]
    assert params["height"]["multipleOf"] == 8 and params["width"]["multipleOf"] == 8
    assert "signed HTTP link" in schemas["ImageRef"]["properties"]["url"]["description"]


def test_the_documented_params_are_the_ones_the_code_reads():
    documented = set(document()["components"]["schemas"]["GenerationParams"]["properties"])
    assert documented == set(GenerationParams.model_fields)
    assert "params" in GenerateLogo.model_fields
