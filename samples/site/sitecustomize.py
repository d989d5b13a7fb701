"""Loaded at start-up by the Python processes the tests start (``tests/crawl.py`` puts this directory on
their ``PYTHONPATH``): points apprise at the loopback stand-ins, so no production setting exists for it.

* ``NW_TEST_SLACK_WEBHOOK``: the Slack stand-in's base URL, in place of https://hooks.slack.com.
* ``NW_TEST_NO_PACE``: no pause between two messages to one service (apprise waits 5.5 s between emails).
"""

import os

from samples.apprise_stand_ins import point_apprise_at

point_apprise_at(os.environ.get("NW_TEST_SLACK_WEBHOOK", ""), no_pace=bool(os.environ.get("NW_TEST_NO_PACE")))
