"""The update queue behind getUpdates, and the timings benchmarks read from it."""

from __future__ import annotations

from collections import deque
from typing import Any

from tests.fakes.telegram._objects import RecordedCall, UpdateTiming

# Telegram's default when allowed_updates is empty: everything but these.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class UpdateQueue:
    """Pending updates until the bot confirms them with a higher `offset`. Not thread-safe."""

    def __init__(self) -> None:
        self.pending: deque[dict[str, Any]] = deque()
        self.allowed_updates: list[str] = []
        self._next_id = 1
        self._timings: dict[int, UpdateTiming] = {}
        self._unanswered: dict[int, list[UpdateTiming]] = {}

    def push(
        self, kind: str, payload: dict[str, Any], chat_id: int, message_id: int | None, now: float
    ) -> UpdateTiming:
        """Enqueue an update of `kind` (e.g. "message") and start its timing."""
        update_id = self._next_id
        self._next_id += 1
        self.pending.append({"update_id": update_id, kind: payload})
        timing = UpdateTiming(update_id, kind, chat_id, message_id, now)
        self._timings[update_id] = timing
        self._unanswered.setdefault(chat_id, []).append(timing)
        return timing

    def take(self, offset: int | None, limit: int, allowed: list[str] | None, now: float) -> list[dict[str, Any]]:
        """Confirm updates below `offset`, then return up to `limit` deliverable ones."""
        self._confirm(offset)
        if allowed is not None:
            self.allowed_updates = list(allowed)
        wanted = set(self.allowed_updates)
        batch = []
        for update in list(self.pending):
            kind = next(key for key in update if key != "update_id")
            if (kind not in wanted) if wanted else (kind in _OPT_IN_UPDATES):
                # Telegram never delivers updates of a type the bot did not ask for.
                self.pending.remove(update)
                continue
            batch.append(update)
            timing = self._timings[update["update_id"]]
            if timing.fetched_at is None:
                timing.fetched_at = now
            if len(batch) >= limit:
                break
        return batch

    def _confirm(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        if offset < 0:
            while len(self.pending) > -offset:
                self.pending.popleft()
            return
        while self.pending and self.pending[0]["update_id"] < offset:
            self.pending.popleft()

    def drop_pending(self) -> None:
        """deleteWebhook/setWebhook with drop_pending_updates."""
        self.pending.clear()

    def link_reply(self, call: RecordedCall) -> None:
        """Attribute a bot message to the update it answers: the one it replies to or edits,
        else the oldest fetched, unanswered update in that chat."""
        waiting = self._unanswered.get(call.chat_id) if isinstance(call.chat_id, int) else None
        if not waiting:
            return
        target = _reply_target(call)
        fetched = [t for t in waiting if t.fetched_at is not None]
        match = next((t for t in fetched if target is not None and t.message_id == target), None)
        match = match or (fetched[0] if fetched else None)
        if match is not None:
            match.replied_at, match.reply = call.at, call
            waiting.remove(match)

    def timings(self) -> list[UpdateTiming]:
        """All updates in enqueue order."""
        return list(self._timings.values())


def _reply_target(call: RecordedCall) -> int | None:
    if call.method.startswith("edit"):
        return call.params.get("message_id")
    reply = call.params.get("reply_parameters")
    if isinstance(reply, dict):
        return reply.get("message_id")
    return call.params.get("reply_to_message_id")
