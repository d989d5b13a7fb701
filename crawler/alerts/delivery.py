"""The alert outbox: decide what to send to whom, send it with apprise, and record the outcome.

Guarantees (with the state store's outbox):

* A delivery is recorded (one outbox row per story and target, written by the commit stage in the story's one
  commit) *before* anything is sent, so a failed or interrupted send is never lost: the row stays pending and
  the next run sends it, before its new stories.
* A row is marked delivered only after apprise reported success for its target, and the mark is written right
  after the send, in the same worker thread. A row already delivered is never sent again.
* The one window for a repeat: a run that dies (SIGKILL, power loss) after the service accepted a message and before
  the mark was committed leaves the row pending, and the next run sends that message again. The window is the
  time between the service's answer and one SQLite commit; a send that hangs until the run dies is inside it too
  (the service may have received it).

* A stop (SIGTERM/SIGINT, a fatal write error) sets :attr:`Outbox.stopping`: no further message starts, a retry
  wait ends at once, and a row whose message did not go out stays pending, unmarked (never half-recorded).

Sending is blocking (apprise is synchronous). :class:`Outbox` itself is synchronous and thread-safe where it has to
be: planning (``plan_open``/``jobs_for_story``/``plan_close``) runs on the caller's thread, :meth:`Outbox.run` may
run on a worker thread (one per target, so one slow or failing target never holds up the others).
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol
from urllib.parse import urlsplit

import apprise
from apprise import NotifyFormat
from apprise.plugins.slack import NotifySlack

from crawler import secrets

with warnings.catch_warnings():
    # apprise's email plugin imports the stdlib's imghdr, deprecated since Python 3.11 (removed in 3.13). Importing
    # it here once, quietly, keeps apprise's plugin loading from failing where DeprecationWarnings are errors.
    warnings.filterwarnings("ignore", message=".*imghdr.*", category=DeprecationWarning)
    from apprise.plugins.email import NotifyEmail

from crawler.alerts.formatters import (
    EMAIL,
    SLACK,
    TEXT,
    Message,
    format_digest,
    format_story,
)
from crawler.state import OutboxRow, StateStore

logger = logging.getLogger(__name__)

# Loggers that print secrets at DEBUG: apprise (tokens, SMTP details) and urllib3 (request lines with webhook tokens).
_NOISY_LOGGERS = ("apprise", "urllib3")


class AlertTargetLike(Protocol):
    """What delivery needs of a target (``crawler.config.AlertTarget`` fits)."""

    # Read-only, so a frozen dataclass with narrower types (a tuple of topics) fits.
    @property
    def id(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def privacy_url(self) -> str: ...
    @property
    def topics(self) -> Sequence[str] | None: ...
    @property
    def mode(self) -> str: ...
    @property
    def max_per_run(self) -> int | None: ...
    @property
    def per(self) -> str: ...


class AlertConfigError(ValueError):
    """A target URL apprise cannot use. The message names the target id, never the URL."""


def quiet_secret_loggers() -> None:
    """Keep the loggers that print tokens at DEBUG at INFO or above, whatever the crawl's log level."""
    secrets.guard_apprise_logger()
    for name in _NOISY_LOGGERS:
        log = logging.getLogger(name)
        if log.getEffectiveLevel() < logging.INFO:
            log.setLevel(logging.INFO)


def wants(target: AlertTargetLike, topics: Iterable[str]) -> bool:
    """Whether *target* takes a story with *topics* (``target.topics`` None = every topic)."""
    topics = list(topics)
    if not topics:
        return False
    return target.topics is None or any(topic in target.topics for topic in topics)


