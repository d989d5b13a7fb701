"""Evidence keys, pair scores and the cluster decision (crawler.clusters)."""

from __future__ import annotations

import time

import pytest

from crawler.clusters import ClusterLinker, Evidence, body_link_candidates, body_links, score_pair, story_evidence
from crawler.config import ClusterConfig
from crawler.extraction import parse_page
from crawler.state import open_state


def keys(text: str, language: str, title: str = "") -> set[str]:
    return set(story_evidence(title, text, language=language).keys)


# The same fact written in each language's conventions gives the same key.
@pytest.mark.parametrize("english, italian, key", [
    ("It used 2,000 GPUs.", "Ha usato 2.000 GPU.", "f:2000:gpu"),
    ("A $2.5 billion deal.", "Un accordo da 2,5 miliardi di dollari.", "f:2500000000:usd"),
    ("Sales fell 60% last year.", "Le vendite sono calate del 60 per cento.", "f:60:%"),
    ("It grew 12.5 percent.", "È cresciuta del 12,5%.", "f:12.5:%"),
    ("It ships 1.5 million units.", "Spedisce 1,5 milioni di unità.", "f:1500000:unit"),
    ("Made on a 7nm process.", "Prodotto a 7 nm.", "f:7:nm"),
    ("Announced on March 5 in Beijing.", "Annunciato il 5 marzo a Pechino.", "d:03-05"),
    ("It came out on 12 September.", "È uscito il 12 settembre.", "d:09-12"),
    ("The Ascend 910C ships.", "L’Ascend 910C arriva.", "c:910C"),
    ("DeepSeek-R1 is open.", "DeepSeek-R1 è aperto.", "c:R1"),
    ("DeepSeek V3.2 is out.", "È arrivato DeepSeek V3.2.", "c:V3.2"),
    ("Analysts at SMIC said so.", "Lo dicono gli analisti di SMIC.", "n:smic"),
    ("We tested Huawei's chips.", "Abbiamo provato i chip dell’azienda Huawei.", "n:huawei"),
    ("It runs on the Ascend.", "Gira sull'Ascend.", "n:ascend"),
    ("We asked Yuchen Jin about it.", "Ne abbiamo parlato con Yuchen Jin.", "m:yuchen jin"),
    ("The cluster has 384 chips in one rack.", "Il cluster ha 384 chip in un rack.", "f:384:chip"),
    ("The supernode links 7,200 of them.", "Il supernodo ne collega 7.200.", "b:7200"),
])
def test_one_fact_one_key_in_both_languages(english: str, italian: str, key: str) -> None:
    assert key in keys(english, "en")
    assert key in keys(italian, "it")


@pytest.mark.parametrize("text, language, absent", [
    ("In 2025 the company grew.", "en", "b:2025"),  # a year is in every story
    ("The Ascend 910C ships.", "en", "b:910"),  # part of a part number, not a figure
    ("The first chip came out on the 3rd day.", "en", "c:3RD"),  # an ordinal
    ("The company said it would wait.", "en", "n:the"),  # sentence-initial capitals are not names
    ("Secondo gli analisti, il chip arriva.", "it", "n:secondo"),
    ("L’azienda conferma.", "it", "n:azienda"),
    ("Nvidia may 5 times increase it.", "en", "d:05-05"),  # "may" the verb
])
def test_what_is_not_evidence(text: str, language: str, absent: str) -> None:
    assert absent not in keys(text, language)


def test_a_citation_names_the_outlet_and_a_link_names_the_story() -> None:
    it = story_evidence("t", "Secondo quanto riportato da Tom’s Hardware, il chip arriva.", language="it",
                        url="https://www.hdblog.it/x", source="hdblog",
                        links=["https://www.tomshardware.com/news/a?utm_source=rss"])
    assert "s:tomshardware" in it.keys
    assert "u:https://www.tomshardware.com/news/a" in it.keys
    assert "o:hdblog" in it.keys and "self:https://www.hdblog.it/x" in it.keys
    en = story_evidence("t", "The chip arrives.", language="en", url="https://www.tomshardware.com/news/a",
                        source="tomshardware")
    score = score_pair(en, it)
    assert "link:https://www.tomshardware.com/news/a" in score.shared
    assert "cite:tomshardware" in score.shared
    # The lookup finds the story a rewrite links: its own URL is looked up as a link key.
    assert "u:https://www.tomshardware.com/news/a" in en.lookup_keys()


EN = """Huawei's CloudMatrix 384 supernode serves DeepSeek-R1 at 1,920 tokens per second per Ascend 910C chip, according to a paper Huawei and SiliconFlow published on March 18.

The system links 384 Ascend 910C processors and 192 Kunpeng CPUs. In prefill each chip processed 6,688 tokens per second, and the model's weights are quantised to INT8 at a cost of less than 1% of accuracy.

Zhou Yuefeng, who leads Huawei Cloud's Ascend team, said three companies run it on ModelArts Studio. SemiAnalysis puts the draw of a CloudMatrix 384 at about 559 kW."""

