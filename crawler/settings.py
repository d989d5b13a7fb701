"""Scrapy settings for newswatch.

Everything a user tunes lives in ``newswatch.yaml``; these are the crawler's
defaults. Component settings are prefixed by the component (``EXTRACT_*``,
``DEDUP_*``, ``ALERT_*``) and read in each component's ``from_crawler``.
"""

BOT_NAME = "newswatch"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# Sites see who is crawling; `crawl.user_agent` in newswatch.yaml replaces it (add a contact URL or address).
USER_AGENT = "newswatch/0.1 (news-monitoring crawler; Scrapy)"

# Politeness.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
# No retries within a run: a failed article is not marked as processed, so the next scheduled run
# tries it again, and each failure is logged once instead of once per attempt.
RETRY_ENABLED = False
# Articles are small; anything past this is not an article page.
DOWNLOAD_MAXSIZE = 5 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
REDIRECT_MAX_TIMES = 5

# Scrapy 2.19 opens a code-execution endpoint on localhost by default.
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False

# The spider counts and logs bad responses itself instead of Scrapy dropping them silently.
HTTPERROR_ALLOW_ALL = False

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.OffsiteRedirectMiddleware": 610,
}

ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.language.LanguagePipeline": 200,
    "pipelines.topics.TopicsPipeline": 300,
    "pipelines.dedup.DedupPipeline": 400,
    "pipelines.archive.ArchivePipeline": 500,
    "pipelines.alert.AlertPipeline": 600,
}

EXTENSIONS = {
    "crawler.summary.CrawlSummary": 500,
    "crawler.statsfile.StatsFile": 510,
}

EXTRACT_FAVOR_PRECISION = True
# Pages whose extracted body is shorter than this have no article.
EXTRACT_MIN_TEXT_CHARS = 200
LANGUAGE_MIN_TEXT_CHARS = 80

# Alert delivery: retries per message within a run (doubling backoff from ALERT_BACKOFF seconds);
# ALERT_PACE keeps apprise's own pause between messages to one service.
ALERT_RETRIES = 3
ALERT_BACKOFF = 1.0
ALERT_PACE = True

# Set from the config and `-a baseline=1` by the spider.
NEWSWATCH_BASELINE = False

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
