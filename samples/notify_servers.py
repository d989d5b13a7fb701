"""Real loopback stand-ins for the services alerts go to.

* ``SlackStandIn`` — an HTTP server that plays Slack's incoming-webhook endpoint. Point apprise at it by setting
  ``NotifySlack.webhook_url`` to ``SlackStandIn.url`` (``samples/apprise_stand_ins.py``: the
  ``stand_in_apprise`` fixture in this process, ``subprocess_env`` for a ``scrapy crawl`` subprocess). It records every JSON payload and answers 200, 500 or not at all ("timeout")
  as scripted with ``respond_with``.
* ``SmtpStandIn`` — an aiosmtpd SMTP server on 127.0.0.1 with AUTH (no TLS), recording every message as an
  ``email.message.EmailMessage``. ``stop()`` takes it down (connections are refused on its port); ``start()`` brings it
  back up on the same port, so one target URL can see an outage and the recovery.

Both are plain classes (``with SlackStandIn() as slack: ...``), used by ``make demo``; the ``slack_server`` and
``smtp_server`` fixtures of tests/conftest.py start one per test and stop it afterwards.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = [
    "SLACK_TOKENS",
    "SlackRequest",
    "SlackStandIn",
    "SmtpStandIn",
]

# Fake but well-formed webhook tokens (apprise checks their shape). Tests search logs for these substrings.
SLACK_TOKENS = ("T1NEWSWATCH", "B2NEWSWATCH", "S3cretWebhookTokenNewswatch")

TIMEOUT = "timeout"


@dataclass
class SlackRequest:
    """One POST the stand-in received: the path (holds the webhook tokens), the decoded JSON, and what we answered."""

    path: str
    payload: Any
    status: int | str


class _SlackHandler(BaseHTTPRequestHandler):
    server: _SlackHTTPServer

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            payload: Any = json.loads(raw.decode("utf-8"))
        except ValueError:
            payload = raw.decode("utf-8", "replace")
        stand_in = self.server.stand_in
        status = stand_in._next_status()
        stand_in._record(SlackRequest(self.path, payload, status))
        if status == TIMEOUT:
            # Hold the connection without answering until the client gives up (its read timeout) or the stand-in
            # stops; then drop it without a response.
            stand_in._stopping.wait(stand_in.hang_seconds)
            self.close_connection = True
            return
        body = b"ok" if status == 200 else b"internal_error"
        self.send_response(int(status))
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        # The request line holds the webhook tokens; never write it anywhere.
        return


class _SlackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    stand_in: SlackStandIn


class SlackStandIn:
    """A local stand-in for Slack's incoming-webhook endpoint.

    ``url`` is the value for ``NotifySlack.webhook_url``; apprise then POSTs to ``<url>/<tokenA>/<tokenB>/<tokenC>``.
    ``respond_with([500, "timeout", 200])`` scripts the answers to the next requests, in order; once the script is
    used up every request gets ``default_status`` (200).
    """

    def __init__(self, default_status: int = 200, hang_seconds: float = 30.0) -> None:
        self.default_status = default_status
        self.hang_seconds = hang_seconds
        self.requests: list[SlackRequest] = []
        self._script: deque[int | str] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _SlackHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control -------------------------------------------------------------------------------------------------
    def start(self) -> SlackStandIn:
        self._stopping.clear()
        httpd = _SlackHTTPServer(("127.0.0.1", 0), _SlackHandler)
        httpd.stand_in = self
        self._httpd = httpd
        # stop() waits for serve_forever's next poll: 10 ms, as the tests start and stop a stand-in each.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="slack-stand-in", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def respond_with(self, statuses: Iterable[int | str]) -> None:
        """Queue the answers for the next requests: an HTTP status code or ``"timeout"`` (never answer)."""
        with self._lock:
            self._script.extend(statuses)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._script.clear()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what arrived ----------------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("SlackStandIn is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL to use as ``NotifySlack.webhook_url`` (see samples/apprise_stand_ins.py)."""
        return f"http://127.0.0.1:{self.port}/services"

    @property
    def received(self) -> list[Any]:
        """Every decoded JSON payload received, whatever the answer was."""
        with self._lock:
            return [r.payload for r in self.requests]

    @property
    def delivered(self) -> list[Any]:
        """The payloads that were answered with 200, i.e. that Slack would have posted."""
        with self._lock:
            return [r.payload for r in self.requests if r.status == 200]

    @staticmethod
    def apprise_url(tokens: tuple[str, str, str] = SLACK_TOKENS, **params: str) -> str:
        """An apprise ``slack://`` URL for this stand-in (the tokens end up in the request path)."""
        query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())
        return f"slack://{'/'.join(tokens)}" + (f"?{query}" if query else "")

    # -- internals -------------------------------------------------------------------------------------------------
    def _next_status(self) -> int | str:
        with self._lock:
            return self._script.popleft() if self._script else self.default_status

    def _record(self, request: SlackRequest) -> None:
        with self._lock:
            self.requests.append(request)


class _Recorder:
    """aiosmtpd handler: parse each accepted message into an ``EmailMessage``."""

    def __init__(self, stand_in: SmtpStandIn) -> None:
        self.stand_in = stand_in

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        raw = raw or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.stand_in._lock:
            self.stand_in.messages.append(message)
            self.stand_in.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpStandIn:
    """A local SMTP server (aiosmtpd) with plain AUTH and no TLS.

    The port is chosen at construction and kept across ``stop()``/``start()``, so a target URL made from
    ``apprise_url()`` sees the outage (connection refused) and the recovery. Only ``user``/``password`` log in.
    """

    def __init__(self, user: str = "newswatch", password: str = "SmtpPassw0rdNewswatch", port: int | None = None) -> None:
        self.user = user
        self.password = password
        self.port = port or _free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str | None, list[str]]] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.user
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpStandIn:
        if self._controller is not None:
            return self
        controller = Controller(
            _Recorder(self),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            auth_require_tls=False,
        )
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        """Take the server down: new connections to ``port`` are refused until ``start()``."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.envelopes.clear()

    def apprise_url(self, to: str = "alerts@example.org", sender: str = "newswatch@example.org") -> str:
        """A ``mailto://`` URL for this server: plain SMTP (no TLS), logging in as ``user``."""
        return (
            f"mailto://{quote(self.user, safe='')}:{quote(self.password, safe='')}@127.0.0.1:{self.port}"
            f"?from={quote(sender, safe='@')}&to={quote(to, safe='@')}&mode=insecure"
        )

    def __enter__(self) -> SmtpStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def own_story(text: str) -> str:
    """A message's text without its closing "Same story as" part and the link that carries it: a later
    language's alert also names the first copy of its story, which is not the story it announces."""
    return re.split(r"(?:<[^<>|]*\|)?Same story as:", text)[0]
