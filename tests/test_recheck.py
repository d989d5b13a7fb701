"""Stories that change: an article dropped for matching no topic is fetched again when its feed shows a
newer ``updated``, and alerts if it now matches; an alerted story is never fetched or alerted again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from samples.notify_servers import SlackStandIn
from tests.crawl import CrawlResult, default_topics, run_crawl
from tests.support.editable import EditableOutlet, Entry
from tests.test_crawl import FAST_ALERTS, alert_env, slack_alert, slack_text

pytestmark = pytest.mark.slow  # real `scrapy crawl news` runs

MARCH_2 = "2026-03-02T10:00:00+01:00"
MARCH_3 = "2026-03-03T09:00:00+01:00"


def config(outlet: EditableOutlet, tmp_path: Path, slack: SlackStandIn, **crawl: Any) -> dict[str, Any]:
    return {"sources": [{"name": "editable", "language": "en", "feeds": [outlet.url("/atom.xml")]}],
            "topics": default_topics(), "alerts": [slack_alert(slack)],
            "crawl": {"download_timeout": 2, **crawl},
            "state": str(tmp_path / "state.sqlite"), "archive": str(tmp_path / "archive.jsonl")}


def crawl(outlet: EditableOutlet, tmp_path: Path, slack: SlackStandIn, name: str, **crawl_options: Any
          ) -> CrawlResult:
    outlet.clear()
    result = run_crawl(config(outlet, tmp_path, slack, **crawl_options), tmp_path, env=alert_env(slack),
                       settings=FAST_ALERTS, name=name)
    assert result.returncode == 0, result.log[-3000:]
    return result


def test_an_update_that_adds_a_topic_alerts_and_an_alerted_story_is_not_alerted_again(
        tmp_path: Path, slack_server: SlackStandIn) -> None:
    entries = [Entry("/news/cpu", "A desktop CPU, reviewed", "amd-cpu-review.html", MARCH_2, MARCH_2),
               Entry("/news/ascend", "Huawei Ascend 910C clusters ship", "ascend-910c-cluster.html", MARCH_2,
                     MARCH_2)]
    with EditableOutlet(entries) as outlet:
        first = crawl(outlet, tmp_path, slack_server, "first")
        assert [r["url"] for r in first.archive] == [outlet.url("/news/ascend")]
        assert len(slack_server.delivered) == 1

        unchanged = crawl(outlet, tmp_path, slack_server, "unchanged")
        assert outlet.article_fetches() == {}
        assert unchanged.stat("newswatch/rechecked") == 0

        # The off-topic page is rewritten about DeepSeek; the alerted story gets an edit too.
        outlet.edit("/news/cpu", title="DeepSeek R1 weights are out", body="deepseek-r1.html", updated=MARCH_3)
        outlet.edit("/news/ascend", updated=MARCH_3)
        updated = crawl(outlet, tmp_path, slack_server, "updated")
        assert outlet.article_fetches() == {"/news/cpu": 1}
        assert updated.stat("newswatch/rechecked") == 1
        assert len(slack_server.delivered) == 2
        assert outlet.url("/news/cpu") in slack_text(slack_server.delivered[-1])

        again = crawl(outlet, tmp_path, slack_server, "again")
        assert outlet.article_fetches() == {}
        assert len(slack_server.delivered) == 2

    records = again.by_url()
    assert sorted(records) == sorted([outlet.url("/news/cpu"), outlet.url("/news/ascend")])
    assert len(again.archive) == 2
    rewritten = records[outlet.url("/news/cpu")]
    assert rewritten["title"] == "DeepSeek R1 weights are out"  # the site's name is gone from <title>
    assert (rewritten["published"], rewritten["published_precision"]) == (MARCH_2, "second")
    assert rewritten["modified"] == MARCH_3
    assert rewritten["authors"] == ["Anna Bianchi"]


def test_rechecks_are_capped_per_source_and_the_rest_wait_for_the_next_run(
        tmp_path: Path, slack_server: SlackStandIn) -> None:
    entries = [Entry(f"/news/cpu-{n}", f"A desktop CPU, reviewed ({n})", "amd-cpu-review.html", MARCH_2, MARCH_2)
               for n in range(3)]
    with EditableOutlet(entries) as outlet:
        first = crawl(outlet, tmp_path, slack_server, "first", max_rechecks_per_source=2)
        assert first.archive == [] and len(outlet.article_fetches()) == 3
        for entry in entries:
            outlet.edit(entry.path, updated=MARCH_3)
        capped = crawl(outlet, tmp_path, slack_server, "capped", max_rechecks_per_source=2)
        assert sum(outlet.article_fetches().values()) == 2
        assert capped.stat("newswatch/rechecked") == 2 and capped.stat("newswatch/recheck_deferred") == 1
        rest = crawl(outlet, tmp_path, slack_server, "rest", max_rechecks_per_source=2)
        assert sum(outlet.article_fetches().values()) == 1
        assert rest.stat("newswatch/rechecked") == 1
        done = crawl(outlet, tmp_path, slack_server, "done", max_rechecks_per_source=2)
        assert outlet.article_fetches() == {}
        assert done.stat("newswatch/rechecked") == 0
    assert slack_server.delivered == []
