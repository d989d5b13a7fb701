"""The HTML report in headless Chromium: no console errors, no request but the file itself.

Chromium is driven over the DevTools protocol with aiohttp's websocket client (aiohttp is already
installed as a Scrapy dependency). Skipped when /usr/bin/chromium is not installed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from crawler.review.cli import main
from tests.test_review_reader import build_archive

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="headless Chromium not installed (apt-get install -y chromium)")
# Upper bound on waiting for the browser, so a wedged Chromium fails the test instead of hanging it.
DEADLINE = 60.0


@dataclass
class PageLoad:
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    title: str = ""
    series: int = 0


class Chromium:
    """A headless Chromium with a DevTools port on 127.0.0.1, in its own profile directory."""

    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self.proc = subprocess.Popen(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    async def port(self) -> int:
        # Chromium writes the port it picked to DevToolsActivePort in the profile once it listens.
        active = self.profile / "DevToolsActivePort"
        while not (active.exists() and active.read_text().strip()):
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}")
            await asyncio.sleep(0.05)
        return int(active.read_text().split()[0])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: the renderer and GPU children too
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


async def load(browser: Chromium, url: str) -> PageLoad:
    # Imported here, not at the top: where Chromium is missing these tests are skipped, and aiohttp's import
    # (~0.15 s) would only lengthen collection.
    import aiohttp

    port = await browser.port()
    result = PageLoad()
    ids = itertools.count(1)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/list") as resp:
            targets = await resp.json(content_type=None)
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        async with http.ws_connect(ws_url, max_msg_size=0) as ws:
            pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
            loaded = asyncio.get_running_loop().create_future()

            async def reader() -> None:
                async for msg in ws:
                    data = json.loads(msg.data)
                    if "id" in data and data["id"] in pending:
                        pending.pop(data["id"]).set_result(data)
                        continue
                    method, params = data.get("method"), data.get("params", {})
                    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                        result.console_errors.append(" ".join(str(a.get("value", a.get("description")))
                                                              for a in params.get("args", [])))
                    elif method == "Runtime.exceptionThrown":
                        result.exceptions.append(params["exceptionDetails"].get("text", "exception"))
                    elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                        result.console_errors.append(params["entry"].get("text", ""))
                    elif method == "Network.requestWillBeSent":
                        result.requests.append(params["request"]["url"])
                    elif method == "Page.loadEventFired" and not loaded.done():
                        loaded.set_result(None)

            async def send(method: str, **params: Any) -> dict[str, Any]:
                msg_id = next(ids)
                pending[msg_id] = asyncio.get_running_loop().create_future()
                await ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params}))
                reply = await pending[msg_id]
                assert "error" not in reply, reply
                return reply.get("result", {})

            task = asyncio.create_task(reader())
            for domain in ("Runtime", "Log", "Network", "Page"):
                await send(f"{domain}.enable")
            await send("Page.navigate", url=url)
            await loaded
            # A round trip through the renderer after load, so late console messages have arrived.
            evaluated = await send("Runtime.evaluate", returnByValue=True,
                                   expression="[document.title, document.querySelectorAll('g.series').length]")
            result.title, result.series = evaluated["result"]["value"]
            task.cancel()
    return result


def open_in_chromium(page: Path, profile: Path) -> PageLoad:
    browser = Chromium(profile)
    try:
        return asyncio.run(asyncio.wait_for(load(browser, page.as_uri()), DEADLINE))
    finally:
        browser.stop()


def test_report_renders_without_errors_or_network(tmp_path: Path) -> None:
    archive = build_archive(tmp_path)
    report = tmp_path / "report.html"
    assert main(["report", "--archive", str(archive.path), "--out", str(report), "--include-duplicates"]) == 0
    page = open_in_chromium(report, tmp_path / "profile")
    assert page.title == "newswatch review report"
    assert page.series == 3  # the chart really rendered in the DOM
    assert page.console_errors == [] and page.exceptions == []
    assert page.requests == [report.as_uri()]


def test_harness_sees_errors_and_requests(tmp_path: Path) -> None:
    """The checks above can fail: a page with a console error, an exception and a fetch is caught."""
    page_file = tmp_path / "bad.html"
    page_file.write_text("<!DOCTYPE html><title>bad</title><img src='http://127.0.0.1:9/x.png'>"
                         "<script>console.error('boom'); null.x;</script>", encoding="utf-8")
    page = open_in_chromium(page_file, tmp_path / "profile")
    assert any("boom" in e for e in page.console_errors)
    assert page.exceptions
    assert "http://127.0.0.1:9/x.png" in page.requests
