"""The analysis pool with real worker processes: a page that hangs or kills its worker costs that page only."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from crawler.analysis import MATCHED, SKIPPED, Job
from crawler.config import load_config
from crawler.dedup import Fingerprinter
from crawler.pool import AnalysisFailed, AnalysisPool
from crawler.settings import EXTRACT_MIN_TEXT_CHARS, LANGUAGE_MIN_TEXT_CHARS
from tests.support.components import close, newswatch_crawler, write_config
from tests.support.hostile import HostileAnalyser

STORY = ("<html><head><title>Huawei ships Ascend 910C clusters</title></head><body><article>"
         "<h1>Huawei ships Ascend 910C clusters</h1><p>"
         + "Huawei said its Ascend 910C accelerators now ship in volume to Chinese cloud providers. " * 6
         + "</p></article></body></html>")
OTHER = "<html><body><article><p>" + "A story about phones and cameras. " * 30 + "</p></article></body></html>"


@pytest.fixture
def pool(tmp_path: Path) -> Any:
    config_path = write_config(tmp_path, crawl={"workers": 2, "page_timeout": 2})
    crawler = newswatch_crawler(config_path)
    config = load_config(config_path)
    built = AnalysisPool(crawler, HostileAnalyser(config.topics, Fingerprinter(config.dedup), EXTRACT_MIN_TEXT_CHARS,
                                                    LANGUAGE_MIN_TEXT_CHARS), workers=2, timeout=2.0)
    yield built
    built.spider_closed()
    close(crawler)


def job(html: str, n: int = 0) -> Job:
    return Job(url=f"https://example.org/{n}", body=html.encode(), language_hint="en")


@pytest.mark.subprocess
def test_pages_are_analysed_in_worker_processes_as_in_the_crawl_process(pool: AnalysisPool) -> None:
    async def both() -> list[Any]:
        return await asyncio.gather(pool.analyse(job(STORY)), pool.analyse(job(OTHER, 1)))

    story, other = asyncio.run(both())
    here = dataclasses.replace(pool.analyser)(job(STORY))  # a copy, run in this process
    assert story.outcome == MATCHED and other.outcome == SKIPPED
    assert story == here  # the same verdict, fingerprint included, as in this process
    assert story.language == "en" and story.fingerprint is not None


@pytest.mark.subprocess
@pytest.mark.parametrize(("marker", "reason", "stat"), [
    ("<!--hang-->", "timeout", "workers/timed_out"),
    ("<!--die-->", "worker_died", "workers/died"),
])
def test_a_page_that_hangs_or_kills_its_worker_costs_that_page_only(
        pool: AnalysisPool, marker: str, reason: str, stat: str) -> None:
    async def run() -> list[Any]:
        hostile = pool.analyse(job(STORY.replace("<body>", "<body>" + marker), 9))
        others = [pool.analyse(job(STORY if n % 2 else OTHER, n)) for n in range(6)]
        return await asyncio.gather(hostile, *others, return_exceptions=True)

    hostile, *others = asyncio.run(run())
    assert isinstance(hostile, AnalysisFailed) and hostile.reason == reason
    assert [o.outcome for o in others] == [SKIPPED, MATCHED] * 3
    assert pool.stats.get_value(stat) == 1
    # The pool goes on: a replacement worker takes the next pages.
    assert asyncio.run(pool.analyse(job(STORY, 20))).outcome == MATCHED
