"""An alert as Telegram HTML, rendered when it is sent (so "also in" is always current).

    ⚠ Warning: «sai phạm»                (the article names the organization with a warning term)
    <a>Title</a>
    <i>Outlet</i> · 22/11 16:30
    snippet with the <b>match</b> marked
    🔔 Subscription: label
    Also in: Outlet B, Outlet C
    [🔕 Mute this subscription] [🔎 More like this]

The callback data `sub:mute:<id>` and `sub:more:<id>` are answered by the subscriptions'
handlers (bot.telegram.handlers); the id is the subscription's. A warning pushed to an admin
has no subscription: no subscription line, no buttons.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.alerts.delivery import Rendered
from bot.alerts.outbox_rows import AlertView
from bot.telegram.format import (
    MAX_SNIPPET,
    MAX_TITLE,
    MESSAGE_LIMIT,
    esc,
    link,
    local_time,
    shorten_html,
    snippet_html,
    truncate_text,
)
from bot.telegram.i18n import LANGUAGES, Html, t, t_plain

MUTE, MORE = "sub:mute:{}", "sub:more:{}"
MAX_LABEL = 200
MAX_ALSO = 12  # outlets named on the "also in" line; more are counted


class AlertRenderer:
    """Renders alerts and delivery notices in the organization's timezone and language."""

    def __init__(self, tz: ZoneInfo, default_language: str, now: type[datetime] = datetime) -> None:
        self.tz = tz
        self.default_language = default_language if default_language in LANGUAGES else "vi"
        self._now = now

    def alert(self, view: AlertView) -> Rendered:
        """The alert message and its buttons, valid Telegram HTML within 4,096 characters."""
        lang = view.language if view.language in LANGUAGES else self.default_language
        published = datetime.fromtimestamp(view.published_ts, UTC)
        when = t_plain("date.unknown", lang) if view.undated else local_time(published, self.tz, self._now.now(UTC))
        lines = [t("alert.warning", lang, term=view.warning_term)] if view.warning_term else []
        lines += [
            f"<b>{link(view.url, truncate_text(' '.join(view.title.split()), MAX_TITLE))}</b>",
            f"<i>{esc(view.source_name)}</i> · {esc(when)}",
        ]
        snippet = " ".join(view.snippet.split())
        if snippet:
            lines.append(snippet_html(truncate_text(snippet, MAX_SNIPPET)))
        if view.subscription_id is not None:
            label = truncate_text(" ".join(view.subscription_label.split()), MAX_LABEL)
            lines.append(t("alert.subscription", lang, label=label))
        if view.also:
            lines.append(t("alert.also", lang, outlets=_outlets(view.also)))
        text = shorten_html("\n".join(lines), MESSAGE_LIMIT)
        if view.subscription_id is None:
            return Rendered(text)
        buttons = (
            (
                (t_plain("alert.mute", lang), MUTE.format(view.subscription_id)),
                (t_plain("alert.more", lang), MORE.format(view.subscription_id)),
            ),
        )
        return Rendered(text, buttons)

    def blocked_notice(self, chat_id: int, paused: int) -> str:
        """For an admin: a chat blocked or removed the bot, and its subscriptions paused."""
        return t("alert.blocked", self.default_language, chat=chat_id, n=paused)


def _outlets(names: tuple[str, ...]) -> Html:
    shown = [" ".join(name.split()) for name in names[:MAX_ALSO]]
    rest = len(names) - len(shown)
    return Html(esc(", ".join(shown) + (f" (+{rest})" if rest > 0 else "")))
