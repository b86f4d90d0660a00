"""Telegram front end: access, handlers, and the pure pieces they share (i18n, format)."""
