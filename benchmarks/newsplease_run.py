"""Run inside ``.venv-compare`` by ``benchmarks.crawl``: news-please's extraction of every AEB page.

Prints one JSON object: the seconds spent in ``NewsPlease.from_html`` (image fetching off) and each
page's ``maintext``, keyed by page id, for the benchmark to score against the ground truth."""

import gzip
import json
import sys
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
from newsplease import NewsPlease  # noqa: E402

aeb = Path(sys.argv[1])
truth = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
texts = {}
seconds = 0.0
for page_id, entry in sorted(truth.items()):
    html = gzip.decompress((aeb / "html" / f"{page_id}.html.gz").read_bytes()).decode("utf-8", "replace")
    started = time.process_time()
    try:
        article = NewsPlease.from_html(html, url=entry["url"], fetch_images=False)
        texts[page_id] = article.maintext or ""
    except Exception:  # news-please raises on some pages; that page has no extraction
        texts[page_id] = ""
    seconds += time.process_time() - started
print(json.dumps({"seconds": seconds, "texts": texts}))
