"""``make bench``: every benchmark, each printing ratios against a baseline measured in the same run."""

from __future__ import annotations

import sys

from benchmarks import crawl, dedup, extraction, language, metadata


def main(argv: list[str]) -> int:
    wanted = set(argv) or {"crawl", "language", "extraction", "metadata", "dedup"}
    if "crawl" in wanted:
        crawl.run()
        print()
    if "language" in wanted:
        language.run()
        print()
    if "extraction" in wanted:
        extraction.run()
        print()
    if "metadata" in wanted:
        metadata.run()
        print()
    if "dedup" in wanted:
        dedup.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
