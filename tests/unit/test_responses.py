"""The response models of backend/api/responses.py: each example is a body its own schema
accepts, and a body missing a promised field is refused (the models are not decoration)."""

from __future__ import annotations

import inspect

import jsonschema
import pytest
from pydantic import BaseModel

from backend.api import responses

MODELS = [
    model
    for _, model in inspect.getmembers(responses, inspect.isclass)
    if issubclass(model, BaseModel) and model.__module__ == responses.__name__
]
DESCRIBED = [model for model in MODELS if model.model_json_schema().get("examples")]


@pytest.mark.parametrize("model", DESCRIBED, ids=lambda m: m.__name__)
def test_examples_are_valid_bodies(model: type[BaseModel]) -> None:
    schema = model.model_json_schema(mode="serialization")
    validator = jsonschema.Draft202012Validator(schema)
    for example in schema["examples"]:
        validator.validate(example)
        # Given the example without one of its required fields, it is refused
        for name in schema.get("required", []):
            assert list(validator.iter_errors({k: v for k, v in example.items() if k != name})), name


def test_every_registered_and_pending_route_body_has_examples() -> None:
    assert set(responses.RESPONSES.values()) <= set(DESCRIBED)
    assert {responses.Product, responses.Pairs, responses.Together} <= set(DESCRIBED)


def test_money_is_a_two_decimal_string() -> None:
    validator = jsonschema.Draft202012Validator(responses.TopProduct.model_json_schema())
    row = {"rank": 1, "sku": "A", "name": None, "category": None, "units": 1, "net_sales": "1.00"}
    validator.validate(row)
    assert list(validator.iter_errors({**row, "net_sales": 1.0}))
    assert list(validator.iter_errors({**row, "net_sales": "1.0"}))
