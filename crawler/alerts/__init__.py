"""Alerts: format stories per channel, deliver them once through the durable outbox, and watch source health.

* :mod:`crawler.alerts.formatters` — Slack / email / plain-text messages from one story payload.
* :mod:`crawler.alerts.delivery` — the outbox: planning, sending with apprise (retries, backoff), recording.
* :mod:`crawler.alerts.health` — per-source health problems from the crawl stats.

The Scrapy side is ``pipelines.alert.AlertPipeline``.
"""

from crawler.alerts.delivery import (
    SLACK_WEBHOOK_ENV,
    AlertConfigError,
    Channel,
    Job,
    JobResult,
    Outbox,
    apply_slack_webhook_override,
    quiet_secret_loggers,
    wants,
)
from crawler.alerts.formatters import Message, format_digest, format_story, story_payload
from crawler.alerts.health import Problem, check_health, record_notified

__all__ = [
    "SLACK_WEBHOOK_ENV",
    "AlertConfigError",
    "Channel",
    "Job",
    "JobResult",
    "Message",
    "Outbox",
    "Problem",
    "apply_slack_webhook_override",
    "check_health",
    "format_digest",
    "format_story",
    "quiet_secret_loggers",
    "record_notified",
    "story_payload",
    "wants",
]
