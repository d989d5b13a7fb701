"""Documentation that stays true: README.md and docs/*.md are tested like the code they describe.

YAML blocks
    Every fenced block whose info string starts with ``yaml`` in README.md and docs/*.md (docs/DESIGN.md
    aside) is loaded through the real loader, ``crawler.config.load_config(path, with_targets=True)``:

    * a mapping with both ``sources`` and ``topics`` is a whole config and is loaded as written;
    * a mapping that lacks one of them is merged, key by top-level key, over a minimal valid base: one
      source and the ``topics:`` of the repository's newswatch.yaml;
    * a YAML list is a list of topic rules, loaded as the base's ``topics:``.

    ``${VAR}`` placeholders get dummy values through the environment. The config file is written to the
    test's tmp_path, so relative paths (archive, state) resolve inside it. A block fenced
    ```` ```yaml not-config ```` is deliberately not a config (say, a wrong example shown next to its error
    message) and is not loaded; use that marker sparingly. When a block fails to load, the documentation is
    what is wrong: fix the page, not the loader.

Doctests
    A block fenced ```` ```console doctest ```` is run. Each line starting with ``$ `` is a command; the
    lines after it, up to the next ``$ `` or the end of the block, are its expected output. The command runs
    in bash (``-o pipefail``) with the repository root as working directory, a leading ``python`` replaced by
    this interpreter, in the test server's world:

    * ``$ARCHIVE``: the review CLI's test archive (``tests.test_review_reader.build_archive``);
    * ``${base_<site>}``: the base URL of each sample outlet (``samples.server.Outlets``) on
      loopback, e.g. ``${base_techmag}``; the outlets are started only when a command names one;
    * ``$TMPDIR``: a scratch directory (write files there, never into the repository);
    * ``$NEWSWATCH_STATE``: a state file that does not exist, so ``explain`` never reads a local state;
      the config is the repository's newswatch.yaml; ``COLUMNS`` is unset (``review list`` uses 200).

    These are environment variables, so bash expands them in the command; in the expected output they are
    replaced by their values. The command must exit 0, and every non-blank expected line must appear,
    whitespace-normalised, in the command's stdout or in its stderr (so a line the program wrapped still
    counts); order is not checked. All commands run concurrently, each on its own: a command must not
    depend on what an earlier one did. A command that pipes into ``jq`` is skipped where jq is not
    installed. Each ``python -m crawler`` costs about a second of start-up (its imports), so mark only the
    examples that matter; keep their expected lines stable (no times that change, no ports).

Links
    README.md has at most 200 lines. Every relative link in README.md and docs/*.md points at an existing
    file and, for ``#anchor`` links, at an existing heading (GitHub's rule: lower-case, spaces become ``-``,
    punctuation other than ``-`` and ``_`` is dropped, a repeated heading gets ``-1``, ``-2``…). Every
    ``docs/….md`` a page names, linked or not, exists.

Defaults
    In every table with a "Default" column, a row whose first cell is a key of newswatch.yaml (``crawl.lease``,
    read from the schema, ``crawler.config.Document``) or a setting of crawler/settings.py (``ALERT_RETRIES``)
    must give the real default. A first cell that is neither (and not a ``$VARIABLE``) fails the test.

Nothing here reaches the internet: the URLs in the YAML blocks are parsed, never fetched.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from crawler import secrets
from crawler.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_MAX_LINES = 200
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
#: Pages whose yaml blocks are not configs (DESIGN.md describes contracts, not settings).
NOT_LOADED = {ROOT / "docs" / "DESIGN.md"}
BASE_SOURCE = {"name": "docs-example", "language": "en", "feeds": ["https://news.example.org/feed.xml"]}
NOT_CONFIG = "not-config"
DOCTEST = "doctest"

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_DOCS_MENTION = re.compile(r"(?<![\w./-])docs/[\w./-]+\.md\b")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# -- reading the pages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it opens, its info string's words, its lines."""

    page: Path
    line: int  # 1-based line of the opening fence
    info: tuple[str, ...]
    lines: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{_rel(self.page)}:{self.line}"

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def fenced_blocks(page: Path) -> Iterator[Block]:
    lines = page.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, info = opening.group(1), tuple(opening.group(2).split())
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence) \
                    and not closing.group(2).strip():
                break
            body.append(lines[j])
            j += 1
        yield Block(page, i + 1, info, tuple(body))
        i = j + 1


