"""Source health alerts: problems from crawl stats, announced once while they persist."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from crawler.alerts.health import check_health, record_notified
from crawler.config import HealthConfig
from crawler.state import open_state
from pipelines.health import HealthPipeline
from samples.notify_servers import SlackStandIn
from tests.test_alert_pipeline import slack_target, slack_text

T0 = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)


def stats(requests: int = 10, errors: int = 0, articles: int = 5, no_article: int = 1, source: str = "hdblog") -> dict:
    return {
        f"source/{source}/requests": requests,
        f"source/{source}/errors": errors,
        f"source/{source}/articles": articles,
        f"source/{source}/no_article": no_article,
    }


HEALTHY = stats()
#: The `health_checks:` section as shipped.
LIMITS = {"stale_days": HealthConfig.stale_days, "extract_failure_jump": HealthConfig.extract_failure_jump}
BLOCKED = stats(requests=10, errors=10, articles=0, no_article=0)
QUIET = stats(requests=3, errors=0, articles=0, no_article=0)
REDESIGNED = stats(requests=20, errors=0, articles=2, no_article=18)

# Each case: the runs (days after T0, stats) and the problem kinds announced by each run. Every announced problem
# is recorded as notified, as the pipeline does after a successful send.
CASES = {
    "healthy": ([(0, HEALTHY), (1, HEALTHY), (5, HEALTHY)], [[], [], []]),
    "blocked once, announced once, again after recovery": (
        [(0, HEALTHY), (0.1, BLOCKED), (0.2, BLOCKED), (0.3, HEALTHY), (0.4, BLOCKED)],
        [[], ["errors"], [], [], ["errors"]],
    ),
    "stale after stale_days without articles": (
        [(0, HEALTHY), (1, QUIET), (2.9, QUIET), (3.5, QUIET), (4, QUIET), (4.5, HEALTHY), (9, QUIET)],
        [[], [], [], ["stale"], [], [], ["stale"]],
    ),
    "never produced an article": ([(0, QUIET), (2, QUIET), (3.1, QUIET)], [[], [], ["stale"]]),
    "extraction failure jump": (
        [(0, HEALTHY), (1, REDESIGNED), (2, REDESIGNED), (3, HEALTHY), (4, REDESIGNED)],
        [[], ["extraction"], [], [], ["extraction"]],
    ),
    "too few pages to judge extraction": (
        [(0, HEALTHY), (1, stats(articles=1, no_article=3))],
        [[], []],
    ),
    "blocked for days is two problems, each once": (
        [(0, HEALTHY), (1, BLOCKED), (2, BLOCKED), (4, BLOCKED), (5, BLOCKED)],
        [[], ["errors"], [], ["stale"], []],
    ),
}


@pytest.mark.parametrize(("runs", "expected"), list(CASES.values()), ids=list(CASES))
def test_check_health(tmp_path: Path, runs: list, expected: list) -> None:
    state = open_state(tmp_path / "state.sqlite")
    try:
        announced = []
        for days, run_stats in runs:
            now = T0 + timedelta(days=days)
            problems = check_health(run_stats, ["hdblog"], state, now, stale_days=3, extract_failure_jump=0.5)
            assert all(p.source == "hdblog" and p.summary.startswith("hdblog: ") for p in problems)
            announced.append(sorted(p.kind for p in problems))
            record_notified(state, problems, now)
        assert announced == expected
    finally:
        state.close()


def test_an_unsent_problem_is_announced_by_the_next_run(tmp_path: Path) -> None:
    state = open_state(tmp_path / "state.sqlite")
    try:
        assert check_health(BLOCKED, ["hdblog"], state, T0, **LIMITS) != []
        # Not recorded as notified (the send failed): still announced.
        assert [p.kind for p in check_health(BLOCKED, ["hdblog"], state, T0 + timedelta(hours=1), **LIMITS)] == ["errors"]
    finally:
        state.close()


def test_pipeline_sends_one_health_message_per_problem_and_no_repeat(
    tmp_path: Path, stand_in_apprise: SlackStandIn
) -> None:
    slack_server = stand_in_apprise
    path = tmp_path / "state.sqlite"

    def crawl(run_stats: dict) -> dict:
        state = open_state(path)
        collector = MemoryStatsCollector(get_crawler())
        for key, value in run_stats.items():
            collector.set_value(key, value)
        pipeline = HealthPipeline([slack_target("ops")], state, collector, ["hdblog", "dday"], stale_days=3.0,
                                  extract_failure_jump=0.5, retries=1, backoff=0.01)

        async def run() -> None:
            await pipeline.close_spider()

        try:
            asyncio.run(run())
        finally:
            state.close()
        return collector.get_stats()

    both_blocked = {**BLOCKED, **stats(requests=4, errors=4, articles=0, no_article=0, source="dday")}
    slack_server.respond_with([500])  # the first health message needs its retry
    first = crawl(both_blocked)
    second = crawl(both_blocked)
    texts = [slack_text(p) for p in slack_server.delivered]
    assert len(texts) == 2
    assert "hdblog: all 10 requests failed" in texts[0] and "dday: all 4 requests failed" in texts[1]
    assert first["alerts/health_sent"] == 2 and "alerts/health_sent" not in second