class Channel:
    """One target's apprise service, set up so what arrives is exactly what the formatter produced.

    * Slack: block-kit mode with a ``mrkdwn`` section and the body passed through unconverted (apprise's legacy
      mode and its Markdown conversion would re-escape our entities or rewrite ``*bold*``; its passthrough mode
      even turns an escaped ``&lt;!channel&gt;`` back into a live mention).
    * Email: HTML, which apprise sends as ``multipart/alternative`` with a plain-text part derived from the HTML.
    * Anything else: declared plain text, which apprise adapts to the service.
    """

    def __init__(self, target: AlertTargetLike) -> None:
        self.target = target
        # Registered so the apprise log filter masks them even if apprise logs them at INFO or above.
        secrets.register_url(target.url)
        with secrets.quiet_apprise():
            # apprise's parse errors echo the whole URL.
            plugin = apprise.Apprise.instantiate(target.url)
        if plugin is None:
            raise AlertConfigError(f"alert target {target.id!r}: apprise cannot use its URL ({target.privacy_url})")
        if isinstance(plugin, NotifySlack):
            self.kind = SLACK
            plugin.use_blocks = True
            plugin.notify_format = NotifyFormat.MARKDOWN  # type: ignore[assignment]  # apprise annotates it as a tuple
            # No "Apprise" footer or remote icon in a newsroom channel, unless the URL asks for them.
            query = urlsplit(target.url).query
            if "footer=" not in query:
                plugin.include_footer = False
            if "image=" not in query:
                plugin.include_image = False
            self._body_format: NotifyFormat | None = None
        elif isinstance(plugin, NotifyEmail):
            self.kind = EMAIL
            plugin.notify_format = NotifyFormat.HTML  # type: ignore[assignment]  # apprise annotates it as a tuple
            self._body_format = None
        else:
            self.kind = TEXT
            self._body_format = NotifyFormat.TEXT
        self._apprise = apprise.Apprise()
        self._apprise.add(plugin)

    def send_once(self, message: Message) -> tuple[bool, str]:
        """One attempt; returns (success, apprise status name). Exceptions become a failure, never a crash."""
        try:
            result = self._apprise.notify(body=message.body, title=message.title, body_format=self._body_format)
        except Exception as exc:  # noqa: BLE001 - a broken service must not stop the run
            # The exception text may quote the URL; only its type is kept.
            return False, f"error {type(exc).__name__}"
        return bool(result), getattr(getattr(result, "status", None), "name", "FAILURE" if not result else "SUCCESS")


@dataclass
class Job:
    """One message for one target, covering one or more outbox rows."""

    target_id: str
    rows: list[OutboxRow]
    digest: bool
    heading: str | None = None

    @property
    def row_ids(self) -> list[int]:
        return [row.id for row in self.rows]


@dataclass
class JobResult:
    job: Job
    ok: bool
    attempts: int
    error: str | None = None
    marked: bool = True
    stopped: bool = False  # not sent because the run is stopping: still pending, nothing recorded
    elsewhere: bool = False  # every row was claimed (or sent) by another worker


@dataclass
class _TargetRun:
    """Per-target bookkeeping for one run."""

    instant_sent: int = 0  # instant messages scheduled this run (counts against max_per_run)
    failed: set[int] = field(default_factory=set)  # rows whose send failed this run: left for the next run
    down: bool = False  # a message failed after all its retries: the rest waits for the next run


