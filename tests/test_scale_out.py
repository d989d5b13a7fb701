"""Several workers on one Redis: real ``scrapy crawl news`` processes at once over the sample outlets, with
a real ``redis-server``, a real SMTP server and the Slack stand-in. Each page is fetched once in all, each
story archived once across the workers' files and alerted once per target -- across ticks, a worker
killed mid-run, and a Redis restarted between ticks."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from samples.notify_servers import SlackStandIn, SmtpStandIn, own_story
from samples.server import Outlets
from tests.crawl import CrawlResult, read_archive, run_crawl, start_crawl
from tests.test_crawl import (
    FAST_ALERTS,
    SMTP_PASSWORD,
    alert_env,
    email_alert,
    expected_articles,
    make_config,
    slack_alert,
)

pytestmark = pytest.mark.slow  # real `scrapy crawl news` runs


# Three workers analysing on their reactor threads on CI's 2 cores can hold a robots.txt response past a
# 2 s timeout; Scrapy then treats the site as allowing everything, and a worker fetches the page robots.txt
# forbids (seen once in about 20 runs). The slow page (10 s) still times out.
ROBOTS_SAFE_TIMEOUT = 5


def shared_config(out: Outlets, tmp: Path, slack: SlackStandIn, smtp: SmtpStandIn, url: str) -> dict[str, Any]:
    config = make_config(out, tmp, alerts=[slack_alert(slack), email_alert(smtp)], state=url,
                         archive=str(tmp / "archive-{worker}.jsonl"))
    # Analysis in each worker's own process keeps 3 workers light on CI's 2 cores; a short idle close and
    # lease keep the test short (a killed worker's claims expire in 5 s).
    config["crawl"].update({"workers": 0, "idle_close": 1, "lease": 5, "download_timeout": ROBOTS_SAFE_TIMEOUT})
    return config


def run_workers(count: int, config: dict[str, Any], tmp: Path, slack: SlackStandIn, prefix: str = "w",
                ) -> list[CrawlResult]:
    workers = [start_crawl(config, tmp, env=alert_env(slack), settings=FAST_ALERTS, name=f"{prefix}{i}")
               for i in range(count)]
    results = [worker.finish() for worker in workers]
    for result in results:
        assert result.returncode == 0, result.log[-3000:]
        assert "Traceback" not in result.log, result.log[-3000:]
    return results


def wait_for_requests(out: Outlets, count: int, seconds: float = 60) -> None:
    """Until the outlets have answered *count* requests: a worker is mid-run."""
    deadline = time.monotonic() + seconds
    while len(out.requests) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def wait_for_leases(client: Any, seconds: float = 30) -> None:
    """Until a dead worker's tick and claims have expired (``crawl.lease``): what the next cron start sees."""
    deadline = time.monotonic() + seconds
    while (client.exists("nw:tick") or client.keys("nw:claim:*")) and time.monotonic() < deadline:
        time.sleep(0.1)


def archive(tmp: Path) -> list[dict[str, Any]]:
    return [record for file in sorted(tmp.glob("archive-*.jsonl")) for record in read_archive(file)]


def fetches(out: Outlets) -> Counter[tuple[str, str]]:
    return Counter((r.site, r.bare_path) for r in out.requests if r.bare_path != "/robots.txt")


def stories(out: Outlets, phase: int) -> tuple[set[str], int]:
    """(URLs of every story, number of originals) the outlets publish up to *phase*."""
    articles = [a for a in expected_articles(out, phase) if a["outcome"] in ("archived", "duplicate")]
    return {a["url"] for a in articles}, sum(a["outcome"] == "archived" for a in articles)


def alerted_urls(slack: SlackStandIn, urls: set[str]) -> Counter[str]:
    """How many Slack messages named each story URL."""
    counts: Counter[str] = Counter()
    for message in slack.delivered:
        text = own_story(json.dumps(message, ensure_ascii=False))
        counts.update(url for url in urls if url in text)
    return counts


@pytest.fixture
def one_worker_fetches(outlets: Outlets, tmp_path: Path) -> Counter[tuple[str, str]]:  # noqa: F811
    """What a single worker on a SQLite state fetches: the yardstick for several workers."""
    with SlackStandIn() as slack, SmtpStandIn(password=SMTP_PASSWORD) as smtp:
        config = make_config(outlets, tmp_path / "single", alerts=[slack_alert(slack), email_alert(smtp)])
        config["crawl"].update({"workers": 0, "download_timeout": ROBOTS_SAFE_TIMEOUT})
        (tmp_path / "single").mkdir()
        result = run_crawl(config, tmp_path / "single", env=alert_env(slack), settings=FAST_ALERTS)
        assert result.returncode == 0, result.log[-3000:]
    counts = fetches(outlets)
    outlets.release_slow()
    outlets.reset()
    return counts


