"""`python -m crawler review list/show/stats` on a generated archive (rotated, gzipped, damaged lines)."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawler.review.cli import main
from crawler.review.query import parse_when
from tests.test_review_reader import ASCEND_910C, ITALIAN_DEEPSEEK, NASTY, TestArchive, build_archive, write_archive


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> TestArchive:
    return build_archive(tmp_path_factory.mktemp("archive"))


def when(rec: dict[str, Any]) -> datetime:
    """Reference date rule, written out separately from the reader: published, else fetched_at; naive = UTC."""
    for value in (rec["published"], rec["fetched_at"]):
        if value:
            parsed = datetime.fromisoformat(value)
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    raise AssertionError("generated records always have a date")


def fold(s: str | None) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", (s or "").lower()) if not unicodedata.combining(c))


def original(r: dict[str, Any]) -> bool:
    return r["duplicate_of"] is None


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


MAR = lambda d: datetime(2025, 3, d, tzinfo=UTC)  # noqa: E731

LIST_CASES: list[tuple[str, list[str], Callable[[dict[str, Any]], bool]]] = [
    ("originals only by default", [], original),
    ("with duplicates", ["--include-duplicates"], lambda r: True),
    ("one topic", ["--topic", "ascend"], lambda r: original(r) and "ascend" in r["topics"]),
    ("two topics, comma", ["--topic", "h800,deepseek"],
     lambda r: original(r) and bool({"h800", "deepseek"} & set(r["topics"]))),
    ("repeated topic flag", ["--topic", "h800", "--topic", "deepseek"],
     lambda r: original(r) and bool({"h800", "deepseek"} & set(r["topics"]))),
    ("source, any case", ["--source", "hdblog"], lambda r: original(r) and r["source"] == "HDblog"),
    ("language", ["--lang", "it"], lambda r: original(r) and r["language"] == "it"),
    ("date range, until inclusive", ["--since", "2025-03-05", "--until", "2025-03-07"],
     lambda r: original(r) and MAR(5) <= when(r) < MAR(8)),
    ("ISO time bounds", ["--since", "2025-03-10T08:00:00+00:00", "--until", "2025-03-10T12:00:00+01:00",
                         "--include-duplicates"],
     lambda r: MAR(10) + timedelta(hours=8) <= when(r) < MAR(10) + timedelta(hours=11)),
    ("words, accents folded", ["--query", "perche EFFICIENTE"], lambda r: r["story_id"] == ITALIAN_DEEPSEEK),
    ("quoted phrase in text or title", ["--query", '"ascend 910c" ships', "--include-duplicates"],
     lambda r: "ascend 910c" in fold(f"{r['title']} {r['text']}") and "ships" in fold(f"{r['title']} {r['text']}")),
    ("Italian blogs on DeepSeek this month", ["--lang", "it", "--topic", "deepseek", "--since", "2025-03-01",
                                              "--until", "2025-03-31"],
     lambda r: original(r) and r["language"] == "it" and "deepseek" in r["topics"]),
    ("nothing matches", ["--source", "nobody"], lambda r: False),
]


@pytest.mark.parametrize(("argv", "expected"), [(c[1], c[2]) for c in LIST_CASES], ids=[c[0] for c in LIST_CASES])
def test_list_json_filters(archive: TestArchive, capsys: pytest.CaptureFixture[str], argv: list[str],
                           expected: Callable[[dict[str, Any]], bool]) -> None:
    code, out, _ = run(capsys, "list", "--archive", str(archive.path), "--json", *argv)
    assert code == 0
    got = [json.loads(line) for line in out.splitlines()]
    want = [r for r in archive.records if expected(r)]
    assert sorted(r["story_id"] for r in got) == sorted(r["story_id"] for r in want)
    assert [when(r) for r in got] == sorted((when(r) for r in got), reverse=True)  # newest first
    assert all(r in archive.records for r in got)  # whole records, unchanged


def test_list_json_limit_keeps_newest(archive: TestArchive, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "--archive", str(archive.path), "--json", "--limit", "7", "--lang", "en")
    newest = sorted((r for r in archive.records if original(r) and r["language"] == "en"), key=when, reverse=True)
    assert code == 0
    assert [json.loads(line)["story_id"] for line in out.splitlines()] == [r["story_id"] for r in newest[:7]]


def test_list_table_one_line_per_story_plain_when_piped(archive: TestArchive, capsys: pytest.CaptureFixture[str],
                                                        caplog: pytest.LogCaptureFixture) -> None:
    code, out, err = run(capsys, "list", "--archive", str(archive.path), "--lang", "it", "--topic", "deepseek")
    want = sorted((r for r in archive.records if original(r) and r["language"] == "it"
                   and "deepseek" in r["topics"]), key=when, reverse=True)
    assert code == 0 and "\x1b" not in out
    rows = [line for line in out.splitlines() if line.strip().startswith("2025-")]
    assert len(rows) == len(want) > 20
    for line, rec in zip(rows, want, strict=True):  # newest first, one line each, with date, source, language, topics, title
        assert rec["story_id"] in line
        assert when(rec).strftime("%Y-%m-%d %H:%M") in line and rec["source"] in line and " it " in line
        assert "deepseek" in line and rec["title"][:30] in line
    assert f"{len(want)} stories (duplicates hidden)" in out
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2 and "malformed line skipped" in warnings[0] and "cut short" in warnings[1]


def test_list_counts_copies_and_marks_duplicates(archive: TestArchive, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "--archive", str(archive.path), "--query", "910C ships",
                       "--include-duplicates", "--since", "2025-03-10", "--until", "2025-03-11")
    lines = {line.split()[-1]: line for line in out.splitlines() if line.strip().startswith("2025-")}
    assert code == 0 and len(lines) == 2  # the HDblog copy is in Italian and says "spedizioni"
    assert lines[ASCEND_910C].rstrip().endswith(f"+2   {ASCEND_910C}")
    assert "dup exact" in next(v for k, v in lines.items() if k != ASCEND_910C)


def test_hostile_strings_are_shown_literally(archive: TestArchive, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "--archive", str(archive.path), "--source", "Evil <b>Blog</b>")
    assert code == 0 and "\x1b" not in out
    assert "Evil <b>Blog</b>" in out and "[bold red]DeepSeek[/]" in out and "[31mred" in out
    code, out, _ = run(capsys, "show", "--archive", str(archive.path), NASTY)
    assert code == 0 and "\x1b" not in out and "[bold red]DeepSeek[/]" in out


def test_show_story_with_matches_duplicates_and_text(archive: TestArchive, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "--archive", str(archive.path), ASCEND_910C[:8])
    assert code == 0 and "\x1b" not in out
    for needle in ("Huawei Ascend 910C ships to Chinese cloud providers", ASCEND_910C,
                   "https://www.tomshardware.com/news/huawei-ascend-910c-ships", "Tom's Hardware",
                   "2025-03-10 08:00", "Matches (2)", "Huawei Ascend 910C accelerators are shipping",
                   "Also carried by (2)", "https://www.hdblog.it/huawei-ascend-910c", "near",
                   "https://www.punto-informatico.it/ascend-910c", "exact",
                   "The Ascend 910C rivals the H800."):
        assert needle in out, needle
    # Copies listed oldest first: HDblog (10 Mar) before Punto Informatico (11 Mar).
    assert out.index("HDblog") < out.index("Punto Informatico")


def test_show_reports_each_damaged_line_once(archive: TestArchive, capsys: pytest.CaptureFixture[str],
                                             caplog: pytest.LogCaptureFixture) -> None:
    # show reads the archive twice (the story, then its cluster): the damage is one warning all the same.
    with caplog.at_level("WARNING"):
        code, _, _ = run(capsys, "show", "--archive", str(archive.path), ASCEND_910C[:8])
    assert code == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert sum("malformed line skipped" in w for w in warnings) == 1
    assert sum("cut short" in w for w in warnings) == 1


def test_show_json_and_duplicate_side(archive: TestArchive, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "--archive", str(archive.path), ASCEND_910C, "--json")
    data = json.loads(out)
    assert code == 0 and data["story_id"] == ASCEND_910C
    assert [(d["source"], d["kind"]) for d in data["duplicates"]] == [("HDblog", "near"), ("Punto Informatico", "exact")]
    copy = next(r for r in archive.records if r["duplicate_of"] == ASCEND_910C and r["source"] == "HDblog")
    code, out, _ = run(capsys, "show", "--archive", str(archive.path), copy["story_id"])
    assert code == 0 and "Duplicate of" in out and f"{ASCEND_910C} (near)" in out


@pytest.mark.parametrize(("story", "message"), [("ffffffffffffffff", "no story"), ("", "ambiguous")])
def test_show_unknown_or_ambiguous(archive: TestArchive, capsys: pytest.CaptureFixture[str], story: str,
                                   message: str) -> None:
    code, out, err = run(capsys, "show", "--archive", str(archive.path), story)
    assert code == 1 and out == "" and message in err


STATS_CASES = [
    ([], original),
    (["--include-duplicates"], lambda r: True),
    (["--lang", "it", "--since", "2025-03-08", "--until", "2025-03-14"],
     lambda r: original(r) and r["language"] == "it" and MAR(8) <= when(r) < MAR(15)),
    (["--topic", "h800"], lambda r: original(r) and "h800" in r["topics"]),
]


@pytest.mark.parametrize(("argv", "expected"), STATS_CASES)
def test_stats_json_counts(archive: TestArchive, capsys: pytest.CaptureFixture[str], argv: list[str],
                           expected: Callable[[dict[str, Any]], bool]) -> None:
    code, out, _ = run(capsys, "stats", "--archive", str(archive.path), "--json", *argv)
    got = json.loads(out)
    want = [r for r in archive.records if expected(r)]
    assert code == 0 and got["total"] == len(want)
    assert got["topics"] == dict(Counter(t for r in want for t in r["topics"]))
    assert got["sources"] == dict(Counter(r["source"] for r in want))
    assert got["languages"] == dict(Counter(r["language"] for r in want))
    assert got["days"] == dict(Counter(when(r).date().isoformat() for r in want))
    assert got["duplicates"] == sum(1 for r in want if r["duplicate_of"])


def test_stats_table_shows_peak_day(archive: TestArchive, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stats", "--archive", str(archive.path), "--topic", "h800")
    days = Counter(when(r).date().isoformat() for r in archive.records if original(r) and "h800" in r["topics"])
    peak_count = max(days.values())
    peak_lines = [line for line in out.splitlines() if line.rstrip().endswith("peak")]
    assert code == 0 and "\x1b" not in out
    assert {line.split()[0] for line in peak_lines} == {d for d, n in days.items() if n == peak_count}
    assert "Topic" in out and "Source" in out and "Language" in out and "Day (UTC)" in out


def test_relative_since(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC)
    recs = [{"story_id": f"{i:016x}", "url": f"https://x.example/{i}", "source": "S", "title": f"t{i}",
             "published": None, "language": "en", "topics": ["deepseek"], "matches": [], "text": "",
             "authors": [], "published_precision": None, "modified": None, "fetched_at": (now - timedelta(days=days)).isoformat(), "duplicate_of": None,
             "duplicate_kind": None} for i, days in enumerate([1, 3, 10, 40])]
    archive = write_archive(tmp_path, recs)
    code, out, _ = run(capsys, "list", "--archive", str(archive.path), "--json", "--since", "7d")
    assert code == 0 and [json.loads(line)["title"] for line in out.splitlines()] == ["t0", "t1"]


@pytest.mark.parametrize(("value", "end", "expected"), [
    ("7d", False, datetime(2025, 3, 3, 12, tzinfo=UTC)),
    ("12h", False, datetime(2025, 3, 10, 0, tzinfo=UTC)),
    ("2w", False, datetime(2025, 2, 24, 12, tzinfo=UTC)),
    ("2025-03-01", False, datetime(2025, 3, 1, tzinfo=UTC)),
    ("2025-03-01", True, datetime(2025, 3, 2, tzinfo=UTC)),
    ("2025-03-01T10:00:00+02:00", True, datetime(2025, 3, 1, 8, tzinfo=UTC)),
])
def test_parse_when(value: str, end: bool, expected: datetime) -> None:
    assert parse_when(value, end=end, now=datetime(2025, 3, 10, 12, tzinfo=UTC)) == expected


@pytest.mark.parametrize("argv", [["list", "--since", "last tuesday"], ["stats", "--until", "3x"]])
def test_bad_dates_are_usage_errors(archive: TestArchive, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = run(capsys, *argv, "--archive", str(archive.path))
    assert code == 2 and "cannot read date" in err


def test_missing_archive_and_missing_config(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(capsys, "list", "--archive", str(tmp_path / "none.jsonl"))
    assert code == 2 and "archive not found" in err
    monkeypatch.setenv("NEWSWATCH_CONFIG", str(tmp_path / "missing.yaml"))
    code, _, err = run(capsys, "stats")
    assert code == 2 and "no --archive given" in err and "missing.yaml" in err


@pytest.mark.parametrize(("columns", "headers"), [
    ("80", ["Date (UTC)", "Source", "Title", "Story ID"]),
    ("100", ["Date (UTC)", "Source", "Title", "Story ID"]),
    ("120", ["Date (UTC)", "Source", "Topics", "Title", "Story ID"]),
    ("140", ["Date (UTC)", "Source", "Lang", "Topics", "Title", "Copies", "Story ID"]),
])
def test_list_fits_the_width_keeping_dates_and_ids(archive: TestArchive, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch, columns: str,
                                                   headers: list[str]) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    code, out, _ = run(capsys, "list", "--archive", str(archive.path), "--include-duplicates", "--limit", "30")
    lines = out.splitlines()
    header = next(line for line in lines if "Date (UTC)" in line)
    assert code == 0 and [h for h in ["Date (UTC)", "Source", "Lang", "Topics", "Title", "Copies", "Story ID"]
                          if h in header] == headers
    assert all(len(line) <= int(columns) for line in lines)
    newest = sorted(archive.records, key=when, reverse=True)[:30]
    rows = [line for line in lines if line.strip().startswith("2025-")]
    for line, rec in zip(rows, newest, strict=True):
        assert line.split()[:2] == when(rec).strftime("%Y-%m-%d %H:%M").split() and line.split()[-1] == rec["story_id"]


@pytest.mark.parametrize(("fields", "shown"), [
    ({"authors": ["Mario Rossi", "Anna Bianchi"], "published": "2026-03-02T10:15:00+01:00",
      "published_precision": "second", "modified": "2026-03-03T09:00:00+01:00"},
     ["Mario Rossi, Anna Bianchi", "2026-03-02T10:15:00+01:00", "2026-03-03T09:00:00+01:00"]),
    ({"authors": [], "published": "2026-03-02", "published_precision": "day", "modified": None},
     ["2026-03-02 (day only)"]),
    ({"author": "Redazione", "published": "2026-03-02T10:15:00+01:00"},  # a record from before the list
     ["Authors      Redazione"]),
])
def test_show_authors_and_published(tmp_path: Path, capsys: pytest.CaptureFixture[str], fields: dict[str, Any],
                                    shown: list[str]) -> None:
    record = {"story_id": "00000000000000aa", "url": "https://x.example/a", "source": "S", "title": "A story",
              "language": "it", "topics": ["ascend"], "matches": [], "text": "", "fetched_at":
              "2026-03-02T10:20:00+00:00", "duplicate_of": None, "duplicate_kind": None, **fields}
    path = tmp_path / "archive.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "show", "--archive", str(path), "00000000000000aa")
    assert code == 0
    for needle in shown:
        assert needle in out, (needle, out)
    code, out, _ = run(capsys, "show", "--archive", str(path), "00000000000000aa", "--json")
    assert isinstance(json.loads(out)["authors"], list) and "author" not in json.loads(out)