class Outbox:
    """Plans and performs deliveries for one run.

    ``plan_open()`` → jobs for rows left pending by earlier runs; ``jobs_for_story(story_id)`` → the instant jobs
    for a story just committed; ``plan_close()`` → the run's digests. ``run(job)`` sends one job (with retries and
    backoff) and records the outcome in the state store.
    """

    def __init__(
        self,
        state: StateStore,
        targets: Sequence[AlertTargetLike],
        *,
        retries: int,
        backoff: float,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.stopping = threading.Event()
        self.write_error: str | None = None  # an outcome that could not be recorded (disk full…)
        self.state = state
        self.targets = {target.id: target for target in targets}
        self.retries = max(int(retries), 0)
        self.backoff = max(float(backoff), 0.0)
        # Retry waits end early when the run stops.
        self.sleep = sleep or self.stopping.wait
        self.channels: dict[str, Channel] = {}
        for target in targets:
            try:
                self.channels[target.id] = Channel(target)
            except AlertConfigError as exc:
                logger.error("%s; its alerts stay pending", exc)
        self._runs = {target.id: _TargetRun() for target in targets}
        self._planned: set[int] = set()  # outbox rows given an instant job in this run
        self._lock = threading.Lock()

    # -- planning (caller's thread) -----------------------------------------------------------------------------
    def _budget_left(self, target: AlertTargetLike) -> bool:
        limit = target.max_per_run
        return limit is None or self._runs[target.id].instant_sent < limit

    def _instant_or_hold(self, target: AlertTargetLike, rows: Iterable[OutboxRow]) -> list[Job]:
        jobs = []
        for row in rows:
            if row.id in self._planned:
                continue  # already on its way in this run (left pending by an earlier run, seen again)
            if not self._budget_left(target):
                break  # held: goes out in the closing digest
            self._planned.add(row.id)
            self._runs[target.id].instant_sent += 1
            jobs.append(Job(target.id, [row], digest=False))
        return jobs

    def plan_open(self) -> list[Job]:
        """Jobs for rows earlier runs left pending (failed, interrupted, or never sent), oldest first."""
        jobs: list[Job] = []
        for target_id, target in self.targets.items():
            if target_id not in self.channels:
                continue
            rows = self.state.pending(target_id)
            if not rows:
                continue
            logger.info("Alert target %s: %d alert(s) pending from earlier runs", target_id, len(rows))
            if target.mode == "digest":
                jobs.append(Job(target_id, rows, digest=True, heading=_heading(len(rows), "from earlier runs")))
            else:
                jobs.extend(self._instant_or_hold(target, rows))
        return jobs

    def jobs_for_story(self, story_id: str) -> list[Job]:
        """The instant jobs for a story the commit stage has just committed (its rows are in the outbox)."""
        jobs: list[Job] = []
        for target_id, target in self.targets.items():
            if target.mode == "digest" or target_id not in self.channels or not self._budget_left(target):
                continue
            jobs.extend(self._instant_or_hold(target, self.state.pending(target_id, story_id=story_id)))
        return jobs

    def plan_close(self) -> list[Job]:
        """One digest per target with everything still pending that was not tried (and failed) in this run:
        a digest target's stories, and an instant target's stories past its ``max_per_run``."""
        jobs: list[Job] = []
        for target_id, target in self.targets.items():
            if target_id not in self.channels:
                continue
            with self._lock:
                failed = set(self._runs[target_id].failed)
            rows = [row for row in self.state.pending(target_id) if row.id not in failed]
            if not rows:
                continue
            if target.mode == "digest":
                heading = _heading(len(rows))
            else:
                heading = _heading(len(rows), f"more (limit of {target.max_per_run} alerts per run reached)")
            jobs.append(Job(target_id, rows, digest=True, heading=heading))
        return jobs

    # -- sending (any thread; one job at a time per target) ------------------------------------------------------
    def message_for(self, job: Job) -> Message:
        target = self.targets[job.target_id]
        kind = self.channels[job.target_id].kind
        payloads = [row.payload for row in job.rows]
        if job.digest:
            return format_digest(kind, payloads, job.heading, target.topics)
        return format_story(kind, payloads[0], target.topics)

    def _state_lost(self, exc: BaseException) -> None:
        """The state cannot record outcomes: no further message starts in this run."""
        self.write_error = self.write_error or str(exc)
        self.stopping.set()

    def _release(self, job: Job) -> None:
        try:
            self.state.release(job.row_ids)
        except Exception:  # noqa: BLE001 - the lease expires by itself
            pass

    def run(self, job: Job) -> JobResult:
        """Send *job* (retrying with backoff), then mark its rows delivered or failed. Blocks."""
        channel = self.channels[job.target_id]
        run = self._runs[job.target_id]
        if self.stopping.is_set():
            return JobResult(job, False, 0, "skipped: the run is stopping", marked=False, stopped=True)
        if run.down:
            # The service already failed a message through all its retries in this run. Trying every further
            # message the same way would hold the end of the crawl for minutes; they stay pending for the next run.
            with self._lock:
                run.failed.update(job.row_ids)
            return JobResult(job, False, 0, "skipped: target failing in this run", marked=False)
        # One sender per row, whatever the number of workers: rows another worker holds (or has sent) are
        # left out; the claim is renewed before each attempt (a lease in a shared state).
        try:
            claimed = set(self.state.claim(job.row_ids))
        except Exception as exc:  # noqa: BLE001 - a state that cannot be reached: nothing is sent
            self._state_lost(exc)
            return JobResult(job, False, 0, "skipped: the state cannot be reached", marked=False, stopped=True)
        if len(claimed) < len(job.rows):
            if not claimed:
                return JobResult(job, False, 0, "claimed by another worker", marked=False, elsewhere=True)
            job = replace(job, rows=[row for row in job.rows if row.id in claimed])

        def renew() -> None:
            try:
                self.state.claim(job.row_ids)
            except Exception as exc:  # noqa: BLE001 - the state is gone: no outcome could be recorded
                self._state_lost(exc)

        ok, attempts, status = send_with_retries(
            channel, self.message_for(job), self.retries, self.backoff, self.sleep, label=job.target_id,
            stopping=self.stopping, before_attempt=renew,
        )
        if not ok and self.stopping.is_set():
            self._release(job)
            return JobResult(job, False, attempts, "stopped before delivery", marked=False, stopped=True)
        error = None if ok else f"{channel.kind} delivery failed after {attempts} attempt(s): {status}"
        marked = True
        for row_id in job.row_ids:
            try:
                if ok:
                    self.state.mark_delivered(row_id)
                else:
                    self.state.mark_failed(row_id, error or "failed")
            except Exception as exc:  # noqa: BLE001 - the other rows still get their mark
                marked = False
                # The row stays pending: a message that went out is sent once more by the next run. No further
                # message starts in this run: its outcome could not be recorded either.
                self._state_lost(exc)
                logger.error("Could not record the outcome of alert row %d for %s: %s", row_id, job.target_id,
                             exc)
        if not ok:
            with self._lock:
                run.failed.update(job.row_ids)
                run.down = True
            logger.warning("Alert target %s is failing: its other alerts wait for the next run", job.target_id)
        if ok:
            logger.info(
                "Alert sent to %s: %s", job.target_id, f"digest of {len(job.rows)}" if job.digest else job.rows[0].story_id
            )
        return JobResult(job, ok, attempts, error, marked)


def send_with_retries(
    channel: Channel,
    message: Message,
    retries: int,
    backoff: float,
    sleep: Callable[[float], object] = time.sleep,
    *,
    label: str = "",
    stopping: threading.Event | None = None,
    before_attempt: Callable[[], None] | None = None,
) -> tuple[bool, int, str]:
    """Send *message*, retrying up to *retries* times after ``backoff``, ``2*backoff``, … seconds.

    Returns (success, attempts made, last apprise status). Blocks while sending and waiting.
    """
    ok, status, attempts = False, "FAILURE", 0
    for attempt in range(retries + 1):
        if attempt:
            sleep(backoff * 2 ** (attempt - 1))
        if before_attempt is not None:
            before_attempt()
        if stopping is not None and stopping.is_set():
            return False, attempts, "STOPPED"
        attempts += 1
        ok, status = channel.send_once(message)
        if ok:
            break
        logger.warning("Alert to %s failed (attempt %d of %d, %s)", label or channel.target.id, attempts, retries + 1, status)
    return ok, attempts, status


def _heading(count: int, what: str = "") -> str:
    noun = "story" if count == 1 else "stories"
    if what:
        return f"newswatch: {count} new {noun} {what}"
    return f"newswatch: {count} new {noun}"
