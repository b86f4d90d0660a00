"""Ingest: fetch → parse → normalize, and the poller that runs them in order (then store)."""