def prose(page: Path) -> str:
    """The page without its fenced blocks (each replaced by as many blank lines)."""
    lines = page.read_text(encoding="utf-8").split("\n")
    for block in fenced_blocks(page):
        for k in range(block.line - 1, min(block.line + len(block.lines) + 1, len(lines))):
            lines[k] = ""
    return "\n".join(lines)


def _language(block: Block) -> str:
    return block.info[0].lower() if block.info else ""


YAML_BLOCKS = [b for page in PAGES if page not in NOT_LOADED for b in fenced_blocks(page)
               if _language(b) in ("yaml", "yml") and NOT_CONFIG not in b.info[1:]]
DOCTEST_BLOCKS = [b for page in PAGES for b in fenced_blocks(page)
                  if _language(b) == "console" and DOCTEST in b.info[1:]]


# -- YAML blocks ---------------------------------------------------------------------------------------


def _base() -> dict[str, Any]:
    shipped = yaml.safe_load((ROOT / "newswatch.yaml").read_text(encoding="utf-8"))
    return {"sources": [dict(BASE_SOURCE)], "topics": shipped["topics"]}


def config_text(block: Block) -> str:
    """The config file a block stands for (see the module docstring)."""
    try:
        data = yaml.safe_load(block.text)
    except yaml.YAMLError:
        return block.text  # let the loader report it, with its line and column
    if isinstance(data, dict) and "sources" in data and "topics" in data:
        return block.text
    if isinstance(data, list):
        merged = {**_base(), "topics": data}
    elif isinstance(data, dict):
        merged = {**_base(), **data}
    else:
        pytest.fail(f"{block.where}: a yaml block must be a mapping or a list of topic rules, got "
                    f"{type(data).__name__}; fence it ```yaml {NOT_CONFIG} if it is not a config on purpose")
    return yaml.safe_dump(merged, sort_keys=False, allow_unicode=True)


