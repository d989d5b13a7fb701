"""Duplicate detection: normalisation, exact and near duplicates, one-way links, the pipeline."""

from __future__ import annotations

import pytest
from scrapy import signals
from scrapy.utils.misc import build_from_crawler

from crawler.config import DedupConfig
from crawler.dedup import Deduplicator, normalise_text, text_hash
from crawler.items import Story
from crawler.state import open_state
from pipelines.commit import CommitPipeline
from pipelines.dedup import DedupPipeline
from tests.support.components import newswatch_crawler, write_config

DEFAULTS = DedupConfig()  # the `dedup:` section as shipped

# --- fixture articles ------------------------------------------------------
# Six-paragraph originals, variants an outlet would publish of them, and other
# stories on the same subject (same topic words, different text).

EN_HEADLINE = "Huawei starts shipping Ascend 910C accelerators to Chinese cloud providers"
EN_BODY = [
    "Huawei has begun shipping its Ascend 910C AI accelerator in volume to several large Chinese cloud "
    "providers, according to people familiar with the deliveries. The chip is built from two 910B dies in a "
    "single package and is meant to replace NVIDIA hardware that can no longer be exported to China.",
    "The first batches went to data centres run by ByteDance, Baidu and China Mobile, which placed orders "
    "late last year after testing engineering samples. Each customer reportedly received several thousand "
    "units, with larger deliveries planned for the second half of the year.",
    "Internal benchmarks seen by the sources put the 910C at roughly sixty percent of the inference "
    "performance of an NVIDIA H100, but close to the H800 that Chinese firms bought before the latest "
    "export rules took effect. Training performance is said to lag further behind because of the "
    "interconnect.",
    "Supply remains the main constraint. The dies are made by SMIC on its N+2 process, where yields are "
    "still well below those of TSMC, and Huawei has had to ration high bandwidth memory that it stockpiled "
    "before restrictions on HBM exports were tightened in December.",
    "DeepSeek, whose R1 model shook the industry in January, has said it runs part of its inference on "
    "Ascend hardware. Analysts expect other model developers to follow if Huawei can keep its software "
    "stack, CANN, compatible with the frameworks that developers already use.",
    "Huawei declined to comment on customers or volumes. The company said in a statement that its "
    "computing business continues to grow and that it will share more details about the Ascend roadmap "
    "at its developer conference in June.",
]
EN_ORIGINAL = EN_HEADLINE + "\n\n" + "\n\n".join(EN_BODY)

EN_NEW_HEADLINE = "Report: Huawei Ascend 910C now shipping in volume, rivals H800"
EN_REWRITTEN_FIRST = (
    "Chinese cloud giants are now receiving Huawei's Ascend 910C accelerator in large numbers, sources "
    "told reporters this week. The dual-die part, which pairs two 910B chips, is Huawei's answer to the "
    "NVIDIA GPUs that US export controls keep out of the country."
)
EN_UPDATE = (
    "Update: A Huawei spokesperson later confirmed that 910C shipments have started but would not say "
    "which customers have received them or how many units were delivered."
)
EN_LIGHT_EDIT_P4 = (
    "Supply is still the main constraint. SMIC makes the dies on its N+2 process, where yields remain "
    "well below TSMC's, and Huawei has been rationing high bandwidth memory it stockpiled before "
    "HBM export restrictions were tightened in December."
)

