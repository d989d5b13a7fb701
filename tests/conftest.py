"""Test-wide setup: no test may reach the internet, so proxies are cleared for every test."""

from __future__ import annotations

import os

import pytest

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


# Subprocesses started at import time of test modules (none today) must not see proxies either.
for _name in _PROXY_VARS:
    os.environ.pop(_name, None)
    os.environ.pop(_name.upper(), None)
