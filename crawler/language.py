"""Language of a story's text (langdetect), repeatable from run to run."""

from __future__ import annotations

from langdetect import DetectorFactory, LangDetectException, detect_langs

# langdetect samples randomly unless seeded.
DetectorFactory.seed = 0


def detect_language(text: str | None, hint: str, min_chars: int = 80, min_prob: float = 0.80) -> tuple[str, str]:
    """``(language, how)``: langdetect on the body text, or the source's *hint* where the text is
    too short or too mixed to tell. Detect on the body, never the title: jargon-heavy Italian titles
    come out as German. *how* is ``"detected"`` or ``"hint"``."""
    if text and len(text) >= min_chars:
        try:
            best = detect_langs(text)[0]
        except LangDetectException:
            return hint, "hint"
        if best.prob >= min_prob:
            return best.lang, "detected"
    return hint, "hint"
