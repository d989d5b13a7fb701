"""Keep the secrets of alert URLs out of logs.

Alert URLs carry tokens and passwords (usually through ``${VAR}``). newswatch itself only ever logs
apprise's privacy form of a URL; this module guards what apprise logs on its own: the values
substituted from the environment and the credential-looking parts of each URL are registered, and a
logging filter on the ``apprise`` logger replaces them before any handler sees the record.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

_SECRETS: set[str] = set()
# Shorter strings are not worth redacting and would mangle ordinary words.
_MIN_LEN = 4
MASK = "***"


def register(value: str) -> None:
    """Remember *value* as secret (e.g. an environment variable substituted into a URL)."""
    if value and len(value) >= _MIN_LEN:
        _SECRETS.add(value)
        _SECRETS.add(unquote(value))


def register_url(url: str) -> None:
    """Remember the parts of an apprise URL that can be credentials: user info and path segments."""
    try:
        parts = urlsplit(url)
    except ValueError:
        register(url)
        return
    if parts.password:
        register(parts.password)
    # Token-style schemes (slack://T/B/C, discord://id/token …) keep tokens in the host and path.
    if parts.scheme not in ("mailto", "mailtos", "http", "https", "json", "xml", "form"):
        register(parts.hostname or "")
        for segment in parts.path.split("/"):
            register(segment)


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactFilter(logging.Filter):
    """Rewrites a record's message with every registered secret masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            message = record.getMessage()
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


def guard_apprise_logger() -> None:
    """apprise's DEBUG output prints tokens: keep it at INFO or above, and redact what remains."""
    log = logging.getLogger("apprise")
    if log.getEffectiveLevel() < logging.INFO:
        log.setLevel(logging.INFO)
    if not any(isinstance(f, RedactFilter) for f in log.filters):
        log.addFilter(RedactFilter())


@contextlib.contextmanager
def quiet_apprise() -> Iterator[None]:
    """Silence apprise while it parses a URL: its parse errors echo the whole URL."""
    log = logging.getLogger("apprise")
    previous = log.disabled
    log.disabled = True
    try:
        yield
    finally:
        log.disabled = previous