EN_OTHER_ASCEND = "\n\n".join(
    [
        "Huawei outlined a three-year roadmap for its Ascend AI accelerators at a press event in Shenzhen on "
        "Tuesday, promising a new chip every year. The Ascend 950 will arrive next year with Huawei's own "
        "high bandwidth memory, followed by the 960 and 970.",
        "Rotating chairman Eric Xu said the company would link thousands of Ascend chips into supernodes to "
        "make up for the weaker performance of each individual chip compared with NVIDIA's best products. "
        "The largest cluster, Atlas 960, will hold more than fifteen thousand accelerators.",
        "Xu acknowledged that US sanctions have left Huawei unable to use TSMC and that its chips will stay "
        "behind on process technology for some time. The company is betting on packaging, interconnect and "
        "memory to close the gap with the H100 and H800.",
        "Huawei did not give prices. Chinese buyers such as ByteDance and Baidu have been testing Ascend "
        "parts, and the government has urged state data centres to prefer domestic hardware over NVIDIA "
        "products.",
        "DeepSeek and other Chinese model developers have said they want more domestic computing capacity. "
        "Analysts said the roadmap signals that Huawei expects demand to outstrip supply for years.",
        "The announcement came a day after Chinese regulators told companies to stop buying NVIDIA's RTX "
        "Pro 6000D, a chip designed for the Chinese market.",
    ]
)
# A follow-up from the same newsroom that reuses one background paragraph of the original.
EN_FOLLOW_UP = "\n\n".join(
    [
        "ByteDance has ordered a further batch of Huawei Ascend 910C accelerators for a new data centre in "
        "Inner Mongolia, two people with knowledge of the purchase said on Friday. The order is the largest "
        "single purchase of domestic AI chips by a Chinese internet company so far.",
        EN_BODY[3],
        "The data centre will host recommendation and video models for Douyin. ByteDance has also kept "
        "buying NVIDIA H20 chips where it can, and rents capacity abroad for training its largest models.",
        "ByteDance and Huawei did not respond to requests for comment.",
    ]
)

IT_HEADLINE = "DeepSeek addestra il nuovo modello R2 sugli acceleratori Huawei Ascend"
IT_BODY = [
    "DeepSeek starebbe addestrando il suo prossimo modello linguistico, R2, su cluster di acceleratori "
    "Huawei Ascend 910B invece che sulle GPU NVIDIA H800 usate per le versioni precedenti. Lo riportano "
    "fonti vicine alla società di Hangzhou, secondo cui il passaggio è stato deciso dopo le nuove "
    "restrizioni americane.",
    "Il cambio non sarebbe stato indolore. Gli ingegneri di DeepSeek avrebbero lavorato per mesi con il "
    "team di Huawei per adattare il codice di addestramento al software CANN, che offre meno strumenti e "
    "librerie rispetto all'ecosistema CUDA di NVIDIA.",
    "Secondo le stesse fonti, i problemi di stabilità dei cluster più grandi hanno costretto l'azienda a "
    "ripetere diverse sessioni di addestramento, facendo slittare il lancio di R2 previsto inizialmente "
    "per la primavera.",
    "Huawei avrebbe messo a disposizione di DeepSeek un gruppo di tecnici che lavora direttamente nei "
    "data center della startup. Per il colosso cinese si tratta di una vetrina importante: dimostrare che "
    "un modello di punta può essere addestrato interamente su chip domestici.",
    "Gli analisti restano prudenti. Le prestazioni dei chip Ascend in addestramento sono ancora inferiori "
    "a quelle delle H800, e la produzione di SMIC non basta a soddisfare la domanda di tutte le aziende "
    "cinesi che sviluppano intelligenza artificiale.",
    "DeepSeek non ha commentato le indiscrezioni. Il modello R1, presentato a gennaio, aveva sorpreso il "
    "settore per i costi di addestramento molto contenuti rispetto ai concorrenti statunitensi.",
]
IT_ORIGINAL = IT_HEADLINE + "\n\n" + "\n\n".join(IT_BODY)
IT_NEW_HEADLINE = "R2 di DeepSeek nasce su chip Huawei: addio alle NVIDIA H800?"
IT_REWRITTEN_FIRST = (
    "Secondo indiscrezioni provenienti da Hangzhou, DeepSeek avrebbe scelto i chip Huawei Ascend 910B per "
    "addestrare R2, il suo nuovo modello, abbandonando le NVIDIA H800 impiegate finora. La decisione "
    "sarebbe arrivata dopo l'ultima stretta degli Stati Uniti sulle esportazioni."
)
IT_UPDATE = (
    "Aggiornamento: in serata un portavoce di Huawei ha confermato la collaborazione tecnica con DeepSeek, "
    "senza però fornire dettagli sul numero di acceleratori coinvolti."
)
IT_OTHER_DEEPSEEK = "\n\n".join(
    [
        "DeepSeek ha pubblicato V3.1, un aggiornamento del suo modello principale che secondo l'azienda è "
        "ottimizzato per i chip prodotti in Cina. La società di Hangzhou non ha indicato quali acceleratori, "
        "ma gli osservatori pensano agli Huawei Ascend.",
        "Il nuovo formato numerico UE8M0 FP8 adottato da DeepSeek sarebbe pensato proprio per la prossima "
        "generazione di chip domestici. La notizia ha fatto salire in borsa i titoli di diversi produttori "
        "cinesi di semiconduttori.",
        "Le GPU NVIDIA H800 restano comunque diffuse nei data center cinesi, acquistate prima che le "
        "restrizioni americane ne bloccassero la vendita. DeepSeek aveva addestrato R1 proprio su un "
        "cluster di H800.",
        "Il modello V3.1 introduce anche una modalità di ragionamento che si attiva a richiesta e migliora "
        "le prestazioni negli agenti software, secondo i test pubblicati dall'azienda.",
        "DeepSeek non ha detto quando arriverà R2, atteso da mesi dagli sviluppatori.",
        "Il modello è disponibile con licenza MIT su Hugging Face e tramite le API dell'azienda a prezzi "
        "invariati.",
    ]
)


