"""``make bench``: every benchmark, each printing ratios against a baseline measured in the same run.

``python -m benchmarks crawl language`` runs only the ones named."""

from __future__ import annotations

import sys

from benchmarks import clusters, crawl, dedup, extraction, language, metadata, scale

BENCHMARKS = {"crawl": crawl, "language": language, "extraction": extraction, "metadata": metadata, "dedup": dedup,
              "scale": scale, "clusters": clusters}


def main(argv: list[str]) -> int:
    unknown = set(argv) - set(BENCHMARKS)
    if unknown:
        print(f"unknown benchmark {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}")
        return 2
    for name, module in BENCHMARKS.items():
        if not argv or name in argv:
            module.run()
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
