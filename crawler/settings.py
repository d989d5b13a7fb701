"""Scrapy settings for newswatch.

Everything a user tunes lives in ``newswatch.yaml``; these are the crawler's
defaults. Component settings are prefixed by the component (``EXTRACT_*``,
``DEDUP_*``, ``ALERT_*``) and read in each component's ``from_crawler``.
"""

BOT_NAME = "newswatch"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"
# `scrapy crawl` with newswatch's exit status (non-zero when the run could not write its state).
COMMANDS_MODULE = "crawler.commands"

# newswatch.yaml is loaded and validated once, by the add-on, which also sets the settings that follow
# from it (state and archive paths, dedup, USER_AGENT, DOWNLOAD_TIMEOUT, DOWNLOAD_MAXSIZE,
# CONCURRENT_REQUESTS_PER_DOMAIN, ROBOTSTXT_OBEY). They are not set here: a project setting would
# override the add-on's; `-s NAME=value` still overrides both.
ADDONS = {"crawler.addon.NewswatchAddon": 0}

# An article response yields one item, a feed its requests: Scrapy's default of 100 would start 100 tasks
# per response to hand them on (a millisecond of the reactor's time per page, measured in `make bench`).
CONCURRENT_ITEMS = 1

# Politeness.
CONCURRENT_REQUESTS = 16
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
# No retries within a run: a failed article is not marked as processed, so the next scheduled run
# tries it again, and each failure is logged once instead of once per attempt.
RETRY_ENABLED = False
DOWNLOAD_WARNSIZE = 0
REDIRECT_MAX_TIMES = 5

# Scrapy 2.19 opens a code-execution endpoint on localhost by default.
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False

# The spider counts and logs bad responses itself instead of Scrapy dropping them silently.
HTTPERROR_ALLOW_ALL = False

DOWNLOADER_MIDDLEWARES = {
    # robots.txt as Scrapy does it, minus a traceback per unreachable host (the request's failure says it).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.QuietRobotsTxtMiddleware": 100,
    "crawler.middlewares.OffsiteRedirectMiddleware": 610,
}

SPIDER_MIDDLEWARES = {
    # Known articles are never requested again (every URL they were known by).
    "crawler.seen.SeenUrlsMiddleware": 550,
}

ITEM_PIPELINES = {
    # Prefilter, extraction, topics, language and fingerprint, in the analysis pool's worker processes.
    "pipelines.analyse.AnalysePipeline": 100,
    "pipelines.dedup.DedupPipeline": 400,
    # The commit point: everything the run decided about an article, in one transaction.
    "pipelines.commit.CommitPipeline": 450,
    "pipelines.archive.ArchivePipeline": 500,
    "pipelines.alert.AlertPipeline": 600,
    # Problems with sources, to the `health` targets, when the run ends.
    "pipelines.health.HealthPipeline": 700,
}

EXTENSIONS = {
    # Run lock, state store, pruning, feed validators; built before every other component.
    "crawler.run.RunState": 0,
    # The worker processes that analyse pages (crawl.workers), off the reactor.
    "crawler.pool.AnalysisPool": 10,
    "crawler.summary.CrawlSummary": 500,
    "crawler.statsfile.StatsFile": 510,
}

# Pages whose extracted body is shorter than this have no article.
EXTRACT_MIN_TEXT_CHARS = 200
LANGUAGE_MIN_TEXT_CHARS = 80

# Alert delivery: retries per message within a run (doubling backoff from ALERT_BACKOFF seconds).
ALERT_RETRIES = 3
ALERT_BACKOFF = 1.0

# `-a baseline=1` (or `-s NEWSWATCH_BASELINE=1`): record and archive, send nothing.
NEWSWATCH_BASELINE = False

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
