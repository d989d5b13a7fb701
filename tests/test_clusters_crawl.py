"""One story across languages, end to end: real crawls of the sample outlets on loopback.

Phase 3 publishes a TechMag story and BlogIT's Italian rewrite of it (linking it), a second TechMag
story, and a BlogIT story on the same subject that is a different story; phase 4, one run later,
BlogIT's rewrite of the second TechMag story (citing TechMag by name, without a link).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from samples.notify_servers import SlackStandIn, SmtpStandIn
from samples.server import Outlets
from tests.crawl import run_crawl
from tests.test_crawl import (
    FAST_ALERTS,
    SMTP_PASSWORD,
    alert_env,
    email_alert,
    expected_articles,
    make_config,
    slack_alert,
)

pytestmark = pytest.mark.slow

EN_A = ("techmag", "/news/huawei-cloudmatrix-384-deepseek-r1-serving")
IT_A = ("blogit", "/2026/03/20/cloudmatrix-384-deepseek-r1-huawei/")
OTHER_IT = ("blogit", "/2026/03/22/ascend-910c-rese-smic-trendforce/")
EN_B = ("techmag", "/news/deepseek-v3-2-exp-day-zero-ascend-support")
IT_B = ("blogit", "/2026/03/22/deepseek-v3-2-exp-prezzi-dimezzati-ascend/")


def text_of(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def mentioning(payloads: list[Any], needle: str) -> list[str]:
    return [text_of(p) for p in payloads if needle in text_of(p)]


@pytest.fixture
def runs(outlets: Outlets, tmp_path: Path) -> dict[str, Any]:  # noqa: F811
    """Phase 3, then phase 4 in a second run on the same state; a Slack target alerted per language (the
    default) and an email target alerted once per cluster."""
    with SlackStandIn() as slack, SmtpStandIn(password=SMTP_PASSWORD) as smtp:
        config = make_config(outlets, tmp_path, alerts=[slack_alert(slack), email_alert(smtp, per="cluster")])
        outlets.set_phase(3)
        first = run_crawl(config, tmp_path, env=alert_env(slack), settings=FAST_ALERTS)
        slack_first, mail_first = list(slack.delivered), list(smtp.messages)
        slack.clear()
        smtp.clear()
        outlets.set_phase(4)
        second = run_crawl(config, tmp_path, env=alert_env(slack), settings=FAST_ALERTS, name="second")
        return {"first": first, "second": second, "slack": [slack_first, list(slack.delivered)],
                "mail": [mail_first, list(smtp.messages)], "url": lambda site_path: outlets.url(*site_path),
                "outlets": outlets}


def test_a_rewrite_in_the_same_run_and_in_a_later_run_joins_the_original(runs: dict[str, Any]) -> None:
    first, second, url = runs["first"], runs["second"], runs["url"]
    assert first.returncode == 0 and second.returncode == 0, first.log[-3000:] + second.log[-3000:]
    records = {r["url"]: r for r in second.archive}  # the archive after both runs
    en_a, it_a, other, en_b, it_b = (records[url(p)] for p in (EN_A, IT_A, OTHER_IT, EN_B, IT_B))
    # Same run: the Italian rewrite that links its source. Which of the two is recorded first depends on
    # scheduling; the other joins its cluster.
    assert en_a["story_cluster"] == it_a["story_cluster"] in (en_a["story_id"], it_a["story_id"])
    joiner = it_a if it_a["story_cluster"] == en_a["story_id"] else en_a
    assert f"link:{url(EN_A)}" in joiner["cluster_evidence"]
    # A later run: the rewrite that only cites TechMag by name, found through the state's index.
    assert it_b["story_cluster"] == en_b["story_id"]
    assert "cite:techmag" in it_b["cluster_evidence"]
    # A different story on the same subject (Ascend 910C, CloudMatrix, SMIC, DeepSeek) keeps its own.
    assert other["story_cluster"] == other["story_id"]
    assert other["cluster_evidence"] == []
    # Every story of the sample outlets: the cluster of the story in another language it tells again
    # (expected.yaml's same_story), else its own, or its original's when a duplicate.
    for entry in expected_articles(runs["outlets"], 4):
        record = records.get(entry["url"])
        if record is None:
            continue  # not a story (no match, bad input) or a duplicate archived under its own URL
        if entry.get("same_story"):
            site, path = entry["same_story"].split("/", 1)
            other = records[url((site, "/" + path))]
            # One cluster (rooted at whichever copy was recorded first: the wire's copy of a TechMag
            # story may be the original the TechMag page duplicates).
            assert record["story_cluster"] == other["story_cluster"], entry["url"]
        else:
            assert record["story_cluster"] == (record["duplicate_of"] or record["story_id"]), entry["url"]
    assert first.stat("clusters/joined") == 2 and second.stat("clusters/joined") == 1


def test_the_later_language_alerts_and_names_the_first(runs: dict[str, Any]) -> None:
    url = runs["url"]
    records = {r["url"]: r for r in runs["second"].archive}
    slack_first, slack_second = runs["slack"]
    # Same run: whichever was recorded second names the first.
    en_first = records[url(EN_A)]["story_cluster"] == records[url(EN_A)]["story_id"]
    same_run = (EN_A, IT_A, "techmag (EN)") if en_first else (IT_A, EN_A, "blogit (IT)")
    for payloads, (first, later, label) in ((slack_first, same_run), (slack_second, (EN_B, IT_B, "techmag (EN)"))):
        alerts = mentioning(payloads, f"<{url(later)}|")
        assert len(alerts) == 1, later
        assert "Same story as:" in alerts[0] and f"<{url(first)}|Same story as" in alerts[0] and label in alerts[0]
        own = [text for text in mentioning(payloads, f"<{url(first)}|") if f"<{url(later)}|" not in text]
        # The first copy alerted once, in its own run, naming nothing.
        assert len(own) == (1 if payloads is slack_first else 0)
        assert all("Same story as:" not in text for text in own)


def test_a_target_per_cluster_is_alerted_once_per_story(runs: dict[str, Any]) -> None:
    url = runs["url"]
    mail_first, mail_second = runs["mail"]

    def carrying(mails: list[Any], site_path: tuple[str, str]) -> int:
        return sum(url(site_path) in m.get_body(preferencelist=("plain",)).get_content() for m in mails)

    assert carrying(mail_first, EN_A) + carrying(mail_first, IT_A) == 1  # whichever was recorded first
    assert carrying(mail_first, EN_B) == 1
    assert carrying(mail_first, OTHER_IT) == 1  # a different story
    assert carrying(mail_second, IT_B) == 0 and len(mail_second) == 0
    assert runs["second"].stat("alerts/same_story") == 1
