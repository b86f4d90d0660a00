"""Saved queries: campaigns (and subscriptions) compiled once, matched as articles are stored."""
