"""Scheduled runs over one state file: nothing fetched or alerted twice, new stories alerted once,
syndicated copies linked to the first copy, overlapping runs and baseline runs behave."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from crawler.state import open_state
from samples.notify_servers import SlackStandIn, own_story
from samples.server import Outlets
from tests.crawl import run_crawl
from tests.test_crawl import FAST_ALERTS, alert_env, make_config, slack_alert, slack_text

pytestmark = pytest.mark.slow  # real `scrapy crawl news` runs


def article_requests(outlets: Outlets) -> list[str]:
    """Requests for article pages (not feeds, sitemaps, listings or robots.txt)."""
    urls = {a["url"] for a in outlets.expected()["articles"]}
    return [outlets.url(r.site, r.bare_path) for r in outlets.requests
            if outlets.url(r.site, r.bare_path) in urls]


def alerted_urls(slack: SlackStandIn) -> list[str]:
    out = []
    for payload in slack.delivered:
        text = own_story(slack_text(payload))
        out += [u for u in _all_article_urls if u in text]
    return out


_all_article_urls: list[str] = []


@pytest.fixture(autouse=True)
def _known_urls(outlets: Outlets) -> None:
    _all_article_urls[:] = [a["url"] for a in outlets.expected()["articles"]]


def test_second_run_fetches_nothing_again_and_alerts_nothing(outlets: Outlets, slack_server: SlackStandIn,
                                                             tmp_path: Path) -> None:
    config = make_config(outlets, tmp_path, alerts=[slack_alert(slack_server)])
    first = run_crawl(config, tmp_path, env=alert_env(slack_server), settings=FAST_ALERTS, name="first")
    assert first.returncode == 0
    assert article_requests(outlets)
    sent_first = len(slack_server.delivered)
    assert sent_first == len([r for r in first.archive if not r["duplicate_of"]]) > 0
    outlets.clear_requests()

    second = run_crawl(config, tmp_path, env=alert_env(slack_server), settings=FAST_ALERTS, name="second")
    assert second.returncode == 0
    assert article_requests(outlets) == []
    assert len(slack_server.delivered) == sent_first
    assert len(second.archive) == len(first.archive)  # nothing appended
    # unchanged feeds and sitemaps cost a 304
    assert second.stat("newswatch/not_modified") >= 3
    assert second.stat("newswatch/skipped_known") > 0
    # pages that failed (404, 500, timeout) are tried again: their feed is not treated as unchanged
    failed = {outlets.url(b["site"], b["path"]) for b in outlets.expected()["bad_inputs"]
              if b["kind"] in ("status", "slow")}
    assert failed <= {outlets.url(r.site, r.bare_path) for r in outlets.requests}


def test_story_added_between_runs_alerts_once(outlets: Outlets, slack_server: SlackStandIn,
                                              tmp_path: Path) -> None:
    config = make_config(outlets, tmp_path, alerts=[slack_alert(slack_server)])
    assert run_crawl(config, tmp_path, env=alert_env(slack_server), settings=FAST_ALERTS).returncode == 0
    before = set(alerted_urls(slack_server))
    new = [a["url"] for a in outlets.expected()["articles"] if a["phase"] == 2]
    assert new and not before & set(new)

    outlets.set_phase(2)
    outlets.clear_requests()
    for _ in range(2):  # the run after the new story must not repeat it either
        result = run_crawl(config, tmp_path, env=alert_env(slack_server), settings=FAST_ALERTS)
        assert result.returncode == 0
    alerted = alerted_urls(slack_server)
    for url in new:
        assert alerted.count(url) == 1
    assert len(alerted) == len(set(alerted))
    fetched = article_requests(outlets)
    assert sorted(fetched) == sorted(new)  # only the new pages were fetched, once


@pytest.mark.parametrize("first_source, second_source", [("techmag", "wire"), ("wire", "techmag")])
def test_syndicated_copies_are_duplicates_of_the_first_copy(outlets: Outlets, slack_server: SlackStandIn,
                                                            tmp_path: Path, first_source: str,
                                                            second_source: str) -> None:
    config = make_config(outlets, tmp_path, alerts=[slack_alert(slack_server)])
    first = run_crawl(config, tmp_path, f"sources={first_source}", env=alert_env(slack_server),
                      settings=FAST_ALERTS, name="first")
    second = run_crawl(config, tmp_path, f"sources={second_source}", env=alert_env(slack_server),
                       settings=FAST_ALERTS, name="second")
    assert first.returncode == second.returncode == 0
    records = second.archive
    by_url = {r["url"]: r for r in records}
    ids = {r["story_id"]: r for r in records}
    pairs = [a for a in outlets.expected()["articles"] if a["outcome"] == "duplicate"]
    assert len(pairs) == 3
    for copy in pairs:
        site, path = copy["duplicate_of"].split("/", 1)
        original_url = outlets.url(site, "/" + path)
        copy_rec, orig_rec = by_url[copy["url"]], by_url[original_url]
        later, earlier = (copy_rec, orig_rec) if first_source == "techmag" else (orig_rec, copy_rec)
        # linked one way: the later copy points at the first one, never both
        assert later["duplicate_of"] == earlier["story_id"]
        assert later["duplicate_kind"] == copy["duplicate_kind"]
        assert earlier["duplicate_of"] is None
        assert later["duplicate_of"] in ids
    # the different story on the same subject is not a duplicate
    different = by_url[outlets.url("wire", "/story/deepseek-app-tops-charts")]
    assert different["duplicate_of"] is None
    # duplicates send no alert
    alerted = alerted_urls(slack_server)
    for record in records:
        assert alerted.count(record["url"]) == (0 if record["duplicate_of"] else 1)
    assert second.stat("dedup/exact") + second.stat("dedup/near") == 3


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_overlapping_run_exits_at_once_touching_nothing(outlets: Outlets, slack_server: SlackStandIn,
                                                       tmp_path: Path) -> None:
    config = make_config(outlets, tmp_path, alerts=[slack_alert(slack_server)])
    # the first run leaves alerts pending (Slack is down): the overlapping run must not send them
    slack_server.default_status = 500
    first = run_crawl(config, tmp_path, "sources=listit", env=alert_env(slack_server), settings=FAST_ALERTS)
    assert first.returncode == 0 and first.stat("alerts/pending") > 0
    slack_server.default_status = 200
    slack_server.clear()
    outlets.clear_requests()
    state_file = Path(config["state"])
    archive = Path(config["archive"])
    before = (_digest(state_file), _digest(archive))

    holder = open_state(state_file)  # stands in for a run that is still going
    assert holder.acquire_lock()
    try:
        outlets.set_phase(2)
        result = run_crawl(config, tmp_path, env=alert_env(slack_server), settings=FAST_ALERTS)
    finally:
        holder.release_lock()
        holder.close()
    assert result.returncode == 0
    assert "Another newswatch run is using" in result.log
    assert outlets.requests == []
    assert slack_server.received == []
    assert (_digest(state_file), _digest(archive)) == before
    assert result.stat("item_scraped_count") == 0


def test_baseline_records_without_alerting_then_only_new_stories_alert(
        outlets: Outlets, slack_server: SlackStandIn, tmp_path: Path) -> None:
    config = make_config(outlets, tmp_path, alerts=[slack_alert(slack_server)])
    baseline = run_crawl(config, tmp_path, "baseline=1", env=alert_env(slack_server), settings=FAST_ALERTS)
    assert baseline.returncode == 0
    assert baseline.archive  # recorded and archived
    assert slack_server.delivered == []
    assert "Baseline run" in baseline.log

    outlets.set_phase(2)
    result = run_crawl(config, tmp_path, env=alert_env(slack_server), settings=FAST_ALERTS)
    assert result.returncode == 0
    new = sorted(a["url"] for a in outlets.expected()["articles"] if a["phase"] == 2)
    assert sorted(alerted_urls(slack_server)) == new


def test_corrupt_state_stops_the_run_and_keeps_the_file(outlets: Outlets, tmp_path: Path) -> None:
    config = make_config(outlets, tmp_path)
    state_file = Path(config["state"])
    state_file.write_bytes(b"this is not a database" * 100)
    before = _digest(state_file)
    result = run_crawl(config, tmp_path)
    assert result.returncode != 0
    assert str(state_file) in result.log
    assert outlets.requests == []
    assert _digest(state_file) == before
