"""Alerts: subscriptions, the outbox, and delivery within Telegram's limits.

outbox    the rows the bot owes chats (alerts, edits, prepared messages), written in the
          transaction that causes them
pacing    Telegram's flood limits as a schedule (overall, per chat, per group), shared with replies
delivery  the sender: oldest first, paced, retried, crash-safe (send, then mark sent)
"""
