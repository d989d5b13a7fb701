"""The archive reader, and the test archive the other review tests share (``build_archive``)."""

from __future__ import annotations

import gzip
import json
import logging
import random
import types
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from crawler.items import story_id_for
from crawler.review.reader import ArchiveNotFound, archive_files, iter_records, parse_time, record_time

SOURCES = [
    ("Tom's Hardware", "en", "https://www.tomshardware.com/news/"),
    ("Tom's Hardware Italia", "it", "https://www.tomshw.it/"),
    ("HDblog", "it", "https://www.hdblog.it/"),
    ("HWUpgrade", "it", "https://www.hwupgrade.it/news/"),
    ("DDay", "it", "https://www.dday.it/redazione/"),
    ("Punto Informatico", "it", "https://www.punto-informatico.it/"),
]
TOPIC_WORDS = {
    "ascend": ("Huawei Ascend 910C", "acceleratore Ascend di Huawei"),
    "deepseek": ("DeepSeek R2 model", "il modello DeepSeek"),
    "h800": ("NVIDIA H800 exports", "le GPU H800 di NVIDIA"),
}
START = datetime(2025, 3, 1, tzinfo=UTC)
DAYS = 21

# Hand-made stories the tests check by name.
ASCEND_910C = story_id_for("https://www.tomshardware.com/news/huawei-ascend-910c-ships")
NASTY = story_id_for("https://example.invalid/nasty")
ITALIAN_DEEPSEEK = story_id_for("https://www.hdblog.it/deepseek-perche-efficiente")


@dataclass
class TestArchive:
    path: Path
    records: list[dict[str, Any]]  # every valid record, in the order the reader yields them
    malformed: tuple[Path, int]  # file and line number of the malformed line
    truncated: Path  # file whose last line is cut short

    __test__ = False  # not a pytest class


def _record(url: str, source: str, language: str, title: str, text: str, topics: list[str],
            published: str | None, fetched_at: str, duplicate_of: str | None = None,
            duplicate_kind: str | None = None) -> dict[str, Any]:
    matches = []
    for topic in topics:
        term = TOPIC_WORDS[topic][0].split()[-2] if topic != "deepseek" else "DeepSeek"
        pos = text.find(term)
        matches.append({"topic": topic, "term": term, "field": "body", "start": max(pos, 0),
                        "end": max(pos, 0) + len(term), "snippet": text[max(pos - 20, 0): pos + 40]})
    return {"story_id": story_id_for(url), "url": url, "source": source, "title": title, "published": published,
            "language": language, "topics": topics, "matches": matches, "text": text, "authors": ["Redazione"],
            "published_precision": None, "modified": None, "fetched_at": fetched_at, "duplicate_of": duplicate_of, "duplicate_kind": duplicate_kind,
            "story_cluster": duplicate_of or story_id_for(url), "cluster_evidence": []}


