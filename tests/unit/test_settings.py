"""backend.settings on pydantic-settings: the same variable names, defaults and errors in words
as the hand-written reader it replaced, one test per case that reader handled."""

from __future__ import annotations

import doctest
from collections.abc import Iterator
from zoneinfo import ZoneInfoNotFoundError

import pytest

import backend.settings
from backend.settings import SettingMissing, Settings, get_settings
from tests.infra.code_settings import settings_variables


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A process environment holding none of the settings' variables."""
    for variable in settings_variables().values():
        monkeypatch.delenv(variable, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_docstring_examples() -> None:
    result = doctest.testmod(backend.settings)
    assert result.attempted > 0 and result.failed == 0


def test_defaults_when_nothing_is_set(environ: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    assert (settings.store_timezone, settings.store_currency) == ("UTC", "USD")
    assert (settings.report_url_ttl, settings.digest_transport, settings.data_dir) == (900, "ses", ".data")
    assert settings.store_name == "storepulse" and settings.ingest_key_sha256 == frozenset()
    assert settings.ingest_table == settings.pii_hash_key == ""


def test_each_field_is_read_from_its_variable(environ: pytest.MonkeyPatch) -> None:
    # Given every variable set to a value of its own
    variables = settings_variables()
    special = {"store_timezone": "Europe/Paris", "report_url_ttl": "60", "default_lead_time_days": "12"}
    for field, variable in variables.items():
        environ.setenv(variable, special.get(field, f"v-{variable.lower()}"))
    settings = get_settings()
    # Then each field holds its variable's value (data_dir from STOREPULSE_DATA_DIR)
    assert settings.data_dir == "v-storepulse_data_dir"
    assert settings.ingest_table == "v-ingest_table" and settings.store_timezone == "Europe/Paris"
    assert settings.report_url_ttl == 60 and settings.zone.key == "Europe/Paris"
    assert settings.read_key_sha256 == frozenset({"v-read_key_sha256"})
    assert settings.default_lead_time_days == 12


def test_key_digests_are_comma_separated_and_lower_cased(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("INGEST_KEY_SHA256", " ABC, def ,, ")
    environ.setenv("READ_KEY_SHA256", "")
    settings = get_settings()
    assert settings.ingest_key_sha256 == frozenset({"abc", "def"})
    assert settings.read_key_sha256 == frozenset()


@pytest.mark.parametrize("text", ["abc", "0", "604801", "-5", "1.5"])
def test_a_report_url_ttl_out_of_range_says_so(environ: pytest.MonkeyPatch, text: str) -> None:
    environ.setenv("REPORT_URL_TTL", text)
    with pytest.raises(SettingMissing) as error:
        get_settings()
    assert str(error.value) == f"REPORT_URL_TTL must be a number of seconds from 1 to 604800, not {text!r}"


@pytest.mark.parametrize(("text", "seconds"), [("", 900), (" 604800 ", 604800), ("1", 1)])
def test_a_report_url_ttl_in_range_or_blank(environ: pytest.MonkeyPatch, text: str, seconds: int) -> None:
    environ.setenv("REPORT_URL_TTL", text)
    assert get_settings().report_url_ttl == seconds


def test_an_unknown_time_zone_fails_at_start(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("STORE_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ZoneInfoNotFoundError):
        get_settings()


def test_public_api_url_loses_its_trailing_slash(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("PUBLIC_API_URL", "https://api.example.com/v1/")
    assert get_settings().public_api_url == "https://api.example.com/v1"


def test_require_names_the_missing_variable(environ: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingMissing, match=r"^ANALYTICS_TABLE is not set for this function$"):
        get_settings().require("analytics_table")
    environ.setenv("ANALYTICS_TABLE", "t")
    get_settings.cache_clear()
    assert get_settings().require("analytics_table") == "t"


def test_settings_are_read_once_and_frozen(environ: pytest.MonkeyPatch) -> None:
    first = get_settings()
    environ.setenv("STORE_CURRENCY", "EUR")
    assert get_settings() is first and first.store_currency == "USD"
    with pytest.raises(ValueError):
        first.store_currency = "EUR"
    assert Settings().store_currency == "EUR"
