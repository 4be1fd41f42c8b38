"""A stand-in for the read API on a local port, for the dashboard's client tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from werkzeug.serving import make_server

from dashboard import api
from dashboard.settings import get_settings
from devstack.aws import free_port


@contextmanager
def stand_in_api(monkeypatch: pytest.MonkeyPatch, app: Any) -> Iterator[str]:
    """Serve the WSGI ``app`` as the dashboard's read API (its URL and read key in the
    environment, the settings and the API cache fresh); its URL while the block runs."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("STOREPULSE_API_URL", url)
    monkeypatch.setenv("STOREPULSE_READ_KEY", "the-read-key")
    monkeypatch.setenv("STOREPULSE_DASH_SECRET", "x")
    get_settings.cache_clear()
    api.forget()
    try:
        yield url
    finally:
        server.shutdown()
        get_settings.cache_clear()
        api.forget()
