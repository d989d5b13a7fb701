"""`review report`: valid, self-contained, escaped HTML whose chart has the right series and counts."""

from __future__ import annotations

import tracemalloc
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from crawler.review.cli import main
from crawler.review.query import Filters, collect_stats, newest_records_json, newest_rows
from crawler.review.reader import iter_records
from tests.test_review_cli import original, when
from tests.test_review_reader import ASCEND_910C, NASTY, TestArchive, build_archive, write_archive


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> TestArchive:
    return build_archive(tmp_path_factory.mktemp("archive"))


def make_report(archive: TestArchive, out: Path, *argv: str) -> lxml.html.HtmlElement:
    assert main(["report", "--archive", str(archive.path), "--out", str(out), *argv]) == 0
    raw = out.read_bytes()
    doc = lxml.html.document_fromstring(raw)
    assert raw.startswith(b"<!DOCTYPE html>")
    return doc


REPORT_CASES = [
    ([], original),
    (["--lang", "it"], lambda r: original(r) and r["language"] == "it"),
    (["--topic", "ascend", "--include-duplicates"], lambda r: "ascend" in r["topics"]),
    (["--since", "2025-03-09", "--until", "2025-03-12", "--source", "Tom's Hardware"],
     lambda r: original(r) and r["source"] == "Tom's Hardware" and str(when(r).date()) >= "2025-03-09"
     and str(when(r).date()) <= "2025-03-12"),
]


@pytest.mark.parametrize(("argv", "expected"), REPORT_CASES)
def test_chart_series_and_counts(archive: TestArchive, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 argv: list[str], expected: Any) -> None:
    doc = make_report(archive, tmp_path / "r.html", *argv)
    want = [r for r in archive.records if expected(r)]
    per_topic_day = Counter((t, when(r).date().isoformat()) for r in want for t in r["topics"])
    topics = {t for t, _ in per_topic_day}
    first, last = min(when(r).date() for r in want), max(when(r).date() for r in want)
    all_days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]

    series = doc.cssselect("svg g.series")
    assert sorted(g.get("data-topic") for g in series) == sorted(topics)
    for g in series:
        points = g.cssselect("[data-count]")
        assert [p.get("data-day") for p in points] == all_days  # one element per day, zero days included
        assert {p.get("data-day"): int(p.get("data-count")) for p in points} == {
            d: per_topic_day[(g.get("data-topic"), d)] for d in all_days}
    legend = doc.cssselect("svg g.legend text")
    assert len(legend) == len(topics)
    assert doc.cssselect("svg .axis-label")  # axes are labelled

    rows = doc.cssselect("table.stories tbody tr")
    assert sorted(r.get("id")[2:] for r in rows) == sorted(r["story_id"] for r in want)
    outlets = {tr[0].text_content(): int(tr[1].text_content()) for tr in doc.cssselect("table.outlets tbody tr")}
    assert set(outlets) >= {r["source"] for r in want}


def test_story_rows_link_source_and_show_duplicates(archive: TestArchive, tmp_path: Path) -> None:
    doc = make_report(archive, tmp_path / "r.html")
    (row,) = doc.cssselect(f"tr#s-{ASCEND_910C}")
    title_link = row.cssselect("td a")[0]
    assert title_link.get("href") == "https://www.tomshardware.com/news/huawei-ascend-910c-ships"
    assert title_link.text_content() == "Huawei Ascend 910C ships to Chinese cloud providers"
    copies = [(a.text_content(), a.get("href")) for a in row.cssselect("td ul li a")]
    assert copies == [("HDblog", "https://www.hdblog.it/huawei-ascend-910c"),
                      ("Punto Informatico", "https://www.punto-informatico.it/ascend-910c")]


def test_self_contained_and_escaped(archive: TestArchive, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    doc = make_report(archive, out, "--include-duplicates")
    html_text = out.read_text(encoding="utf-8")
    # No script at all, nothing that loads: no src, no <link>, no url() in CSS, no @import.
    assert doc.cssselect("script") == [] and doc.cssselect("link") == [] and doc.cssselect("[src]") == []
    assert "url(" not in html_text and "@import" not in html_text
    csp = doc.cssselect('meta[http-equiv="Content-Security-Policy"]')[0].get("content")
    assert "default-src 'none'" in csp
    assert all(a.get("href", "").startswith(("https://", "http://")) for a in doc.cssselect("a"))
    # The hostile record's strings are text, shown as given.
    (row,) = doc.cssselect(f"tr#s-{NASTY}")
    assert row[1].text_content() == "Evil <b>Blog</b>" and row.cssselect("b") == []
    assert '<script>alert("x")</script>' in row[4].text_content()
    assert row.cssselect("a") == []  # javascript: URL rendered without a link
    assert "@media print" in html_text


def test_empty_selection_still_renders(archive: TestArchive, tmp_path: Path) -> None:
    doc = make_report(archive, tmp_path / "r.html", "--source", "nobody")
    assert doc.cssselect("svg g.series") == [] and "nothing to chart" in doc.text_content()
    assert doc.cssselect("table.stories tbody tr") == []


def test_limit_caps_table_not_chart(archive: TestArchive, tmp_path: Path) -> None:
    doc = make_report(archive, tmp_path / "r.html", "--limit", "10")
    assert len(doc.cssselect("table.stories tbody tr")) == 10
    assert "Showing the newest 10 of" in doc.cssselect("p.note")[0].text_content()
    total = sum(int(p.get("data-count")) for p in doc.cssselect('g.series[data-topic="deepseek"] [data-count]'))
    assert total == sum(1 for r in archive.records if original(r) and "deepseek" in r["topics"])


def big_archive(directory: Path, n: int) -> Path:
    """n records of ~4 KB text each (about 4 KB × n on disk)."""
    start = date(2025, 1, 1)
    recs = [{"story_id": f"{i:016x}", "url": f"https://x.example/{i}", "source": f"S{i % 5}",
             "title": f"title {i}", "published": f"{start + timedelta(days=i % 90)}T10:00:00Z",
             "language": "it" if i % 3 else "en", "topics": ["deepseek" if i % 2 else "h800"], "matches": [],
             "text": ("parola " * 600) + str(i), "authors": [], "published_precision": None, "modified": None, "fetched_at": "2025-04-01T00:00:00Z",
             "duplicate_of": None, "duplicate_kind": None} for i in range(n)]
    return write_archive(directory, recs).path


@pytest.mark.subprocess
def test_memory_stays_bounded(tmp_path: Path) -> None:
    """A ~16 MB archive is processed with a small fraction of its size in memory."""
    path = big_archive(tmp_path, 4000)
    size = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert size > 10_000_000
    peaks = {}
    for name, work in {
        "stats": lambda: collect_stats(iter_records(path), Filters()),
        "list --limit": lambda: newest_rows(iter_records(path), Filters(), 20),
        "list --json": lambda: sum(1 for _ in newest_records_json(iter_records(path), Filters())),
    }.items():
        tracemalloc.start()
        work()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert all(peak < size / 5 for peak in peaks.values()), (size, peaks)
