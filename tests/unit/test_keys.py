"""The API keys keep their roles apart and are long enough, or the stack refuses to start."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.api.auth import Role, check_key, key_digest
from backend.settings import SettingMissing
from devstack.aws import free_port
from devstack.keys import MIN_KEY_LENGTH, load_or_create_keys
from devstack.stack import LocalStack, StackError, StackOptions

LONG = "k" * MIN_KEY_LENGTH


def test_generated_keys_are_long_and_distinct(tmp_path: Path) -> None:
    keys = load_or_create_keys(tmp_path, environ={})
    assert keys.ingest_key != keys.read_key
    for key in (
        keys.ingest_key,
        keys.read_key,
        keys.pii_hash_key,
        keys.unsubscribe_signing_key,
        keys.dash_secret,
    ):
        assert len(key) >= MIN_KEY_LENGTH


def test_the_same_key_for_both_roles_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="STOREPULSE_INGEST_KEY and STOREPULSE_READ_KEY are the same"):
        load_or_create_keys(tmp_path, environ={"STOREPULSE_INGEST_KEY": LONG, "STOREPULSE_READ_KEY": LONG})


@pytest.mark.parametrize(
    "name", ["STOREPULSE_INGEST_KEY", "STOREPULSE_READ_KEY", "PII_HASH_KEY", "UNSUBSCRIBE_SIGNING_KEY"]
)
def test_a_short_key_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} is 31 characters; use at least {MIN_KEY_LENGTH}"):
        load_or_create_keys(tmp_path, environ={name: "s" * (MIN_KEY_LENGTH - 1)})


def test_a_long_hand_set_key_is_used(tmp_path: Path) -> None:
    assert load_or_create_keys(tmp_path, environ={"STOREPULSE_READ_KEY": LONG}).read_key == LONG


def test_the_stack_refuses_to_start_with_one_key_for_both_roles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREPULSE_INGEST_KEY", LONG)
    monkeypatch.setenv("STOREPULSE_READ_KEY", LONG)
    options = StackOptions.from_environment({}, data_dir=tmp_path, api_port=free_port(), aws_port=free_port())
    with pytest.raises(StackError, match="are the same"):
        LocalStack(options).start()


def test_functions_refuse_one_digest_for_both_roles() -> None:
    # Given functions configured (by hand, in AWS) with one digest for both roles
    shared = key_digest(LONG)
    # Then no request is served, even with that very key
    roles: list[tuple[Role, set[str], set[str]]] = [
        ("read", {shared, "b" * 64}, {shared}),
        ("ingest", {shared}, {shared}),
    ]
    for role, allowed, others in roles:
        with pytest.raises(SettingMissing, match="INGEST_KEY_SHA256 and READ_KEY_SHA256 share a key"):
            check_key(LONG, allowed, others, role)
    # And distinct digests work as before
    check_key(LONG, {shared}, {"b" * 64}, "read")