IT = """Il supernodo CloudMatrix 384 di Huawei serve DeepSeek-R1 a 1.920 token al secondo per chip Ascend 910C: lo dice un documento pubblicato il 18 marzo da Huawei e SiliconFlow.

Secondo Zhou Yuefeng, responsabile del team Ascend di Huawei Cloud, tre aziende lo usano già su ModelArts Studio. Il sistema collega 384 processori Ascend 910C e 192 CPU Kunpeng; nel prefill ogni chip elabora 6.688 token al secondo, con pesi in INT8 e una perdita inferiore all’1%.

Per SemiAnalysis un CloudMatrix 384 assorbe circa 559 kW."""

OTHER_IT = """Le rese dell’Ascend 910C restano basse. Secondo TrendForce, SMIC produce il chip a 7 nm con una resa intorno al 30 per cento, lontana dal 70 per cento necessario.

Il rapporto stima che Huawei consegni quest’anno circa 650.000 unità Ascend 910B e 910C, molte per i supernodi CloudMatrix che le aziende cinesi usano anche per DeepSeek. Il collo di bottiglia è la memoria HBM, secondo l’analista Frank Kung."""


def test_a_rewrite_joins_and_a_story_on_the_same_subject_does_not() -> None:
    en = story_evidence("Huawei's CloudMatrix 384 serves DeepSeek-R1", EN, language="en")
    it = story_evidence("Huawei: DeepSeek-R1 a 1.920 token al secondo", IT, language="it")
    other = story_evidence("Ascend 910C, rese al 30 per cento", OTHER_IT, language="it")
    assert score_pair(en, it).joins(ClusterConfig.threshold)
    assert score_pair(it, en) == score_pair(en, it)
    assert not score_pair(en, other).joins(ClusterConfig.threshold)


def test_links_inside_the_article_only() -> None:
    html = """<html><body><nav><a href="https://other.example/nav">Other site in the menu</a></nav>
    <article><p>DeepSeek's model runs on Huawei chips, as <a href="https://en.example/story">the original report</a>
    explained in detail yesterday.</p>
    <p>More on this in <a href="/local/story">our own earlier coverage of the same company</a>.</p></article></body></html>"""
    tree = parse_page(html)
    candidates = body_link_candidates(tree, "https://it.example/rewrite")
    text = ("DeepSeek's model runs on Huawei chips, as the original report explained in detail yesterday.\n"
            "More on this in our own earlier coverage of the same company.")
    assert body_links(candidates, text, "https://it.example/rewrite") == ("https://en.example/story",)


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    location = str(tmp_path / "state.sqlite") if request.param == "sqlite" else \
        request.getfixturevalue("redis_server").url
    state = open_state(location, worker="w1")
    yield state
    state.close()


def _record(state, linker, story_id, evidence, language, at):
    from crawler.state import ArticleCommit, StoryFingerprint

    decision = linker.decide(story_id, evidence, language, at)
    state.commit(ArticleCommit(source="s", urls=[f"https://{story_id}.example/"], story_id=story_id,
                               record={"url": f"https://{story_id}.example/"},
                               fingerprint=StoryFingerprint("h" + story_id, b"\x00" * 8, [story_id.encode()]),
                               seen_at=at, cluster=linker.entry(decision, evidence, language, "t", at)))
    return decision


def test_linker_joins_across_languages_within_the_window(store) -> None:
    linker = ClusterLinker(store, ClusterConfig(window_days=7))
    now = time.time()
    en = story_evidence("t", EN, language="en")
    first = _record(store, linker, "en1", en, "en", now - 86400)
    assert first.cluster == "en1" and first.joined is None
    joined = _record(store, linker, "it1", story_evidence("t", IT, language="it"), "it", now)
    assert joined.cluster == "en1" and joined.joined is not None and joined.joined.story_id == "en1"
    other = _record(store, linker, "it2", story_evidence("t", OTHER_IT, language="it"), "it", now)
    assert other.cluster == "it2" and other.best is not None
    # Ten days later the same evidence is outside the window: a new cluster.
    late = linker.decide("it3", story_evidence("t", IT, language="it"), "it", now + 10 * 86400)
    assert late.cluster == "it3" and late.joined is None
    # Candidates are always of another language: an English copy finds the Italian story.
    again = linker.decide("en9", en, "en", now)
    assert again.joined is not None and again.joined.language == "it" and again.cluster == "en1"


def test_empty_evidence_scores_nothing() -> None:
    assert score_pair(Evidence(()), Evidence(())).score == 0.0