def _join(headline: str, paragraphs: list[str]) -> str:
    return headline + "\n\n" + "\n\n".join(paragraphs)


# (case, original, other text, expected kind). Positives are copies a desk wants as one story.
PAIRS = [
    ("en: same text, new headline", EN_ORIGINAL, _join(EN_NEW_HEADLINE, EN_BODY), "near"),
    ("en: 'Update:' paragraph added", EN_ORIGINAL, _join(EN_HEADLINE, EN_BODY + [EN_UPDATE]), "near"),
    ("en: first paragraph rewritten", EN_ORIGINAL, _join(EN_HEADLINE, [EN_REWRITTEN_FIRST] + EN_BODY[1:]), "near"),
    (
        "en: headline + first paragraph + update + one paragraph edited",
        EN_ORIGINAL,
        _join(EN_NEW_HEADLINE, [EN_REWRITTEN_FIRST] + EN_BODY[1:3] + [EN_LIGHT_EDIT_P4] + EN_BODY[4:] + [EN_UPDATE]),
        "near",
    ),
    ("en: body only, typographic quotes", EN_ORIGINAL, "\n\n".join(EN_BODY).replace("'", "\u2019"), "near"),
    ("it: nuovo titolo", IT_ORIGINAL, _join(IT_NEW_HEADLINE, IT_BODY), "near"),
    ("it: paragrafo 'Aggiornamento'", IT_ORIGINAL, _join(IT_HEADLINE, IT_BODY + [IT_UPDATE]), "near"),
    ("it: primo paragrafo riscritto", IT_ORIGINAL, _join(IT_HEADLINE, [IT_REWRITTEN_FIRST] + IT_BODY[1:]), "near"),
    (
        "it: titolo + primo paragrafo + aggiornamento",
        IT_ORIGINAL,
        _join(IT_NEW_HEADLINE, [IT_REWRITTEN_FIRST] + IT_BODY[1:] + [IT_UPDATE]),
        "near",
    ),
    ("en: other Ascend story", EN_ORIGINAL, EN_OTHER_ASCEND, None),
    ("en: follow-up reusing a paragraph", EN_ORIGINAL, EN_FOLLOW_UP, None),
    ("it: altra notizia DeepSeek", IT_ORIGINAL, IT_OTHER_DEEPSEEK, None),
    ("en vs it: same story, other language", EN_ORIGINAL, IT_ORIGINAL, None),
]