@pytest.mark.parametrize("count", [2, 3])
def test_workers_share_one_crawl(count: int, outlets: Outlets, tmp_path: Path, redis_server: Any,  # noqa: F811
                                 one_worker_fetches: Counter[tuple[str, str]]) -> None:
    with SlackStandIn() as slack, SmtpStandIn(password=SMTP_PASSWORD) as smtp:
        results = run_workers(count, shared_config(outlets, tmp_path, slack, smtp, redis_server.url), tmp_path,
                              slack)
        outlets.release_slow()
        urls, originals = stories(outlets, 1)
        # Each page fetched once in all: what one worker fetches, no page more often.
        assert fetches(outlets) == one_worker_fetches
        # Each story archived once across the workers' files.
        records = archive(tmp_path)
        assert sorted(r["url"] for r in records) == sorted(urls)
        # Each original alerted once per target.
        assert len(slack.delivered) == originals and len(smtp.messages) == originals
        assert set(alerted_urls(slack, urls).values()) == {1}
        assert sum(r.stat("alerts/sent") for r in results) == 2 * originals
        # One worker seeded the tick; the others joined it.
        assert sum(r.stat("newswatch/sources") > 0 for r in results) == 1


def test_a_second_tick_alerts_only_new_stories(outlets: Outlets, tmp_path: Path,  # noqa: F811
                                               redis_server: Any) -> None:
    with SlackStandIn() as slack, SmtpStandIn(password=SMTP_PASSWORD) as smtp:
        config = shared_config(outlets, tmp_path, slack, smtp, redis_server.url)
        run_workers(2, config, tmp_path, slack, prefix="a")
        first = fetches(outlets)
        outlets.release_slow()
        outlets.set_phase(2)
        slack.clear()
        mails = len(smtp.messages)
        results = run_workers(2, config, tmp_path, slack, prefix="b")
        outlets.release_slow()
        urls_1, originals_1 = stories(outlets, 1)
        urls_2, originals_2 = stories(outlets, 2)
        assert originals_2 > originals_1
        # No story of the first tick is fetched again.
        again = fetches(outlets) - first
        assert not [path for (site, path) in again if any(url.endswith(path) for url in urls_1)]
        # Only the new stories are alerted, once each.
        assert len(slack.delivered) == originals_2 - originals_1
        assert len(smtp.messages) - mails == originals_2 - originals_1
        assert set(alerted_urls(slack, urls_2 - urls_1).values()) == {1}
        assert sorted(r["url"] for r in archive(tmp_path)) == sorted(urls_2)
        assert sum(r.stat("newswatch/sources") > 0 for r in results) == 1


def test_a_killed_worker_loses_nothing(outlets: Outlets, tmp_path: Path, redis_server: Any) -> None:  # noqa: F811
    """The busiest worker (the tick's seeder) is SIGKILLed mid-run; the others finish the tick, and a later
    tick finishes what it held: every story archived once, every original alerted, repeats only of the
    alerts it was sending when killed."""
    with SlackStandIn() as slack, SmtpStandIn(password=SMTP_PASSWORD) as smtp:
        config = shared_config(outlets, tmp_path, slack, smtp, redis_server.url)
        victim = start_crawl(config, tmp_path, env=alert_env(slack), settings=FAST_ALERTS, name="k0")
        wait_for_requests(outlets, 12)
        others = [start_crawl(config, tmp_path, env=alert_env(slack), settings=FAST_ALERTS, name=f"k{i}")
                  for i in (1, 2)]
        time.sleep(0.3)
        os.kill(victim.process.pid, signal.SIGKILL)
        assert victim.finish().returncode == -signal.SIGKILL
        for worker in others:
            result = worker.finish()
            assert result.returncode == 0, result.log[-3000:]
        # The dead worker's tick lasts until its lease runs out; the next cron start begins a new one.
        client = redis_server.client()
        wait_for_leases(client)
        later = start_crawl(config, tmp_path, env=alert_env(slack), settings=FAST_ALERTS, name="k3").finish()
        assert later.returncode == 0, later.log[-3000:]
        outlets.release_slow()
        urls, originals = stories(outlets, 1)
        records = archive(tmp_path)
        assert sorted(r["url"] for r in records) == sorted(urls), "a story lost or archived twice"
        counts = alerted_urls(slack, urls)
        assert len(counts) == originals, "an original was never alerted"
        repeats = sum(counts.values()) - originals
        assert repeats <= 1, f"only an alert in flight when the worker died may repeat: {counts}"
        assert client.zcard("nw:outbox:pending") == 0


