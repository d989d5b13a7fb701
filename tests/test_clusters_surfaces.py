"""What users see of story clusters: alert text and digests, the alert rules per target, the config
options, review (show, list --clusters, the report's spread) and explain."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import lxml.html
import pytest
import yaml
from scrapy.utils.test import get_crawler

from crawler.alerts.formatters import EMAIL, SLACK, TEXT, format_digest, format_story, story_payload
from crawler.clusters import story_evidence
from crawler.config import AlertTarget, ClusterConfig, ConfigError, DedupConfig, load_config
from crawler.items import ARCHIVE_FIELDS, Story, story_id_for
from crawler.review.cli import main as review_main
from crawler.state import ArticleCommit, ClusterEntry, SqliteState, StoryFingerprint, StoryInfo
from pipelines.commit import CommitPipeline
from tests.test_clusters import EN, IT, OTHER_IT

EN_URL = "https://www.tomshardware.com/news/cloudmatrix-384-deepseek-r1"
IT_URL = "https://www.hdblog.it/2026/03/20/cloudmatrix-deepseek/"


def record(**overrides: Any) -> dict[str, Any]:
    base = {name: None for name in ARCHIVE_FIELDS}
    base.update({"story_id": "it0000000000000a", "url": IT_URL, "source": "hdblog", "title": "CloudMatrix e DeepSeek",
                 "language": "it", "topics": ["ascend"], "matches": [], "text": IT, "authors": [],
                 "published": "2026-03-20T14:30:00+01:00", "story_cluster": "en0000000000000a",
                 "cluster_evidence": ["c:910C"]})
    base.update(overrides)
    return base


SAME_AS = {"title": "Huawei's CloudMatrix 384 serves DeepSeek-R1", "url": EN_URL, "source": "tomshardware",
           "language": "en", "at": "2026-03-20T08:00:00+00:00"}


@pytest.mark.parametrize("kind", [SLACK, EMAIL, TEXT])
def test_a_later_language_names_the_first_copy(kind: str) -> None:
    payload = {**story_payload(record()), "same_as": SAME_AS}
    body = format_story(kind, payload).body
    assert "Same story as: Huawei's CloudMatrix 384 serves DeepSeek-R1 — tomshardware (EN), 2026-03-20 08:00 UTC" \
        in body.replace("&#x27;", "'")
    assert EN_URL in body
    assert "Same story as" not in format_story(kind, story_payload(record())).body


@pytest.mark.parametrize("kind", [SLACK, EMAIL, TEXT])
def test_a_digest_folds_a_clusters_copies_into_one_entry(kind: str) -> None:
    en = story_payload(record(story_id="en0000000000000a", url=EN_URL, source="tomshardware", language="en",
                              title="CloudMatrix serves R1", story_cluster="en0000000000000a"))
    it = story_payload(record())
    it2 = story_payload(record(story_id="it0000000000000b", url="https://www.tomshw.it/x", source="tomshw-it"))
    other = story_payload(record(story_id="zz0000000000000a", url="https://x.example/o", title="Another story",
                                 story_cluster="zz0000000000000a"))
    body = format_digest(kind, [en, it, it2, other]).body
    assert "also covered by: hdblog (IT), tomshw-it (IT)" in body
    assert body.count("also covered by") == 1
    assert "CloudMatrix e DeepSeek" not in body  # the copies are named by outlet, not listed again
    assert "Another story" in body


def _target(name: str, per: str = "language") -> AlertTarget:
    return AlertTarget(id=name, url="json://localhost", privacy_url="json://localhost", per=per)


def _info(story_id: str, language: str) -> StoryInfo:
    return StoryInfo(story_id, f"https://{story_id}.example/", f"src-{story_id}", f"Title {story_id}", language,
                     "first", time.time() - 3600, ())


@pytest.mark.parametrize("earlier, per_language, per_cluster, named", [
    ([], True, True, None),  # a new story: every target
    ([_info("first", "en")], True, False, "first"),  # the first Italian copy of an English story
    ([_info("first", "en"), _info("it1", "it")], False, False, None),  # a second Italian copy
    ([_info("first", "it")], False, False, None),  # an Italian story already in its cluster
])
def test_who_is_alerted_for_a_story_of_a_cluster(tmp_path: Path, earlier: list[StoryInfo], per_language: bool,
                                                 per_cluster: bool, named: str | None) -> None:
    crawler = get_crawler()
    state = SqliteState(tmp_path / "state.sqlite")
    pipeline = CommitPipeline(state, crawler.stats, [_target("desk"), _target("digest", per="cluster")],
                              baseline=False, on_failure=lambda exc: None)
    item = Story(url=IT_URL, source="hdblog", text=IT, title="t", language="it", topics=["ascend"],
                 fetched_at="2026-03-20T14:00:00+00:00")
    item.cluster_earlier = earlier
    rows = pipeline.alerts_for(item, item.record())
    assert [target for target, _ in rows] == ["desk"] * per_language + ["digest"] * per_cluster
    for _, payload in rows:
        assert (payload.get("same_as") or {}).get("url") == (f"https://{named}.example/" if named else None)
    skipped = 2 - len(rows)
    assert crawler.stats.get_value("alerts/same_story", 0) == skipped
    state.close()


def _config_file(tmp_path: Path, **top: Any) -> Path:
    data = {"sources": [{"name": "a", "language": "en", "feeds": ["https://a.example/feed"]}],
            "topics": yaml.safe_load((Path(__file__).parent.parent / "newswatch.yaml").read_text())["topics"],
            "state": str(tmp_path / "state.sqlite"), "archive": str(tmp_path / "archive.jsonl"), **top}
    path = tmp_path / "newswatch.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("top, key, problem", [
    ({"clusters": {"window_days": 0}}, "clusters.window_days", "between"),
    ({"clusters": {"threshold": 2}}, "clusters.threshold", "between"),
    ({"clusters": {"enabled": "yes"}}, "clusters.enabled", "true or false"),
    ({"clusters": {"windows": 3}}, "clusters.windows", "unknown key"),
    ({"alerts": [{"url": "json://localhost", "per": "story"}]}, "alerts[0].per", "'language' or 'cluster'"),
])
def test_cluster_options_are_checked(tmp_path: Path, top: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_config_file(tmp_path, **top))
    assert key in str(err.value) and problem in str(err.value)


def test_cluster_options_default_and_set(tmp_path: Path) -> None:
    config = load_config(_config_file(tmp_path))
    assert (config.clusters.enabled, config.clusters.window_days, config.clusters.threshold) == (True, 7.0, 0.5)
    config = load_config(_config_file(tmp_path, clusters={"window_days": 3, "threshold": 0.6},
                                      alerts=[{"url": "json://localhost", "per": "cluster"}]))
    assert (config.clusters.window_days, config.clusters.threshold, config.alerts[0].per) == (3.0, 0.6, "cluster")


# --- review ---------------------------------------------------------------------------------------

def _archive(tmp_path: Path) -> Path:
    en = record(story_id="en0000000000000a", url=EN_URL, source="tomshardware", language="en", title="CloudMatrix R1",
                published="2026-03-20T08:00:00+00:00", story_cluster="en0000000000000a", cluster_evidence=[])
    it = record(published="2026-03-20T14:30:00+01:00")
    copy = record(story_id="cp0000000000000a", url="https://www.tomshw.it/copy", source="tomshw-it",
                  published="2026-03-20T18:00:00+01:00", duplicate_of="it0000000000000a", duplicate_kind="near",
                  cluster_evidence=[])
    alone = record(story_id="al0000000000000a", url="https://x.example/alone", source="hwupgrade",
                   title="Rese Ascend 910C", published="2026-03-22T09:00:00+01:00",
                   story_cluster="al0000000000000a", cluster_evidence=[])
    old = {k: v for k, v in record(story_id="ol0000000000000a", url="https://x.example/old", title="Old record",
                                   published="2026-03-01T09:00:00+00:00").items()
           if k not in ("story_cluster", "cluster_evidence")}  # written before clusters
    path = tmp_path / "archive.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in (en, it, copy, alone, old)),
                    encoding="utf-8")
    return path


def test_review_show_lists_the_cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = _archive(tmp_path)
    assert review_main(["show", "--archive", str(archive), "it000"]) == 0
    out = capsys.readouterr().out
    assert "Cluster en0000000000000a: 3 stories, 3 outlets" in out
    for outlet in ("tomshardware", "hdblog", "tomshw-it"):
        assert outlet in out
    assert "same story" in out and "copy (near)" in out and "Evidence shared: c:910C" in out
    assert review_main(["show", "--archive", str(archive), "--json", "en000"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [s["source"] for s in shown["cluster"]] == ["tomshardware", "hdblog", "tomshw-it"]


def test_review_list_clusters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = _archive(tmp_path)
    assert review_main(["list", "--archive", str(archive), "--clusters", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["cluster"], len(r["outlets"]), r["languages"]) for r in rows] == [
        ("al0000000000000a", 1, ["it"]), ("en0000000000000a", 3, ["en", "it"]), ("ol0000000000000a", 1, ["it"])]
    assert review_main(["list", "--archive", str(archive), "--clusters"]) == 0
    table = capsys.readouterr().out
    assert "3 clusters" in table and "tomshardware, hdblog, tomshw-it" in table


def test_report_shows_how_a_story_spread(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert review_main(["report", "--archive", str(_archive(tmp_path)), "--out", str(out)]) == 0
    doc = lxml.html.document_fromstring(out.read_bytes())
    spreads = doc.cssselect("div.spread")
    assert [s.get("data-cluster") for s in spreads] == ["en0000000000000a"]
    items = [li.text_content() for li in spreads[0].cssselect("li")]
    assert len(items) == 3 and "tomshardware (EN)" in items[0] and "first" in items[0]
    assert "hdblog (IT)" in items[1] and "same story · +5 h 30 min" in items[1]
    assert "copy · +9 h 0 min" in items[2]
    assert len(spreads[0].cssselect("svg.timeline circle")) == 3


# --- explain --------------------------------------------------------------------------------------

def test_explain_names_the_cluster_a_page_would_join(tmp_path: Path) -> None:
    from crawler.__main__ import explain_cluster

    config = load_config(_config_file(tmp_path), with_targets=False)
    state = SqliteState(tmp_path / "state.sqlite")
    at = time.time()
    evidence = story_evidence("CloudMatrix", EN, language="en", url=EN_URL, source="tomshardware")
    story_id = story_id_for(EN_URL)
    state.commit(ArticleCommit(source="tomshardware", urls=[EN_URL], story_id=story_id, record={"url": EN_URL},
                               fingerprint=StoryFingerprint("h", b"\x00" * 8, [b"k"]), seen_at=at,
                               cluster=ClusterEntry(story_id, "en", "CloudMatrix", at, evidence.keys,
                                                    tuple(evidence.lookup_keys()))))
    state.close()
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(at))
    joins = explain_cluster(config, "CloudMatrix", IT, "it", IT_URL, "hdblog", (), now)
    assert joins["decision"].startswith("joins") and joins["joins"]["story_id"] == story_id
    assert "c:910C" in joins["joins"]["shared"] and joins["joins"]["score"] >= 0.5
    short = explain_cluster(config, "Rese", OTHER_IT, "it", "https://x.example/rese", "hwupgrade", (), now)
    assert short["decision"] == "its own new cluster"
    assert short["best_candidate"]["story_id"] == story_id and "below" in short["best_candidate"]["why_not"]
    assert "c:910C" in short["evidence"]


# --- the dedup stage ------------------------------------------------------------------------------

def test_the_dedup_stage_puts_copies_and_rewrites_in_one_cluster(tmp_path: Path) -> None:
    from crawler.clusters import ClusterLinker
    from crawler.dedup import Deduplicator
    from pipelines.dedup import DedupPipeline

    crawler = get_crawler()
    state = SqliteState(tmp_path / "state.sqlite")
    stage = DedupPipeline(state, Deduplicator(state, DedupConfig()), crawler.stats, None,
                          ClusterLinker(state, ClusterConfig()))
    commit = CommitPipeline(state, crawler.stats, [], baseline=False, on_failure=lambda exc: None)

    def story(url: str, text: str, language: str) -> Story:
        return Story(url=url, source=url.split("/")[2], text=text, title="t", language=language, topics=["ascend"],
                     fetched_at="2026-03-20T14:00:00+00:00", published="2026-03-20T08:00:00+00:00")

    en = commit.process_item(stage.process_item(story(EN_URL, EN, "en")))
    assert en.story_cluster == en.story_id and crawler.stats.get_value("clusters/new") == 1
    it = commit.process_item(stage.process_item(story(IT_URL, IT, "it")))
    assert it.story_cluster == en.story_id and it.duplicate_of is None
    assert [info.story_id for info in it.cluster_earlier] == [en.story_id]
    # An Italian syndicated copy of the rewrite: a duplicate, in the same cluster.
    copy = stage.process_item(story("https://www.tomshw.it/copy", IT + " Aggiornamento.", "it"))
    assert copy.duplicate_of == it.story_id and copy.story_cluster == en.story_id
    # A different story on the subject: its own cluster.
    other = commit.process_item(stage.process_item(story("https://x.example/rese", OTHER_IT, "it")))
    assert other.story_cluster == other.story_id
    # The rewrite fetched again (an update): still in the cluster it was recorded in, never its own.
    again = stage.process_item(story(IT_URL, IT + " Una frase in più.", "it"))
    assert again.story_cluster == en.story_id
    assert crawler.stats.get_value("clusters/joined") == 1
    state.close()