@pytest.fixture
def state(tmp_path):
    store = open_state(tmp_path / "state.sqlite")
    yield store
    store.close()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Huawei’s  “Ascend”\u00a0910C — ready!", "huawei s ascend 910c ready"),
        ("ＤｅｅｐＳｅｅｋ Ｒ１", "deepseek r1"),  # full-width forms fold under NFKC
        ("L'IA di NVIDIA: H800, \u00abgià\u00bb venduta…", "l ia di nvidia h800 già venduta"),
        ("STRASSE Straße", "strasse strasse"),  # casefold, not lower
        ("  \n\t ", ""),
    ],
)
def test_normalise_text(raw, expected):
    assert normalise_text(raw) == expected


def test_text_hash_ignores_form_only():
    assert text_hash("Huawei’s Ascend — 910C") == text_hash("huawei's ascend - 910c")
    assert text_hash("Ascend 910C") != text_hash("Ascend 910B")
    assert len(text_hash("x")) == 64


@pytest.mark.parametrize(("case", "original", "other", "expected"), PAIRS, ids=[p[0] for p in PAIRS])
def test_pairs_at_default_threshold(state, case, original, other, expected):
    dedup = Deduplicator(state, DEFAULTS)
    assert dedup.check("orig", original).kind is None
    dedup.record("orig", "https://a.example/orig", "a", original)
    kind, duplicate_of, similarity = dedup.check("copy", other)
    assert kind == expected, f"{case}: similarity {similarity:.3f}"
    assert duplicate_of == ("orig" if expected else None)
    # Keep a margin: copies well above the threshold, other stories far below it.
    if expected:
        assert similarity >= DEFAULTS.threshold + 0.05, case
    else:
        assert similarity <= DEFAULTS.threshold - 0.25, case


def test_exact_duplicate_under_other_url(state):
    dedup = Deduplicator(state, DEFAULTS)
    dedup.record("a1", "https://a.example/1", "a", EN_ORIGINAL)
    # Same text reached via a sitemap under another URL, with different typography.
    result = dedup.check("a2", EN_ORIGINAL.replace("'", "\u2019").upper())
    assert result == ("exact", "a1", 1.0)


def test_reprocessing_a_story_is_not_a_duplicate_of_itself(state):
    dedup = Deduplicator(state, DEFAULTS)
    dedup.record("s1", "https://a.example/1", "a", EN_ORIGINAL)
    assert dedup.check("s1", EN_ORIGINAL).kind is None
    # Even after an edit that would make it a near copy of itself.
    assert dedup.check("s1", EN_ORIGINAL + "\n\n" + EN_UPDATE).kind is None
    dedup.record("s1", "https://a.example/1", "a", EN_ORIGINAL + "\n\n" + EN_UPDATE)
    assert state.story_count() == 1


@pytest.mark.parametrize("order", [("x", "y", "z"), ("z", "y", "x"), ("y", "x", "z")])
def test_links_point_one_way_to_the_first_recorded(state, order):
    """Whichever copy is recorded first is the original; the others point at it, never back."""
    texts = {
        "x": EN_ORIGINAL,
        "y": _join(EN_NEW_HEADLINE, EN_BODY + [EN_UPDATE]),
        "z": _join(EN_HEADLINE, [EN_REWRITTEN_FIRST] + EN_BODY[1:]),
    }
    dedup = Deduplicator(state, DEFAULTS)
    links = {}
    for story_id in order:
        kind, duplicate_of, _ = dedup.check(story_id, texts[story_id])
        dedup.record(story_id, f"https://o.example/{story_id}", "o", texts[story_id], duplicate_of=duplicate_of)
        links[story_id] = duplicate_of
    first = order[0]
    assert links == {sid: (None if sid == first else first) for sid in order}
    # Only the original is indexed, and checking again gives the same answers.
    assert state.story_count() == 1
    for story_id in order[1:]:
        assert dedup.check(story_id, texts[story_id]).duplicate_of == first
        assert state.is_known_url(f"https://o.example/{story_id}")


