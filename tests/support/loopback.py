"""The plumbing of a small loopback outlet: a threaded HTTP server on a free port, a request counter, a lock.
A subclass answers each GET in :meth:`LoopbackOutlet.serve`."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

BODIES = Path(__file__).resolve().parent.parent.parent / "samples" / "sites" / "techmag" / "bodies"


class Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        outlet = self.server.outlet
        with outlet.lock:
            outlet.fetches[self.path] += 1
        if self.path == "/robots.txt":
            return self.send(200, "text/plain", b"User-agent: *\nDisallow:\n")
        outlet.serve(self)

    def send(self, status: int, content_type: str, body: bytes, headers: Sequence[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    outlet: LoopbackOutlet


class LoopbackOutlet:
    def __init__(self) -> None:
        self.fetches: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.outlet = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def serve(self, request: Handler) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def clear(self) -> None:
        with self.lock:
            self.fetches.clear()
