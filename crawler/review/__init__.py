"""``python -m crawler review``: search the JSONL archive and write an HTML report.

- :mod:`crawler.review.reader` streams records from the archive and its rotated siblings.
- :mod:`crawler.review.query` filters and aggregates them in bounded memory.
- :mod:`crawler.review.report` renders the self-contained HTML report.
- :mod:`crawler.review.cli` is the command line (``register(subparsers)`` / ``main(argv)``).
"""
