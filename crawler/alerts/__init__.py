"""Alerts: format stories per channel, deliver them once through the durable outbox, and watch source health.

* :mod:`crawler.alerts.formatters` — Slack / email / plain-text messages from one story payload.
* :mod:`crawler.alerts.delivery` — the outbox: planning, sending with apprise (retries, backoff), recording.
* :mod:`crawler.alerts.health` — per-source health problems from the crawl stats.

The Scrapy side is ``pipelines.alert.AlertPipeline``.
"""
