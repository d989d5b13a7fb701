"""``python -m crawler explain``: the tool a user reaches for when a story did or did not alert."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crawler.__main__ import main
from samples.server import Outlets
from tests.crawl import DEFAULT_CONFIG, ROOT


@pytest.fixture
def explain(capsys: pytest.CaptureFixture[str]) -> Callable[..., dict[str, Any]]:
    """``python -m crawler explain ARGS`` run in this process, as the review CLI's tests run it."""

    def run(*args: str) -> dict[str, Any]:
        code = main(["--config", str(DEFAULT_CONFIG), "explain", *args])
        out, err = capsys.readouterr()
        assert code == 0, err
        return json.loads(out)

    return run


@pytest.mark.slow
def test_the_command_runs_as_a_module(outlets: Outlets) -> None:
    proc = subprocess.run([sys.executable, "-m", "crawler", "--config", str(DEFAULT_CONFIG), "explain",
                           outlets.url("blogit", "/2026/03/04/huawei-ascend-910c-data-center/")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["topics"] == ["ascend"]


@pytest.mark.parametrize(
    ("path", "topics", "rejected_reason"),
    [
        ("/2026/03/07/come-ordinare-dati-ordine-ascendente-foglio-di-calcolo/", [], None),
        ("/2026/03/04/huawei-ascend-910c-data-center/", ["ascend"], None),
        ("/2026/03/10/caccia-alle-h800-mercato-parallelo/", ["h800"], None),
    ],
)
def test_explain_a_fetched_page(outlets: Outlets, path: str, topics: list[str],
                                rejected_reason: str | None, explain: Callable[..., dict[str, Any]]) -> None:
    result = explain(outlets.url("blogit", path))
    assert result["extracted"] is True
    assert result["language"] == "it"
    assert result["topics"] == topics
    for match in result["matches"]:
        assert match["snippet"] and match["field"] in ("title", "body")


def test_ordine_ascendente_is_shown_as_rejected(outlets: Outlets, explain: Callable[..., dict[str, Any]]) -> None:
    """'ascendente' is another word: shown, rejected, with the reason."""
    result = explain(outlets.url("blogit", "/2026/03/07/come-ordinare-dati-ordine-ascendente-foglio-di-calcolo/"))
    assert result["topics"] == []
    rejected = [c for c in result["candidates"] if not c["accepted"]]
    assert rejected and not [c for c in result["candidates"] if c["accepted"]]
    assert any(c["reason"] == "not a whole word: 'ascendente'" and c["text"] == "ascendente" for c in rejected)


def test_elided_ascend_is_accepted_with_evidence(outlets: Outlets, explain: Callable[..., dict[str, Any]]) -> None:
    result = explain(outlets.url("blogit", "/2026/03/04/huawei-ascend-910c-data-center/"))
    accepted = [c for c in result["candidates"] if c["accepted"]]
    assert accepted and all(c["reason"] == "matched" for c in accepted)
    assert any("l’Ascend 910C" in c["snippet"] or "l'Ascend 910C" in c["snippet"] for c in accepted)


def test_ascend_wellness_is_rejected_as_excluded(tmp_path: Path, explain: Callable[..., dict[str, Any]]) -> None:
    page = ROOT / "tests" / "data" / "ascend-wellness.html"
    result = explain("--html", str(page), "--url", "https://markets.example/ascend-wellness")
    assert result["topics"] == []
    rejected = [c for c in result["candidates"] if not c["accepted"]]
    assert rejected
    assert all(c["reason"].startswith(("excluded", "no context")) for c in rejected)
    assert any(c["reason"].startswith("excluded: Ascend Wellness") for c in rejected)
    assert result["language"] == "en"


def test_explain_reports_a_page_without_article(tmp_path: Path, explain: Callable[..., dict[str, Any]]) -> None:
    page = tmp_path / "gallery.html"
    page.write_text("<html><body><nav><a href='/'>Home</a></nav><div class='gallery'><img src='a.jpg'>"
                    "<img src='b.jpg'></div><footer>DeepSeek tag</footer></body></html>", encoding="utf-8")
    result = explain("--html", str(page), "--url", "https://example.org/gallery")
    assert result["extracted"] is False
    assert "no article" in result["reason"]


def test_explain_shows_the_resolved_metadata_and_where_it_came_from(outlets: Outlets, explain: Callable[..., dict[str, Any]]) -> None:
    result = explain(outlets.url("blogit", "/2026/03/04/huawei-ascend-910c-data-center/"))
    # <title> says "… – BlogIT Tecnologia": the headline is without the site's name
    assert result["title"] == "Huawei porta l’Ascend 910C nei data center cinesi"
    assert result["authors"] == ["Luca Marchetti"]
    assert (result["published"], result["published_precision"]) == ("2026-03-04T11:30:00+01:00", "second")
    assert result["evidence"] == {"headline": "og:title", "published": "article:published_time",
                                  "authors": "meta author"}