def generate_records(n_stories: int = 220, seed: int = 7) -> list[dict[str, Any]]:
    """Originals plus copies by other outlets, oldest first, with varied timezones and some null `published`."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    for i in range(n_stories):
        name, lang, base = SOURCES[rng.randrange(len(SOURCES))]
        topics = rng.sample(sorted(TOPIC_WORDS), k=1 if rng.random() < 0.8 else 2)
        when = START + timedelta(days=DAYS * i / n_stories, minutes=rng.randrange(0, 600))
        words = [TOPIC_WORDS[t][0 if lang == "en" else 1] for t in topics]
        if lang == "en":
            title = f"Story {i}: {' and '.join(words)} in the news"
            text = f"Report number {i}. " + " ".join(f"Today {w} made headlines." for w in words) * 3
        else:
            title = f"Notizia {i}: {' e '.join(words)}"
            text = f"Articolo numero {i}. " + " ".join(f"Oggi {w} è in prima pagina." for w in words) * 3
        # Published in several forms: UTC "Z", +01:00 (Italian winter time), naive, or missing.
        form = i % 4
        if form == 0:
            published = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif form == 1:
            published = when.astimezone(timezone(timedelta(hours=1))).isoformat()
        elif form == 2:
            published = when.strftime("%Y-%m-%dT%H:%M:%S")
        else:
            published = None
        fetched = (when + timedelta(minutes=30)).isoformat()
        url = f"{base}story-{i}"
        records.append(_record(url, name, lang, title, text, topics, published, fetched))
        if rng.random() < 0.25:  # other outlets copy it a few hours later
            for name2, lang2, base2 in rng.sample([s for s in SOURCES if s[0] != name], k=rng.randint(1, 2)):
                later = when + timedelta(hours=rng.randint(1, 20))
                records.append(_record(f"{base2}copy-{i}", name2, lang2, f"[copia] {title}", text, topics,
                                       later.isoformat(), later.isoformat(), story_id_for(url),
                                       rng.choice(["exact", "near"])))
    # Hand-made: the Ascend 910C story and who carried it after Tom's Hardware.
    t0 = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
    url = "https://www.tomshardware.com/news/huawei-ascend-910c-ships"
    records.append(_record(url, "Tom's Hardware", "en", "Huawei Ascend 910C ships to Chinese cloud providers",
                           "Huawei Ascend 910C accelerators are shipping. The Ascend 910C rivals the H800.",
                           ["ascend", "h800"], t0.isoformat(), (t0 + timedelta(minutes=5)).isoformat()))
    records.append(_record("https://www.hdblog.it/huawei-ascend-910c", "HDblog", "it",
                           "Huawei Ascend 910C: spedizioni iniziate", "L'acceleratore Ascend 910C di Huawei arriva.",
                           ["ascend"], "2025-03-10T11:00:00+01:00", "2025-03-10T10:30:00+00:00", ASCEND_910C, "near"))
    records.append(_record("https://www.punto-informatico.it/ascend-910c", "Punto Informatico", "it",
                           "Huawei Ascend 910C ships to Chinese cloud providers",
                           "Huawei Ascend 910C accelerators are shipping. The Ascend 910C rivals the H800.",
                           ["ascend", "h800"], None, "2025-03-11T09:00:00Z", ASCEND_910C, "exact"))
    # Italian DeepSeek story with accents, published 00:30 Rome time on 5 March = 4 March UTC.
    records.append(_record("https://www.hdblog.it/deepseek-perche-efficiente", "HDblog", "it",
                           "Perché DeepSeek è più efficiente", "Il modello DeepSeek è più efficiente perché usa MoE.",
                           ["deepseek"], "2025-03-05T00:30:00+01:00", "2025-03-05T06:00:00+00:00"))
    # Hostile strings: HTML, rich markup, an ANSI escape and a javascript: URL.
    records.append(_record("https://example.invalid/nasty", "Evil <b>Blog</b>", "en",
                           '<script>alert("x")</script> [bold red]DeepSeek[/] \x1b[31mred\x1b[0m & co',
                           "DeepSeek <img src=http://127.0.0.1:9/x.png> text", ["deepseek"],
                           "2025-03-12T12:00:00Z", "2025-03-12T12:05:00Z"))
    records[-1]["url"] = "javascript:alert(1)"
    records.sort(key=lambda r: r["fetched_at"])
    return records


def write_archive(directory: Path, records: list[dict[str, Any]]) -> TestArchive:
    """Split records over archive.jsonl.2.gz (oldest), archive.jsonl.1 and archive.jsonl (newest), with one
    malformed line in the middle of .1 and a cut-short last line in the live file."""
    path = directory / "archive.jsonl"
    third = len(records) // 3
    parts = [records[:third], records[third: 2 * third], records[2 * third:]]
    lines = [[json.dumps(r, ensure_ascii=False) + "\n" for r in part] for part in parts]
    with gzip.open(directory / "archive.jsonl.2.gz", "wt", encoding="utf-8") as fh:
        fh.writelines(lines[0])
    middle = len(lines[1]) // 2
    lines[1].insert(middle, '{"story_id": "broken", "title": "no closing brace"\n')
    (directory / "archive.jsonl.1").write_text("".join(lines[1]), encoding="utf-8")
    cut = json.dumps(_record("https://www.dday.it/cut", "DDay", "it", "Cut", "DeepSeek", ["deepseek"],
                             None, "2025-03-21T23:00:00Z"))[:57]
    path.write_text("".join(lines[2]) + cut, encoding="utf-8")
    return TestArchive(path, records, (directory / "archive.jsonl.1", middle + 1), path)


def build_archive(directory: Path) -> TestArchive:
    return write_archive(directory, generate_records())


@pytest.fixture
def archive(tmp_path: Path) -> TestArchive:
    return build_archive(tmp_path)


def test_reads_rotated_siblings_oldest_first(archive: TestArchive) -> None:
    assert [p.name for p in archive_files(archive.path)] == ["archive.jsonl.2.gz", "archive.jsonl.1",
                                                             "archive.jsonl"]
    got = list(iter_records(archive.path))
    assert len(archive.records) >= 250
    assert got == archive.records


def test_warns_for_cut_last_line_and_names_malformed_line(archive: TestArchive,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="crawler.review.reader"):
        list(iter_records(archive.path))
    messages = [r.getMessage() for r in caplog.records]
    malformed_file, malformed_line = archive.malformed
    assert len(messages) == 2, messages
    assert any(f"{malformed_file}:{malformed_line}: malformed line skipped" in m for m in messages)
    assert any(f"{archive.truncated}:" in m and "cut short" in m for m in messages)


def test_non_object_line_is_malformed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"story_id": "a"}\n[1, 2]\n\n{"story_id": "b"}\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        ids = [r["story_id"] for r in iter_records(path)]
    assert ids == ["a", "b"]
    assert [f"{path}:2: malformed line skipped" in r.getMessage() for r in caplog.records] == [True]


def test_cut_gzip_sibling_keeps_what_decompresses(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    records = [{"story_id": f"{i:016x}", "text": "x" * 50} for i in range(200)]
    data = gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode())
    (tmp_path / "archive.jsonl.1.gz").write_bytes(data[: len(data) * 2 // 3])
    with caplog.at_level(logging.WARNING):
        got = list(iter_records(tmp_path / "archive.jsonl"))
    assert 0 < len(got) < 200
    assert [r["story_id"] for r in got] == [r["story_id"] for r in records[: len(got)]]
    assert any("compressed stream ends early" in r.getMessage() for r in caplog.records)


def test_missing_archive(tmp_path: Path) -> None:
    with pytest.raises(ArchiveNotFound, match="archive not found"):
        list(iter_records(tmp_path / "nope.jsonl"))


def test_streams(archive: TestArchive) -> None:
    records = iter_records(archive.path)
    assert isinstance(records, types.GeneratorType)
    assert next(records) == archive.records[0]


@pytest.mark.parametrize(("published", "fetched", "expected"), [
    ("2025-03-05T00:30:00+01:00", None, datetime(2025, 3, 4, 23, 30, tzinfo=UTC)),
    ("2025-03-05T00:30:00Z", None, datetime(2025, 3, 5, 0, 30, tzinfo=UTC)),
    ("2025-03-05T00:30:00", None, datetime(2025, 3, 5, 0, 30, tzinfo=UTC)),
    (None, "2025-03-06T10:00:00+00:00", datetime(2025, 3, 6, 10, 0, tzinfo=UTC)),
    ("not a date", "2025-03-06", datetime(2025, 3, 6, tzinfo=UTC)),
    (None, None, None),
])
def test_record_time(published: str | None, fetched: str | None, expected: datetime | None) -> None:
    assert record_time({"published": published, "fetched_at": fetched}) == expected


def test_parse_time_rejects_non_strings() -> None:
    assert parse_time(12) is None


@pytest.mark.parametrize("form", ["glob", "worker", "list"])
def test_the_files_of_several_workers_read_as_one_archive(tmp_path, form):
    import json as _json

    from crawler.review.reader import archive_files, iter_records

    for worker, ids in (("w1", ["a", "b"]), ("w2", ["c"])):
        (tmp_path / f"archive-{worker}.jsonl").write_text(
            "".join(_json.dumps({"story_id": sid, "url": f"https://x.example/{sid}"}) + "\n" for sid in ids))
    (tmp_path / "archive-w1.jsonl.1").write_text(_json.dumps({"story_id": "old"}) + "\n")  # rotated
    location = {"glob": str(tmp_path / "archive-*.jsonl"), "worker": str(tmp_path / "archive-{worker}.jsonl"),
                "list": [tmp_path / "archive-w1.jsonl", tmp_path / "archive-w2.jsonl"]}[form]
    assert [f.name for f in archive_files(location)] == ["archive-w1.jsonl.1", "archive-w1.jsonl", "archive-w2.jsonl"]
    assert [r["story_id"] for r in iter_records(location)] == ["old", "a", "b", "c"]


def test_a_glob_matching_nothing_says_so(tmp_path):
    from crawler.review.reader import ArchiveNotFound, archive_files

    with pytest.raises(ArchiveNotFound, match="no file matches"):
        archive_files(str(tmp_path / "archive-{worker}.jsonl"))
