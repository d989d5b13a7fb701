"""Project commands (``COMMANDS_MODULE``): ``crawl`` with newswatch's exit status."""
