"""Secrets in settings: the value itself locally, an SSM SecureString parameter in AWS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.adapters import clients
from backend.settings import get_settings
from devstack.aws import AwsClients, MotoServer, fake_aws_environment, free_port


@pytest.fixture
def moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsClients]:
    with MotoServer(free_port(), log_path=tmp_path / "moto.log") as server:
        for name, value in fake_aws_environment(server.endpoint_url).items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield AwsClients(server.endpoint_url)
    get_settings.cache_clear()
    clients.forget_clients()


def test_a_secret_variable_naming_a_parameter_is_read_from_ssm(
    moto: AwsClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the secrets as SecureString parameters, and variables naming them as Terraform sets them
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/storepulse/pii_hash_key", Value="pii-from-ssm", Type="SecureString")
    ssm.put_parameter(Name="/storepulse/unsubscribe_signing_key", Value="links-from-ssm", Type="SecureString")
    monkeypatch.setenv("PII_HASH_KEY", "ssm:/storepulse/pii_hash_key")
    monkeypatch.setenv("UNSUBSCRIBE_SIGNING_KEY", "ssm:/storepulse/unsubscribe_signing_key")
    # When the settings are read
    settings = get_settings()
    # Then they hold the parameters' values, not their names
    assert (settings.pii_hash_key, settings.unsubscribe_signing_key) == ("pii-from-ssm", "links-from-ssm")


def test_a_secret_variable_holding_the_value_is_used_as_is(
    moto: AwsClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The local stack sets the values themselves
    monkeypatch.setenv("PII_HASH_KEY", "local-pii-key")
    monkeypatch.setenv("UNSUBSCRIBE_SIGNING_KEY", "local-links-key")
    settings = get_settings()
    assert (settings.pii_hash_key, settings.unsubscribe_signing_key) == ("local-pii-key", "local-links-key")
