"""``make eval``'s cross-language part: the labelled pairs are well formed and the frozen rules meet the goal."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.cluster_eval import GOAL_PRECISION, GOAL_RECALL, Tally, default_files, evaluate, load_pairs, main

TUNING, BLIND = default_files()


@pytest.mark.parametrize("path", [*TUNING, *BLIND], ids=lambda p: p.name)
def test_pairs_are_one_english_and_one_italian_story(path: Path) -> None:
    pairs = load_pairs(path)
    assert pairs
    for pair in pairs:
        assert {pair.a.lang, pair.b.lang} == {"en", "it"}, pair.id
        assert pair.a.url != pair.b.url, pair.id


def test_the_tuning_pairs_meet_the_goal() -> None:
    total = Tally("tuning", [v for t in evaluate(TUNING) for v in t.verdicts])
    assert total.count(True, True) + total.count(True, False) >= 18
    assert total.count(False, False) + total.count(False, True) >= 18
    assert total.precision >= GOAL_PRECISION and total.recall >= GOAL_RECALL
    assert main([]) == 0


def test_a_malformed_pair_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("pairs:\n  - id: x\n    label: maybe\n    a: {}\n    b: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="label must be"):
        load_pairs(bad)
    bad.write_text("pairs:\n  - id: x\n    label: same\n    a: {lang: en}\n    b: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing outlet, url, published, title, text"):
        load_pairs(bad)
