"""Dashboard settings: the API URL, the hashed password, the path prefix, Cognito."""

from __future__ import annotations

from werkzeug.security import check_password_hash

from dashboard.settings import settings_from


def test_the_password_is_kept_only_as_a_hash() -> None:
    settings = settings_from(
        {"STOREPULSE_DASH_USER": "ana", "STOREPULSE_DASH_PASSWORD": "s3cret", "STOREPULSE_DASH_SECRET": "k"}
    )
    assert "s3cret" not in repr(settings)
    assert check_password_hash(settings.password_hash, "s3cret") and settings.password_sign_in


def test_defaults_point_at_the_local_api_under_root() -> None:
    settings = settings_from({"STOREPULSE_API_PORT": "8123"})
    assert settings.api_url == "http://127.0.0.1:8123"
    assert settings.pathname_prefix == "/" and settings.cognito is None and not settings.password_sign_in
    assert settings.secret  # a random one, with a warning in the log


def test_stage_prefix_and_cognito_come_from_the_environment() -> None:
    settings = settings_from(
        {
            "STOREPULSE_API_URL": "https://api.example.com/",
            "DASH_REQUESTS_PATHNAME_PREFIX": "dev",
            "COGNITO_DOMAIN": "shop.auth.eu-west-1.amazoncognito.com",
            "COGNITO_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool/",
            "COGNITO_CLIENT_ID": "id",
            "COGNITO_CLIENT_SECRET": "secret",
        }
    )
    assert settings.api_url == "https://api.example.com" and settings.pathname_prefix == "/dev/"
    assert settings.cognito is not None
    assert settings.cognito.domain == "https://shop.auth.eu-west-1.amazoncognito.com"
    assert settings.cognito.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool"


def test_cognito_without_its_issuer_is_off() -> None:
    # Given the three settings of the hand-written flow but no issuer (the id_token's keys)
    env = {"COGNITO_DOMAIN": "d.example", "COGNITO_CLIENT_ID": "id", "COGNITO_CLIENT_SECRET": "s"}
    # Then Cognito sign-in is off rather than signing in without checking the id_token
    assert settings_from(env).cognito is None
