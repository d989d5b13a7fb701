"""apprise pointed at the loopback stand-ins: in this process (the ``stand_in_apprise`` fixture) or in the
crawl subprocesses the tests start (``samples/site/sitecustomize.py``)."""

from __future__ import annotations

from pathlib import Path

#: Put on a subprocess's PYTHONPATH so its interpreter loads sitecustomize.py from there.
SITE_DIR = Path(__file__).resolve().parent / "site"
ROOT = SITE_DIR.parent.parent


def point_apprise_at(slack_webhook: str, *, no_pace: bool) -> None:
    """Send apprise's Slack messages to *slack_webhook* (when given) and, with *no_pace*, without the pause
    apprise keeps between two messages to one service. For this whole process: tests only."""
    if not slack_webhook and not no_pace:
        return
    from apprise.plugins.slack import NotifySlack
    from apprise.url import URLBase

    if slack_webhook:
        NotifySlack.webhook_url = slack_webhook.rstrip("/")
    if no_pace:
        URLBase.throttle = _no_pause  # type: ignore[method-assign]


def _no_pause(self: object, last_io: object = None, wait: object = None) -> None:
    """apprise's pause between two messages to one service, skipped."""


def subprocess_env(slack_webhook: str = "", *, no_pace: bool = True) -> dict[str, str]:
    """The environment entries a test subprocess needs for :func:`point_apprise_at` (merge into its env;
    PYTHONPATH keeps the repository importable)."""
    env = {"PYTHONPATH": f"{SITE_DIR}:{ROOT}"}
    if slack_webhook:
        env["NW_TEST_SLACK_WEBHOOK"] = slack_webhook
    if no_pace:
        env["NW_TEST_NO_PACE"] = "1"
    return env