def test_redis_restarted_between_ticks_loses_nothing(outlets: Outlets, tmp_path: Path,  # noqa: F811
                                                     redis_server: Any) -> None:
    with SlackStandIn() as slack, SmtpStandIn(password=SMTP_PASSWORD) as smtp:
        config = shared_config(outlets, tmp_path, slack, smtp, redis_server.url)
        run_workers(2, config, tmp_path, slack, prefix="a")
        outlets.release_slow()
        redis_server.restart()  # appendonly: what was written survives
        outlets.set_phase(2)
        slack.clear()
        run_workers(2, config, tmp_path, slack, prefix="b")
        outlets.release_slow()
        urls_1, originals_1 = stories(outlets, 1)
        urls_2, originals_2 = stories(outlets, 2)
        assert len(slack.delivered) == originals_2 - originals_1
        assert set(alerted_urls(slack, urls_2 - urls_1).values()) == {1}
        assert sorted(r["url"] for r in archive(tmp_path)) == sorted(urls_2)


def test_an_unreachable_redis_stops_before_any_request(outlets: Outlets, tmp_path: Path) -> None:  # noqa: F811
    from tests.support.redis_server import free_port

    url = f"redis://:RedisPassw0rdSecret@127.0.0.1:{free_port()}/0"
    config = make_config(outlets, tmp_path, state=url)
    result = run_crawl(config, tmp_path)
    assert result.returncode == 2, result.log[-2000:]
    assert "RedisPassw0rdSecret" not in result.log
    critical = [line for line in result.log.splitlines() if "] CRITICAL:" in line]
    assert len(critical) == 1 and "redis://:***@127.0.0.1" in critical[0], result.log[-2000:]
    assert "Traceback" not in result.log
    assert outlets.requests == []


def test_state_from_the_environment_overrides_the_file(outlets: Outlets, tmp_path: Path,  # noqa: F811
                                                       redis_server: Any) -> None:
    config = make_config(outlets, tmp_path)
    config["crawl"].update({"workers": 0, "idle_close": 1})
    result = run_crawl(config, tmp_path, env={"NEWSWATCH_STATE": redis_server.url,
                                              "NEWSWATCH_WORKER": "solo"})
    assert result.returncode == 0, result.log[-3000:]
    assert not (tmp_path / "state.sqlite").exists()
    assert redis_server.client().exists("nw:schema")
    assert result.stat("commit/stories") > 0


def test_redis_going_away_mid_run_stops_cleanly_and_the_next_tick_finishes(
        outlets: Outlets, tmp_path: Path, redis_server: Any) -> None:  # noqa: F811
    with SlackStandIn() as slack, SmtpStandIn(password=SMTP_PASSWORD) as smtp:
        config = shared_config(outlets, tmp_path, slack, smtp, redis_server.url)
        worker = start_crawl(config, tmp_path, env=alert_env(slack), settings=FAST_ALERTS, name="r0")
        wait_for_requests(outlets, 15)
        redis_server.stop()
        result = worker.finish()
        redis_server.start()  # appendonly: every commit acknowledged before the stop is still there
        assert result.returncode == 3, result.log[-3000:]
        critical = [line for line in result.log.splitlines() if "] CRITICAL:" in line]
        assert len(critical) == 1 and "Redis" in critical[0], result.log[-3000:]
        assert "Traceback" not in result.log, result.log[-4000:]
        # The one ERROR allowed: a message that went out while Redis went away, whose outcome could not be
        # recorded (it may go out once more: the documented repeat window).
        errors = [line for line in result.log.splitlines() if "] ERROR:" in line]
        assert all("Could not record the outcome" in line for line in errors), errors
        wait_for_leases(redis_server.client())
        later = start_crawl(config, tmp_path, env=alert_env(slack), settings=FAST_ALERTS, name="r1").finish()
        assert later.returncode == 0, later.log[-3000:]
        outlets.release_slow()
        urls, originals = stories(outlets, 1)
        assert sorted(r["url"] for r in archive(tmp_path)) == sorted(urls), "a story lost or archived twice"
        counts = alerted_urls(slack, urls)
        assert len(counts) == originals and sum(counts.values()) - originals <= 1, counts
        assert redis_server.client().zcard("nw:outbox:pending") == 0
