PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test demo eval bench clean

# The venv is rebuilt whenever requirements.txt changes. pip is upgraded first:
# the old pip of a fresh venv leaves out lxml_html_clean and trafilatura fails to import.
$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/scrapy crawl news

test: $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/python -m tests.fixtures.demo

eval: $(STAMP)
	$(BIN)/python -m crawler.evaluate

# news-please, measured beside newswatch on the same pages, lives in its own virtualenv.
.venv-newsplease/.installed:
	test -x .venv-newsplease/bin/python || $(PY) -m venv .venv-newsplease
	.venv-newsplease/bin/python -m pip install --quiet --upgrade pip
	.venv-newsplease/bin/python -m pip install --quiet news-please==1.6.16
	touch $@

bench: $(STAMP) .venv-newsplease/.installed
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .venv-newsplease .pytest_cache
