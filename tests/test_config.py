"""Config loading: every mistake stops the run with file, key and problem named."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from crawler.config import ConfigError, load_config

BASE: dict[str, Any] = {
    "sources": [
        {"name": "techmag", "language": "en", "feeds": ["http://127.0.0.1:9/feeds.xml"]},
        {"name": "listit", "language": "it",
         "listings": [{"url": "http://127.0.0.1:9/notizie/", "follow": r"^/notizie/\d{4}/"}]},
    ],
    "topics": [{"name": "deepseek", "terms": ["DeepSeek"]}, {"name": "h800", "terms": ["H800"]}],
    "archive": "out/archive.jsonl",
    "state": "out/state.sqlite3",
}


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "newswatch.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def variant(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    change(data)
    return data


def test_valid_config_loads_with_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    assert [s.name for s in config.sources] == ["techmag", "listit"]
    assert config.sources[1].listings[0].follow.search("/notizie/2026/x/")
    assert config.sources[1].listings[0].max_pages == 5
    assert config.archive == tmp_path / "out/archive.jsonl"  # relative to the config file
    assert config.state == tmp_path / "out/state.sqlite3"
    assert config.retention_days == 90
    assert config.alerts == [] and config.health == []
    assert config.topics.names == ["deepseek", "h800"]
    assert config.crawl.max_rechecks_per_source == 20
    assert config.crawl.workers == (os.cpu_count() or 1) and config.crawl.page_timeout == 60.0


@pytest.mark.parametrize(("language", "zone", "expected"), [
    ("it", None, "Europe/Rome"),  # Italian is spoken in one zone
    ("en", None, None),  # English is not: naive times wait for the feed's instant
    ("en", "America/New_York", "America/New_York"),
    ("it", "Europe/Zurich", "Europe/Zurich"),  # Ticino
])
def test_source_timezone(tmp_path: Path, language: str, zone: str | None, expected: str | None) -> None:
    data = copy.deepcopy(BASE)
    data["sources"][0]["language"] = language
    if zone:
        data["sources"][0]["timezone"] = zone
    assert load_config(write(tmp_path, data)).sources[0].timezone == expected


def _set(path: list[Any], value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def _delete(path: list[Any]) -> Any:
    def change(data: dict[str, Any]) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return change


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (_set(["colour"], "blue"), "colour", "unknown key"),
        (_delete(["sources"]), "sources", "missing required key"),
        (_set(["sources"], []), "sources", "non-empty list"),
        (_delete(["sources", 0, "name"]), "sources[0].name", "missing required key"),
        (_set(["sources", 1, "name"], "techmag"), "sources[1].name", "duplicate source name"),
        (_set(["sources", 0, "language"], "english"), "sources[0] (techmag).language", "ISO 639-1"),
        (_set(["sources", 0, "feeds"], ["ftp://x/feed"]), "sources[0] (techmag).feeds[0]", "not an http(s) URL"),
        (_set(["sources", 0, "feeds"], "http://x/feed"), "sources[0] (techmag).feeds", "must be a list"),
        (_set(["sources", 0, "fedds"], []), "sources[0].fedds", "unknown key"),
        (_set(["sources", 0, "timezone"], "Europe/Milano"), "sources[0] (techmag).timezone", "unknown time zone"),
        (_set(["sources", 0, "timezone"], "+02:00"), "sources[0] (techmag).timezone", "IANA name"),
        (_set(["crawl"], {"max_rechecks_per_source": -1}), "crawl.max_rechecks_per_source", "between 0 and 10000"),
        (_set(["crawl"], {"workers": -1}), "crawl.workers", "between 0 and 64"),
        (_set(["crawl"], {"workers": "two"}), "crawl.workers", "an integer"),
        (_set(["crawl"], {"page_timeout": 0}), "crawl.page_timeout", "between 1.0 and 3600.0"),
        (_set(["sources", 0, "enabled"], "no"), "sources[0] (techmag).enabled", "true or false"),
        (_set(["sources", 1, "listings", 0, "follow"], "(unclosed"),
         "sources[1] (listit).listings[0].follow", "bad regular expression"),
        (_delete(["sources", 1, "listings", 0, "follow"]), "sources[1] (listit).listings[0].follow",
         "missing required key"),
        (_set(["sources", 1, "listings"], []), "sources[1] (listit)", "needs at least one of"),
        (_set(["retention_days"], 0), "retention_days", "at least 1"),
        (_set(["retention_days"], True), "retention_days", "must be an integer"),
        (_set(["dedup"], {"threshold": 1.5}), "dedup.threshold", "between"),
        (_set(["crawl"], {"download_timout": 3}), "crawl.download_timout", "unknown key"),
        (_set(["alerts"], [{"url": "slack://${NEWSWATCH_TEST_UNSET_VAR}/B/C"}]), "alerts[0].url",
         "${NEWSWATCH_TEST_UNSET_VAR} is not set"),
        (_set(["alerts"], [{"url": "bogus://hello"}]), "alerts[0].url", "not a notification URL"),
        (_set(["alerts"], [{"url": "json://127.0.0.1:9/", "topics": ["ascend"]}]), "alerts[0].topics[0]",
         "unknown topic 'ascend'"),
        (_set(["alerts"], [{"url": "json://127.0.0.1:9/", "mode": "weekly"}]), "alerts[0].mode",
         "'instant' or 'digest'"),
        (_set(["alerts"], [{"url": "json://127.0.0.1:9/", "max_per_run": 0}]), "alerts[0].max_per_run",
         "at least 1"),
        (_set(["health"], [{"url": "json://127.0.0.1:9/", "mode": "digest"}]), "health[0].mode", "unknown key"),
        (_set(["topics"], [{"name": "x", "terms": []}]), "topics[0]", ""),
    ],
)
def test_config_errors_name_file_key_and_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  change: Any, key: str, problem: str) -> None:
    monkeypatch.delenv("NEWSWATCH_TEST_UNSET_VAR", raising=False)
    path = write(tmp_path, variant(change))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert err.file == str(path)
    assert err.key.startswith(key)
    assert problem in err.problem
    assert str(err).startswith(f"{path}: {key}")


@pytest.mark.parametrize(
    ("text", "problem"),
    [("sources: [\n  - name: a\n  bad", "invalid YAML: line"), ("- just\n- a list\n", "must be a mapping")],
)
def test_unreadable_yaml(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_config(write(tmp_path, text))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found") as info:
        load_config(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(info.value)


def test_config_env_variable_selects_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, BASE)
    monkeypatch.setenv("NEWSWATCH_CONFIG", str(path))
    assert load_config().path == path


def test_secrets_are_substituted_and_never_echoed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NW_SLACK_TOKEN_C", "s3cr3tTokenValue42")
    data = variant(_set(["alerts"], [{"url": "slack://T0AAAAAAA/B0BBBBBBB/${NW_SLACK_TOKEN_C}/#news"}]))
    config = load_config(write(tmp_path, data))
    target = config.alerts[0]
    assert "s3cr3tTokenValue42" in target.url
    assert "s3cr3tTokenValue42" not in target.privacy_url
    assert "s3cr3tTokenValue42" not in repr(target)
    # the id is derived from the template, so it is stable and holds no secret
    assert target.id and "s3cr3t" not in target.id

    # A URL apprise rejects is reported without its secret parts.
    monkeypatch.setenv("NW_SMTP_PASSWORD", "hunter2hunter2")
    data = variant(_set(["alerts"], [{"url": "slack://only-one-part-${NW_SMTP_PASSWORD}"}]))
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, data))
    assert "hunter2hunter2" not in str(info.value)


def test_terminal_tools_load_without_alert_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NW_UNSET_FOR_TOOLS", raising=False)
    path = write(tmp_path, variant(_set(["alerts"], [{"url": "slack://${NW_UNSET_FOR_TOOLS}/b/c"}])))
    with pytest.raises(ConfigError):
        load_config(path)
    config = load_config(path, with_targets=False)
    assert config.alerts == [] and config.topics.names == ["deepseek", "h800"]


@pytest.mark.parametrize(("state", "env", "redis_url"), [
    ("out/state.sqlite3", None, None),
    ("redis://127.0.0.1:6379/0", None, "redis://127.0.0.1:6379/0"),
    ("rediss://:pw@redis.lan:6380/2", None, "rediss://:pw@redis.lan:6380/2"),
    ("unix:///run/redis.sock", None, "unix:///run/redis.sock"),
    ("out/state.sqlite3", "redis://10.0.0.5:6379/1", "redis://10.0.0.5:6379/1"),  # the environment wins
])
def test_state_is_a_file_or_a_redis_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state: str,
                                        env: str | None, redis_url: str | None) -> None:
    if env is None:
        monkeypatch.delenv("NEWSWATCH_STATE", raising=False)
    else:
        monkeypatch.setenv("NEWSWATCH_STATE", env)
    config = load_config(write(tmp_path, variant(lambda d: d.update(state=state))))
    assert config.redis_url == redis_url
    assert "pw" not in repr(config)


@pytest.mark.parametrize(("state", "problem"), [
    ("ftp://127.0.0.1/state", "unsupported state URL scheme 'ftp'"),
    ("redis://:Secr3tPass@:6379/0", "no host"),
    ("redis://:Secr3tPass@127.0.0.1:port/0", "invalid Redis URL redis://:***@"),
])
def test_a_bad_state_url_is_refused_with_its_password_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             state: str, problem: str) -> None:
    monkeypatch.delenv("NEWSWATCH_STATE", raising=False)
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, variant(lambda d: d.update(state=state))))
    assert caught.value.key == "state" and problem in caught.value.problem
    assert "Secr3tPass" not in str(caught.value)


def test_a_bad_state_url_from_the_environment_names_the_variable(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWATCH_STATE", "mongodb://db/state")
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, BASE))
    assert caught.value.key == "state (from $NEWSWATCH_STATE)"
