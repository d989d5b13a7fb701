"""The labelled EN/IT evaluation set: every case is its own test, plus the evaluate CLI."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from crawler.evaluate import DEFAULT_CASES, ROOT, default_topics_path, evaluate, load_cases, load_topics, main

TOPICS = load_topics(default_topics_path())
CASES = [case for path in DEFAULT_CASES for case in load_cases(path, TOPICS.names)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_labelled_case(case):
    got = {m.topic for m in TOPICS.match(case.title, case.body)}
    explanation = "\n".join(
        f"{c.topic} {c.field} {c.text!r} accepted={c.accepted} {c.reason}" for c in TOPICS.explain(case.title, case.body)
    )
    assert got == set(case.topics), explanation


def test_default_topics_are_the_three_named():
    assert TOPICS.names == ["ascend", "deepseek", "h800"]


def test_set_is_large_and_bilingual():
    assert len(CASES) >= 100
    langs = [c.lang for c in CASES]
    assert set(langs) == {"en", "it"}
    assert min(langs.count("en"), langs.count("it")) >= 0.45 * len(CASES)
    for lang in ("en", "it"):
        for topic in TOPICS.names:
            assert any(topic in c.topics for c in CASES if c.lang == lang), (lang, topic)
        assert any(not c.topics for c in CASES if c.lang == lang)


@pytest.mark.parametrize(
    "family",
    [
        "Ascend Wellness",
        "Ascend P7",
        "Ascend Mate",
        "ascend further",  # the English verb
        "Ascend to new heights",
        "ascendente",
        "Ascendere",
        "Logitech H800",
        "PERC H800",
        "$DEEPSEEK",
        "DeepSeek token",
        "token DeepSeek",
        "meme coin DeepSeek",
    ],
)
def test_every_false_positive_family_is_covered_by_negatives(family):
    hits = [c for c in CASES if family in c.title + " " + c.body]
    assert hits, family
    # each family appears in at least one case where it is the only reason to match
    assert any(not c.topics for c in hits), family


@pytest.mark.parametrize(
    "variant",
    ["l’Ascend", "dell’H800", "sull’Ascend", "“H800”", "\u2011", "\u00ad", "H800s", "DeepSeek's", "DeepSeek AI",
     "modello di DeepSeek", "H800 di Nvidia", "GPU H800", "chip Ascend di Huawei", "acceleratori Ascend",
     "CloudMatrix 384", "Atlas 900 SuperPoD", "Ascend 910B", "Ascend 950", "DeepSeek-V3", "R1"],
)
def test_real_phrasings_are_covered_by_positives(variant):
    assert any(variant in c.title + " " + c.body and c.topics for c in CASES), variant


def test_mixed_perc_and_nvidia_case_exists():
    assert any("PERC H800" in c.body and "h800" in c.topics for c in CASES)


def test_evaluate_scores_are_perfect():
    report = evaluate(TOPICS, CASES)
    assert report.wrong == []
    for (topic, lang), score in report.scores.items():
        assert score.precision == 1.0 and score.recall == 1.0, (topic, lang)


def _write_cases(path: Path, cases: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"cases": cases}, allow_unicode=True), encoding="utf-8")
    return path


def test_cli_plain_output_and_exit_codes(tmp_path):
    good = {"id": "g1", "lang": "en", "title": "Nvidia H800 news", "body": "", "topics": ["h800"]}
    wrong = {"id": "w1", "lang": "it", "title": "Oroscopo", "body": "L’ascendente in Toro.", "topics": ["ascend"]}
    out = io.StringIO()
    assert main(["--cases", str(_write_cases(tmp_path / "ok.yaml", [good]))], out=out) == 0
    text = out.getvalue()
    assert "h800" in text and "1.00" in text and "│" not in text  # plain text, not a rich table

    out = io.StringIO()
    assert main(["--cases", str(_write_cases(tmp_path / "bad.yaml", [good, wrong]))], out=out) == 1
    text = out.getvalue()
    assert "w1 [it] expected ascend, got none" in text
    assert "1 wrong case" in text


def test_cli_rejects_unknown_topic_label(tmp_path):
    case = {"id": "x", "lang": "en", "title": "t", "body": "b", "topics": ["nonesuch"]}
    with pytest.raises(ValueError, match="nonesuch"):
        main(["--cases", str(_write_cases(tmp_path / "c.yaml", [case]))], out=io.StringIO())


def test_cli_reports_bad_rules(tmp_path, capsys):
    bad = tmp_path / "topics.yaml"
    bad.write_text("topics:\n  - name: x\n    terms: ['']\n", encoding="utf-8")
    assert main(["--topics", str(bad)], out=io.StringIO()) == 2
    assert "topics[0] (x).terms[0].term" in capsys.readouterr().err


@pytest.mark.subprocess
def test_module_runs_when_piped():
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.evaluate"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "precision" in proc.stdout and "All cases correct." in proc.stdout


def test_default_topics_path_follows_the_config_env(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSWATCH_CONFIG", raising=False)
    assert default_topics_path(tmp_path) == tmp_path / "newswatch.yaml"
    monkeypatch.setenv("NEWSWATCH_CONFIG", str(tmp_path / "other.yaml"))
    assert default_topics_path(tmp_path) == tmp_path / "other.yaml"
