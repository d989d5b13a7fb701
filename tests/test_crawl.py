"""The whole product: real ``scrapy crawl news`` runs against the sample outlets on loopback,
with alerts delivered to a real SMTP server and a stand-in for Slack's webhook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crawler.items import ARCHIVE_FIELDS
from samples.apprise_stand_ins import subprocess_env
from samples.notify_servers import SlackStandIn, SmtpStandIn
from samples.server import Outlets
from tests.crawl import CrawlResult, default_topics, run_crawl

pytestmark = pytest.mark.slow  # real `scrapy crawl news` runs

SLACK_TOKENS = ("T0NEWSWTCH", "B0NEWSWTCH", "SlackSecretTokenXyz123")
SMTP_PASSWORD = "SmtpPassw0rdNewswatch"
FAST_ALERTS = {"ALERT_RETRIES": "1", "ALERT_BACKOFF": "0.05"}


def make_config(outlets: Outlets, tmp_path: Path, alerts: list[dict[str, Any]] | None = None,
                **overrides: Any) -> dict[str, Any]:
    crawl = {"download_timeout": 2, "sitemap_max_age_days": 36500}
    return outlets.config(tmp_path, topics=default_topics(), alerts=alerts or [], crawl=crawl, **overrides)


def slack_alert(slack: SlackStandIn, **extra: Any) -> dict[str, Any]:
    return {"name": "desk-slack", "url": "slack://${NW_SLACK_A}/${NW_SLACK_B}/${NW_SLACK_C}", **extra}


def alert_env(slack: SlackStandIn) -> dict[str, str]:
    return {**subprocess_env(slack.url), "NW_SLACK_A": SLACK_TOKENS[0],
            "NW_SLACK_B": SLACK_TOKENS[1], "NW_SLACK_C": SLACK_TOKENS[2], "NW_SMTP_PASSWORD": SMTP_PASSWORD}


def email_alert(smtp: SmtpStandIn, **extra: Any) -> dict[str, Any]:
    url = smtp.apprise_url().replace(SMTP_PASSWORD, "${NW_SMTP_PASSWORD}")
    return {"name": "desk-email", "url": url, **extra}


def expected_articles(outlets: Outlets, phase: int = 1) -> list[dict[str, Any]]:
    return [a for a in outlets.expected()["articles"] if a["phase"] <= phase]


def slack_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)


def requested_paths(outlets: Outlets, site: str) -> list[str]:
    return [r.bare_path for r in outlets.requests if r.site == site]


# --- issue 2: one crawl, end to end ----------------------------------------------------------------

@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One full crawl with Slack and email targets, shared by the assertions below."""
    tmp = tmp_path_factory.mktemp("first-run")
    with Outlets() as out, SlackStandIn() as slack, SmtpStandIn(password=SMTP_PASSWORD) as smtp:
        config = make_config(out, tmp, alerts=[slack_alert(slack), email_alert(smtp)])
        result = run_crawl(config, tmp, env=alert_env(slack), settings=FAST_ALERTS)
        out.release_slow()
        return {"result": result, "expected": out.expected(), "requests": list(out.requests),
                "slack": list(slack.delivered), "mail": list(smtp.messages), "log": result.log,
                "bases": {s: out.base(s) for s in ("techmag", "blogit", "listit", "wire", "elsewhere")}}


def test_crawl_exits_cleanly(first_run: dict[str, Any]) -> None:
    result: CrawlResult = first_run["result"]
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats["finish_reason"] == "finished"
    assert "Traceback" not in result.log


def test_archive_holds_exactly_the_matching_stories(first_run: dict[str, Any]) -> None:
    result: CrawlResult = first_run["result"]
    articles = [a for a in first_run["expected"]["articles"] if a["phase"] == 1]
    want = {a["url"]: a for a in articles if a["outcome"] in ("archived", "duplicate")}
    got = result.by_url()
    assert sorted(got) == sorted(want)
    assert len(result.archive) == len(got), "a story was archived twice"
    for url, article in want.items():
        record = got[url]
        assert sorted(record["topics"]) == sorted(article["topics"]), url  # nothing from boilerplate
        assert record["language"] == article["language"], url
        assert record["source"] == article["site"]
        assert record["text"] and record["title"]
        for match in record["matches"]:
            assert match["topic"] in record["topics"] and match["field"] in ("title", "body")
            assert match["snippet"]
        assert "html" not in record


def test_archive_records_have_the_documented_fields(first_run: dict[str, Any]) -> None:
    fields = set(ARCHIVE_FIELDS)
    for record in first_run["result"].archive:
        assert set(record) == fields
    by_path = {r["url"].split("/", 3)[3]: r for r in first_run["result"].archive}
    record = by_path["news/huawei-ascend-910c-ai-cluster-shipments"]
    assert record["published"].startswith("2026-03")
    assert record["authors"] and all(isinstance(a, str) and a for a in record["authors"])


def test_italian_pages_keep_their_accents(first_run: dict[str, Any]) -> None:
    """The windows-1252 page declares its charset only in a <meta> tag."""
    records = first_run["result"].by_url()
    url = first_run["bases"]["blogit"] + "/2026/03/10/caccia-alle-h800-mercato-parallelo/"
    text = records[url]["text"]
    assert "Perché" in text and "è" in text and "“" in text
    assert "\ufffd" not in text and "Ã" not in text


