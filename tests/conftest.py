"""Shared fixtures: a real local HTTP server, and a data directory in a temp dir."""

from __future__ import annotations

import pytest

from reader.config import load_settings
from tests.httpserver import HTTPServer


@pytest.fixture
def http_server():
    server = HTTPServer()
    yield server
    server.close()


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings whose every path is under tmp_path; env vars point there too (for CLI runs)."""
    data, config = tmp_path / "data", tmp_path / "config"
    monkeypatch.setenv("READER_DATA_DIR", str(data))
    monkeypatch.setenv("READER_CONFIG_DIR", str(config))
    monkeypatch.delenv("READER_RULES_DIR", raising=False)
    return load_settings()
