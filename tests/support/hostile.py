"""An analyser for the pool tests: a page can make its worker hang or die (as a hostile page might make
trafilatura or libxml2 do), every other page is analysed as the crawl does."""

from __future__ import annotations

import os
import time

from crawler.analysis import Analyser, Analysis, Job


class HostileAnalyser(Analyser):
    def __call__(self, job: Job) -> Analysis:
        if b"<!--hang-->" in job.body:
            time.sleep(600)
        if b"<!--die-->" in job.body:
            os._exit(7)
        return super().__call__(job)
