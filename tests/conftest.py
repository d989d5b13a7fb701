"""Test-wide setup: no test may reach the internet, so proxies are cleared for every test."""

from __future__ import annotations

import gc
import os

import pytest

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


# The garbage collector's full passes walk every tracked object. Collection builds ~270,000 of them (the
# imported modules, the test items) that live until the session ends, and as they pile up the collector
# re-scans them in ever larger full passes. So it is off while the tests are collected, and what collection
# built is then moved out of its sight ("frozen"); so is everything left once the session is over, for the
# interpreter's passes at exit. About 2 s over a make test-fast run; objects the tests create are collected
# as before.
@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> object:
    gc.disable()
    try:
        return (yield)
    finally:
        gc.freeze()
        gc.enable()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    gc.freeze()


# Subprocesses started at import time of test modules (none today) must not see proxies either.
for _name in _PROXY_VARS:
    os.environ.pop(_name, None)
    os.environ.pop(_name.upper(), None)


@pytest.fixture(scope="session")
def _redis_process(tmp_path_factory: pytest.TempPathFactory):
    from tests.support.redis_server import RedisServer

    try:
        server = RedisServer(tmp_path_factory.mktemp("redis"))
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture
def redis_server(_redis_process):
    """A running redis-server on loopback, emptied for each test."""
    if _redis_process.process is None:
        _redis_process.start()
    _redis_process.flush()
    return _redis_process


# The sample outlets and the notification stand-ins (samples/), for every test that names them.
_shared_outlets = None


@pytest.fixture
def outlets(request: pytest.FixtureRequest):
    """The sample outlets, started once per test session and reset (phase 1, no requests) per test."""
    global _shared_outlets
    from samples.server import Outlets

    if _shared_outlets is None:
        _shared_outlets = Outlets().start()
        shared = _shared_outlets

        def _stop() -> None:
            global _shared_outlets
            shared.stop()
            _shared_outlets = None

        request.config.add_cleanup(_stop)
    _shared_outlets.reset()
    yield _shared_outlets
    _shared_outlets.release_slow()  # never leave a slow handler waiting into the next test


@pytest.fixture
def slack_server():
    """A running Slack webhook stand-in; apprise is *not* re-pointed here (``stand_in_apprise`` does that)."""
    from samples.notify_servers import SlackStandIn

    server = SlackStandIn(hang_seconds=10.0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server():
    """A running SMTP stand-in on 127.0.0.1."""
    from samples.notify_servers import SmtpStandIn

    server = SmtpStandIn().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stand_in_apprise(monkeypatch: pytest.MonkeyPatch, slack_server):
    """apprise in this process: Slack messages to the stand-in, no pause between two messages to a service
    (both restored after the test)."""
    from apprise.plugins.slack import NotifySlack
    from apprise.url import URLBase

    from samples.apprise_stand_ins import point_apprise_at

    monkeypatch.setattr(NotifySlack, "webhook_url", NotifySlack.webhook_url)
    monkeypatch.setattr(URLBase, "throttle", URLBase.throttle)
    point_apprise_at(slack_server.url, no_pace=True)
    return slack_server
