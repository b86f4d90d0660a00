"""One search engine for the CLI, the bot, campaigns and subscriptions (SQLite FTS5)."""