def test_bad_inputs_are_counted_and_the_crawl_goes_on(first_run: dict[str, Any]) -> None:
    result: CrawlResult = first_run["result"]
    for bad in first_run["expected"]["bad_inputs"]:
        assert result.stat(bad["stat"]) >= 1, bad
    # the redirect target on another site and the robots-forbidden page are never requested
    assert not [r for r in first_run["requests"] if r.site == "elsewhere"]
    assert "/private/draft-ascend-roadmap" not in [r.bare_path for r in first_run["requests"]]
    # each problem is logged once, with its URL
    for reason in ("HTTP 404", "HTTP 500", "timed out", "redirects to another site", "not an HTML page"):
        assert reason in result.log


def test_each_article_is_fetched_once_even_with_tracking_links(first_run: dict[str, Any]) -> None:
    paths = [r.bare_path for r in first_run["requests"] if r.site == "techmag"]
    assert paths.count("/news/deepseek-r1-reasoning-model-open-weights") == 1
    article_paths = [p for p in paths if p.startswith("/news/")]
    assert len(article_paths) == len(set(article_paths))


def test_listing_pagination_and_follow_regex(first_run: dict[str, Any]) -> None:
    paths = {r.bare_path for r in first_run["requests"] if r.site == "listit"}
    assert {"/notizie/", "/notizie/page/2/", "/notizie/page/3/"} <= paths
    assert "/notizie/2026/satellite-italiano-agricoltura/" in paths  # only linked from page 3
    assert not paths & {"/chi-siamo/", "/tag/ai/", "/autore/mario/"}


def test_slack_gets_each_new_story_once(first_run: dict[str, Any]) -> None:
    originals = [r for r in first_run["result"].archive if not r["duplicate_of"]]
    payloads = first_run["slack"]
    assert len(payloads) == len(originals)
    for record in originals:
        # The story's own link (a later language's alert also links it, as "Same story as: …").
        hits = [p for p in payloads if f"<{record['url']}|" in slack_text(p)
                and f"<{record['url']}|Same story as" not in slack_text(p)]
        assert len(hits) == 1, record["url"]
        text = slack_text(hits[0])
        assert record["source"] in text
        for topic in record["topics"]:
            assert topic in text
    for dup in (r for r in first_run["result"].archive if r["duplicate_of"]):
        assert not [p for p in payloads if dup["url"] in slack_text(p)]
    # no "Apprise" footer or remote icon unless the target URL asks for them
    assert not [p for p in payloads if "Apprise" in slack_text(p) or "icon_url" in p]


def test_email_gets_each_new_story_once_with_subject_and_body(first_run: dict[str, Any]) -> None:
    originals = [r for r in first_run["result"].archive if not r["duplicate_of"]]
    mails = first_run["mail"]
    assert len(mails) == len(originals)
    for record in originals:
        hits = [m for m in mails if record["title"] in str(m["Subject"])]
        assert len(hits) == 1, record["title"]
        message = hits[0]
        assert str(message["Subject"]).startswith("[newswatch] ")
        for topic in record["topics"]:
            assert topic in str(message["Subject"])
        plain = message.get_body(preferencelist=("plain",))
        assert plain is not None and record["url"] in plain.get_content()
        assert record["source"] in plain.get_content()


def test_no_secret_reaches_log_stats_or_archive(first_run: dict[str, Any]) -> None:
    result: CrawlResult = first_run["result"]
    blobs = [result.log, json.dumps(result.stats), json.dumps(result.archive)]
    for secret in (SLACK_TOKENS[2], SMTP_PASSWORD):
        for blob in blobs:
            assert secret not in blob


def test_crawl_summary_is_logged(first_run: dict[str, Any]) -> None:
    log = first_run["log"]
    assert "Crawl summary" in log
    assert first_run["result"].stat("summary/sources_crawled") == 4


# --- configuration errors stop the run before any request --------------------------------------------

@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda c: c["sources"][0].update(follow="x"), "sources[0].follow"),
        (lambda c: c.update(alerts=[{"url": "slack://${NW_NOT_SET_ANYWHERE}/b/c"}]), "alerts[0].url"),
        (lambda c: c["sources"][2]["listings"][0].update(follow="(["), "listings[0].follow"),
    ],
)
def test_config_error_stops_before_any_request(outlets: Outlets, tmp_path: Path, change: Any, key: str) -> None:
    config = make_config(outlets, tmp_path)
    change(config)
    result = run_crawl(config, tmp_path)
    assert result.returncode != 0
    errors = [line for line in result.log.splitlines() if "Configuration error" in line]
    assert len(errors) == 1 and key in errors[0] and "newswatch.yaml" in errors[0]
    assert outlets.requests == []


def test_unknown_source_argument_is_a_config_error(outlets: Outlets, tmp_path: Path) -> None:
    result = run_crawl(make_config(outlets, tmp_path), tmp_path, "sources=techmag,nosuch")
    assert result.returncode != 0
    assert "unknown source 'nosuch'" in result.log
    assert outlets.requests == []


def test_sources_argument_restricts_the_crawl(outlets: Outlets, tmp_path: Path) -> None:
    result = run_crawl(make_config(outlets, tmp_path), tmp_path, "sources=listit")
    assert result.returncode == 0
    assert {r.site for r in outlets.requests} == {"listit"}
    assert {r["source"] for r in result.archive} == {"listit"}


def test_requests_name_the_project(first_run: dict[str, Any]) -> None:
    agents = {r.headers.get("User-Agent", "") for r in first_run["requests"]}
    assert agents and all(a.startswith("newswatch/") for a in agents)


def test_user_agent_from_config(outlets: Outlets, tmp_path: Path) -> None:
    config = make_config(outlets, tmp_path)
    config["crawl"]["user_agent"] = "newswatch-test-desk (+mailto:desk@example.org)"
    assert run_crawl(config, tmp_path, "sources=listit").returncode == 0
    assert {r.headers.get("User-Agent") for r in outlets.requests} == {config["crawl"]["user_agent"]}
