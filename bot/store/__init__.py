"""Persistence: schema and migrations (`db`), articles (`articles`), sources and health (`sources`)."""
