"""Alerts: subscriptions (a saved query with a destination), the outbox, delivery within Telegram's
limits, and daily digests.

subscriptions  the subscriptions table, compiling subscriptions into the saved-query registry,
               and the recorder that turns matches into outbox rows or digest items
service        SubscriptionService: subscribe, list, pause, switch, delete (no Telegram types)
digest         daily digests: which are due, their text, enqueued exactly once per local date
outbox         the rows the bot owes chats (alerts, edits, prepared messages), written in the
               transaction that causes them
pacing         Telegram's flood limits as a schedule (overall, per chat, per group), shared with replies
delivery       the sender: oldest first, paced, retried, crash-safe (send, then mark sent)
"""