def test_dedup_survives_a_new_run(tmp_path):
    path = tmp_path / "state.sqlite"
    first = open_state(path)
    Deduplicator(first, DEFAULTS).record("a1", "https://a.example/1", "a", IT_ORIGINAL)
    first.close()
    second = open_state(path)
    try:
        result = Deduplicator(second, DEFAULTS).check("b1", _join(IT_NEW_HEADLINE, IT_BODY + [IT_UPDATE]))
        assert (result.kind, result.duplicate_of) == ("near", "a1")
    finally:
        second.close()


@pytest.mark.parametrize(("threshold", "bad"), [(0.0, True), (1.0, True), (1.5, True), (0.8, False)])
def test_threshold_must_be_a_fraction(state, threshold, bad):
    if bad:
        with pytest.raises(ValueError, match="threshold"):
            Deduplicator(state, DedupConfig(threshold=threshold))
    else:
        assert Deduplicator(state, DedupConfig(threshold=threshold)).bands >= 1


def test_empty_text_is_never_a_duplicate(state):
    dedup = Deduplicator(state, DEFAULTS)
    dedup.record("e1", "https://a.example/e1", "a", "  ")
    assert dedup.check("e2", "…").kind is None
    assert state.story_count() == 0


# --- the pipeline -----------------------------------------------------------


def _pipeline(tmp_path, **settings):
    crawler = newswatch_crawler(write_config(tmp_path), **settings)
    return crawler, build_from_crawler(DedupPipeline, crawler)


def test_pipeline_marks_duplicates_and_counts(tmp_path):
    crawler, pipeline = _pipeline(tmp_path)
    crawler.stats.open_spider()
    pipeline.open_spider()
    items = [
        Story(url="https://a.example/1", source="a", text="\n\n".join(EN_BODY)),
        Story(url="https://b.example/1", source="b", text="\n\n".join(EN_BODY)),
        Story(url="https://c.example/1", source="c", text="\n\n".join(EN_BODY + [EN_UPDATE])),
        Story(url="https://d.example/1", source="d", text=EN_OTHER_ASCEND),
        Story(url="https://e.example/1", source="e", text=None),
    ]
    commit = build_from_crawler(CommitPipeline, crawler)
    out = [commit.process_item(pipeline.process_item(item)) for item in items]
    assert out == items  # duplicates continue to the archive
    assert [(i.duplicate_kind, i.duplicate_of) for i in items] == [
        (None, None),
        ("exact", items[0].story_id),
        ("near", items[0].story_id),
        (None, None),
        (None, None),
    ]
    stats = crawler.stats.get_stats()
    assert (stats.get("dedup/new"), stats.get("dedup/exact"), stats.get("dedup/near")) == (2, 1, 1)
    state = pipeline.state
    assert state.story_count() == 2
    assert all(state.is_known_url(i.url) for i in items[:4])
    crawler.signals.send_catch_log(signals.engine_stopped)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, (DEFAULTS.threshold, DEFAULTS.num_perm, DEFAULTS.shingles)),
        ({"DEDUP_THRESHOLD": "0.7", "DEDUP_NUM_PERM": "64", "DEDUP_SHINGLES": "4"}, (0.7, 64, 4)),
    ],
)
def test_pipeline_settings(tmp_path, settings, expected):
    crawler, pipeline = _pipeline(tmp_path, **settings)
    dedup = pipeline.dedup
    assert (dedup.threshold, dedup.num_perm, dedup.shingle_size) == expected
    crawler.signals.send_catch_log(signals.engine_stopped)


def test_normalise_text_replaces_exactly_the_punctuation_characters() -> None:
    # The definition, one character at a time: NFKC, casefold, the typographic map, P* -> space.
    import unicodedata

    from crawler.dedup import _CHAR_MAP, normalise_text

    for start in range(0, 0x3000, 0x400):
        text = "".join(map(chr, range(start, start + 0x400)))
        folded = unicodedata.normalize("NFKC", text).casefold().translate(_CHAR_MAP)
        spaced = "".join(" " if unicodedata.category(c).startswith("P") else c for c in folded)
        assert normalise_text(text) == " ".join(spaced.split())
