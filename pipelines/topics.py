"""Stage 3: which watched topics the story mentions, with evidence. No topic, no story."""

from __future__ import annotations

from scrapy.crawler import Crawler

from crawler.addon import config_of
from crawler.items import QuietDrop, Story


class NoTopic(QuietDrop):
    """The story mentions no watched topic: not archived, not alerted (re-checked if it is updated)."""

    level = "DEBUG"
    recheck = True


class TopicsPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "TopicsPipeline":
        return cls(crawler)

    def open_spider(self) -> None:
        self.topics = config_of(self.crawler.settings).topics

    def process_item(self, item: Story) -> Story:
        matches = self.topics.match(item.title or "", item.text or "")
        if not matches:
            self.stats.inc_value("topics/no_match")
            raise NoTopic(f"no watched topic in {item.url}")
        item.matches = [m.as_dict() for m in matches]
        item.topics = list(dict.fromkeys(m.topic for m in matches))
        self.stats.inc_value("topics/matched")
        for topic in item.topics:
            self.stats.inc_value(f"topics/{topic}")
        return item
