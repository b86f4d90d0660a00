"""mediabot: media monitoring for a press office — ingest, search, Telegram."""

__version__ = "0.1.0"
