"""Services between the Telegram handlers (and CLI) and the archive: plain dataclasses in and out.

archive  ArchiveService  questions, searches, latest, our news, outlet health, campaigns, stats
admin    AdminService    preview/add/remove/pause/resume outlets, reload feeds.yaml, audit
access   AccessService   who may use the bot, access requests and decisions, language
sources  add_feeds       add outlets as /addsource does, without Telegram or a poller (OPML import)
"""