def _dummy(name: str) -> str:
    # Letters and digits only: token-style apprise URLs (slack://A/B/C) accept nothing else everywhere.
    return "Dummy" + re.sub(r"[^A-Za-z0-9]", "", name.title())


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=[b.where for b in YAML_BLOCKS])
def test_yaml_block_is_a_valid_config(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEWSWATCH_CONFIG", "NEWSWATCH_STATE"):
        monkeypatch.delenv(name, raising=False)
    # The loader registers substituted values as secrets; keep the dummies out of later tests' logs.
    monkeypatch.setattr(secrets, "_SECRETS", set())
    for name in sorted(set(_VAR.findall(block.text))):
        monkeypatch.setenv(name, _dummy(name))
    path = tmp_path / "newswatch.yaml"
    path.write_text(config_text(block), encoding="utf-8")
    try:
        config = load_config(path, with_targets=True)
    except ConfigError as exc:
        pytest.fail(f"{block.where}: the example does not load: {exc}", pytrace=False)
    raw = config.raw
    for key, value in (("archive", config.archive), ("state", config.state)):
        written = raw.get(key)
        if written is None or (isinstance(written, str) and not Path(written).is_absolute()):
            assert Path(value).is_relative_to(tmp_path), f"{block.where}: {key} {value} is outside {tmp_path}"


def test_yaml_blocks_are_found() -> None:
    pages = {b.page for b in YAML_BLOCKS}
    assert README in pages and len(YAML_BLOCKS) >= 8, [b.where for b in YAML_BLOCKS]


# -- doctests ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    page: Path
    line: int  # 1-based line of the "$ " line
    command: str
    expected: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{_rel(self.page)}:{self.line}"

    @property
    def needs_jq(self) -> bool:
        return re.search(r"\|\s*jq\b", self.command) is not None


def commands(block: Block) -> list[Command]:
    found: list[Command] = []
    current: tuple[int, str] | None = None
    expected: list[str] = []
    for offset, line in enumerate(block.lines, start=block.line + 1):
        if line.startswith("$ "):
            if current:
                found.append(Command(block.page, current[0], current[1], tuple(expected)))
            current, expected = (offset, line[2:].strip()), []
        elif current:
            expected.append(line)
        elif line.strip():
            raise ValueError(f"{_rel(block.page)}:{offset}: a doctest block must start with a '$ ' command")
    if current:
        found.append(Command(block.page, current[0], current[1], tuple(expected)))
    return found


COMMANDS = [c for b in DOCTEST_BLOCKS for c in commands(b)]


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def _normalise(text: str) -> str:
    return " ".join(text.split())


def fill(text: str, values: dict[str, str]) -> str:
    """*text* with ``$NAME`` / ``${NAME}`` replaced for the world's names (others left alone)."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return values.get(name, m.group(0))

    return _PLACEHOLDER.sub(one, text)


def _run(command: Command, env: dict[str, str]) -> Outcome:
    line = command.command
    if line == "python" or line.startswith("python "):
        line = shlex.quote(sys.executable) + line[len("python"):]
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def doctest_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], dict[Command, Outcome]]]:
    """The world the doctests run in (see the module docstring), and every command's outcome."""
    from samples.server import SITE_NAMES, Outlets
    from tests.test_review_reader import build_archive

    world = tmp_path_factory.mktemp("docs-world")
    (world / "archive").mkdir()
    (world / "tmp").mkdir()
    values = {"ARCHIVE": str(build_archive(world / "archive").path), "TMPDIR": str(world / "tmp"),
              "NEWSWATCH_STATE": str(world / "no-state" / "state.sqlite3")}
    runnable = [c for c in COMMANDS if not (c.needs_jq and shutil.which("jq") is None)]
    with ExitStack() as stack:
        if any("base_" in c.command for c in runnable):
            outlets = Outlets().start()
            # Stopping waits out each server's 0.5 s poll in turn: let it happen while the next tests run.
            stack.callback(lambda: threading.Thread(target=outlets.stop, name="docs-outlets-stop", daemon=True).start())
            values.update({f"base_{site}": outlets.base(site) for site in SITE_NAMES})
        env = dict(os.environ, **values, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        for name in ("NEWSWATCH_CONFIG", "COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
            env.pop(name, None)
        with ThreadPoolExecutor(max_workers=max(1, len(runnable))) as pool:
            outcomes = dict(zip(runnable, pool.map(lambda c: _run(c, env), runnable), strict=True))
        yield values, outcomes


@pytest.mark.subprocess
@pytest.mark.parametrize("command", COMMANDS, ids=[c.where for c in COMMANDS])
def test_doctest_command(command: Command, doctest_world: tuple[dict[str, str], dict[Command, Outcome]]) -> None:
    values, outcomes = doctest_world
    if command not in outcomes:
        pytest.skip(f"{command.where}: jq is not installed")
    outcome = outcomes[command]
    output = outcome.stdout + "\n" + outcome.stderr
    assert outcome.returncode == 0, (f"{command.where}: `{command.command}` exited {outcome.returncode}\n"
                                     f"{outcome.stderr[-3000:]}")
    # Normalised as a whole, so a line the program wrapped (rich wraps at 80 columns when piped) still counts.
    seen = (_normalise(outcome.stdout), _normalise(outcome.stderr))
    missing = [line for line in command.expected
               if _normalise(fill(line, values)) and not any(_normalise(fill(line, values)) in s for s in seen)]
    assert not missing, (f"{command.where}: `{command.command}` no longer prints these lines:\n  "
                         + "\n  ".join(missing) + "\n--- it printed:\n" + output[-6000:])


def test_doctests_are_found() -> None:
    assert len(COMMANDS) >= 3, [c.where for c in COMMANDS]
    assert all(c.expected and any(line.strip() for line in c.expected) for c in COMMANDS), \
        [c.where for c in COMMANDS if not any(line.strip() for line in c.expected)]


# -- links ---------------------------------------------------------------------------------------------


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts by its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    counts: dict[str, int] = {}
    for line in prose(page).split("\n"):
        m = re.match(r"^ {0,3}#{1,6}\s+(.*?)(?:\s+#+\s*)?$", line)
        if not m:
            continue
        base = anchor(m.group(1))
        n = counts.get(base, 0)
        counts[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(page: Path) -> list[tuple[int, str]]:
    """(line, target) of every Markdown link and image outside code."""
    text = prose(page)
    text = _CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", "x", m.group(0)), text)  # keep line numbers
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in _LINK.finditer(text)]


def test_readme_is_short() -> None:
    count = len(README.read_text(encoding="utf-8").splitlines())
    assert count <= README_MAX_LINES, f"README.md has {count} lines (at most {README_MAX_LINES}): move detail to docs/"


@pytest.mark.parametrize("page", PAGES, ids=[_rel(p) for p in PAGES])
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for line, target in links(page):
        if _SCHEME.match(target):
            continue  # http(s), mailto: not checked, never fetched
        path_part, _, fragment = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            broken.append(f"{_rel(page)}:{line}: {target}: no such file")
        elif fragment:
            if dest.suffix != ".md" or dest.is_dir():
                broken.append(f"{_rel(page)}:{line}: {target}: an anchor into a file that is not a page")
            elif fragment not in anchors(dest):
                broken.append(f"{_rel(page)}:{line}: {target}: no heading with that anchor in {_rel(dest)}")
    for match in _DOCS_MENTION.finditer(page.read_text(encoding="utf-8")):
        if not (ROOT / match.group(0)).exists():
            broken.append(f"{_rel(page)}: names {match.group(0)}, which does not exist")
    assert not broken, "\n".join(broken)


def test_anchor_rule() -> None:
    assert anchor("Reviewing the archive: `python -m crawler review`") == \
        "reviewing-the-archive-python--m-crawler-review"
    assert anchor("Sample outlets (for tests and the demo)") == "sample-outlets-for-tests-and-the-demo"
    assert anchor("Topics: what counts as a match") == "topics-what-counts-as-a-match"


# -- defaults in the tables ----------------------------------------------------------------------------

def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _schema_keys() -> dict[str, Any]:
    from crawler.config import Document
    from crawler.schema import keys_of

    return {k.path: k for k in keys_of(Document)}


SCHEMA_KEYS = _schema_keys()
REFERENCE = ROOT / "docs" / "configuration.md"


@dataclass(frozen=True)
class Row:
    where: str
    key: str
    cells: dict[str, str]  # header (lower case) -> cell


def key_rows() -> list[Row]:
    """Every row of a table with a "default" column whose first cell is a key of newswatch.yaml
    (``crawl.lease``), a setting of crawler/settings.py (``ALERT_RETRIES``) or a ``$VARIABLE``."""
    import crawler.settings

    rows = []
    for page in PAGES:
        header: list[str] | None = None
        previous = ""
        for n, line in enumerate(prose(page).split("\n"), 1):
            if not line.startswith("|"):
                header = None
            elif not previous.startswith("|"):  # a table's header
                names = [c.lower() for c in _cells(line)]
                header = names if "default" in names else None
            elif header is not None and not set(line) <= set("|-: "):
                cells = _cells(line)
                name = re.match(r"`([^`]+)`", cells[0])
                assert name, f"{_rel(page)}:{n}: the first cell names no key"
                key = name.group(1)
                if key.startswith("$"):
                    continue
                assert key in SCHEMA_KEYS or (key.isupper() and hasattr(crawler.settings, key)), \
                    f"{_rel(page)}:{n}: {key} is not a key of newswatch.yaml nor a setting"
                rows.append(Row(f"{_rel(page)}:{n}", key, dict(zip(header, cells, strict=False))))
            previous = line
    return rows


KEY_ROWS = key_rows()


def _default(key: str) -> Any:
    import crawler.settings

    info = SCHEMA_KEYS.get(key)
    return getattr(crawler.settings, key) if info is None else info


@pytest.mark.parametrize("row", KEY_ROWS, ids=[r.where for r in KEY_ROWS])
def test_documented_default_is_the_real_one(row: Row) -> None:
    from dataclasses import MISSING

    from crawler.schema import KeyInfo

    documented = row.cells["default"].strip("`")
    actual = _default(row.key)
    if isinstance(actual, KeyInfo):
        if documented == "required" or actual.required:
            assert documented == "required" and actual.required, f"{row.where}: {row.key}"
            return
        if "allowed" in row.cells:
            assert row.cells["allowed"] == actual.allowed, f"{row.where}: {row.key}"
        if documented in SCHEMA_KEYS:  # "the value of that key" (the page says how)
            return
        if documented == "one per core":
            assert row.key == "crawl.workers" and actual.default == (os.cpu_count() or 1)
            return
        actual = None if actual.default in (MISSING, None, ()) else actual.default
    if actual is None:
        assert documented == "", f"{row.where}: {row.key} has no default, the page says {documented!r}"
    elif isinstance(actual, bool):
        assert documented == str(actual).lower(), f"{row.where}: {row.key}"
    elif isinstance(actual, (int, float)):
        assert float(documented) == actual, f"{row.where}: {row.key} is {actual}, the page says {documented}"
    else:
        assert documented == str(actual), f"{row.where}: {row.key} is {actual!r}, the page says {documented!r}"


def test_the_reference_lists_every_key() -> None:
    listed = [r.key for r in KEY_ROWS if r.where.startswith(_rel(REFERENCE))]
    expected = [k for k in SCHEMA_KEYS if not k.startswith("topics[]")]
    assert sorted(listed) == sorted(expected)
    assert {"crawl.lease", "crawl.idle_close", "state", "archive", "ALERT_RETRIES"} <= {r.key for r in KEY_ROWS}
