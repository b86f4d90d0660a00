"""English messages. A key missing here falls back to Vietnamese.

A value may be a dict of plural forms ("one", "other"), chosen by the `n` argument.
"""

from __future__ import annotations

MESSAGES: dict[str, str | dict[str, str]] = {
    # --- /start, /help ---
    "start.text": (
        "Hello! I monitor the press for your office: I read the configured outlets, "
        "answer questions about what they published and alert you to new articles on your campaigns.\n\n"
        "Ask as you would ask a colleague, for example:\n"
        "• <code>any news about digital transformation this week</code>\n"
        "• <code>có bài nào về chuyển đổi số tuần này không?</code>\n"
        "• <code>last 7 days news on vnexpress about floods</code>\n\n"
        "Type /help for all commands."
    ),
    "help.text": (
        "<b>Just ask</b> — type a question; I understand topics, outlet names and time:\n"
        "• <code>any news about 5G coverage this week</code>\n"
        "• <code>có bài nào về chuyển đổi số tuần này không?</code>\n"
        "• <code>VnExpress đăng gì về biển đảo tháng trước</code>\n\n"
        "<b>Commands</b>\n"
        "/start — about this bot, /help — this help\n"
        "/search &lt;query&gt; — exact search, e.g. "
        '<code>/search "chính quyền số" -"quảng cáo" since:30d</code>\n'
        "/latest [source id] — newest articles, e.g. <code>/latest baophutho</code>\n"
        "/news — what the press wrote about us (our name and aliases)\n"
        "/sources — outlets and their status\n"
        "/campaigns — campaigns and article counts\n"
        "/subscribe &lt;query&gt; — alerts for new articles, e.g. <code>/subscribe chuyển đổi số</code>; "
        "also <code>campaign id</code>, <code>source id</code>, <code>news</code>; "
        "<code>/subscribe daily 07:30 …</code> — a daily digest at 07:30\n"
        "/subscriptions — what this chat follows (pause, delivery, delete), /unsubscribe [number] — stop following\n"
        "/campaign &lt;id&gt; [period] — a campaign's coverage report with a chart, e.g. "
        "<code>/campaign chuyen-doi-so this month</code> (or just ask: <code>report on 5G this month</code>)\n"
        "/compare [period] — every campaign's daily articles on one chart\n"
        "/export &lt;id&gt; [period] — an Excel file of the campaign's articles\n"
        "/diembao [date] — the press review: yesterday's (or that day's) articles about the organization and its "
        "campaigns, warnings first, with a Word file; <code>/subscribe diembao</code> — get it every morning\n"
        "/lang vi — chuyển sang tiếng Việt\n\n"
        '<b>Query syntax</b>: words (all must match), <code>"phrases"</code>, <code>OR</code>, '
        '<code>-word</code> or <code>-"a phrase"</code> to exclude, <code>source:id</code>, <code>since:7d</code> or '
        "<code>since:2026-11-01</code>. Words typed without accents match every accented form."
    ),
    "help.short": "I don't know that command. Just type a question, e.g. "
    "<code>news about floods today</code>, or type /help.",
    "help.admin": (
        "<b>Admin commands</b>\n"
        "/addsource &lt;url&gt; [id] — add a source (preview, then confirm)\n"
        "/removesource &lt;id&gt; — remove a source\n"
        "/pause &lt;id&gt; — pause a source\n"
        "/resume &lt;id&gt; — resume a source\n"
        "/reload — reload feeds.yaml\n"
        "/users — users: approve, deny, revoke, approve again; the admin log\n"
        "/stats — statistics"
    ),
    # --- command menu descriptions ---
    "command.start": "About this bot",
    "command.help": "Help and examples",
    "command.search": "Search with a query",
    "command.latest": "Newest articles (by source)",
    "command.news": "What the press wrote about us",
    "command.sources": "Sources and their status",
    "command.campaigns": "Campaigns and article counts",
    "command.campaign": "A campaign's report with a chart",
    "command.compare": "Compare campaigns on one chart",
    "command.export": "Excel file of a campaign's articles",
    "command.diembao": "Daily press review (with a Word file)",
    "command.lang": "Change language (vi/en)",
    "command.addsource": "Add a source (admin)",
    "command.removesource": "Remove a source (admin)",
    "command.pause": "Pause a source (admin)",
    "command.resume": "Resume a source (admin)",
    "command.reload": "Reload the configuration (admin)",
    "command.stats": "Statistics (admin)",
    "command.users": "Users: approve, revoke, admin log (admin)",
    # --- search results ---
    "count.articles": "{n} {n:article|articles}",
    "summary.found": "Found {n} {n:article|articles}{period}",
    "date.unknown": "no date",
    "summary.most_in": "; most in {outlets}",
    "summary.outlet_count": "{name} ({n})",
    "summary.page": "Page {page}/{pages}",
    "search.nothing": ("No articles found{period}. Try fewer words or a longer period, for example: {example}"),
    "search.example": "digital transformation this month",
    "search.usage": (
        'Type a query after the command, e.g. <code>/search "chính quyền số" -"quảng cáo" since:30d</code>'
    ),
    "search.expired": "These results are out of date; please search again.",
    # --- periods ---
    "period.today": "today",
    "period.yesterday": "yesterday",
    "period.this_week": "this week",
    "period.last_week": "last week",
    "period.last_n_days": {"one": "in the last day", "other": "in the last {n} days"},
    "period.this_month": "this month",
    "period.last_month": "last month",
    "period.this_year": "this year",
    "period.last_year": "last year",
    "period.last_24_hours": "in the last 24 hours",
    "period.since_date": "since {date}",
    "period.last_n_hours": {"one": "in the last hour", "other": "in the last {n} hours"},
    "period.month": "in {month} {year}",
    "period.quarter": "in Q{quarter} {year}",
    "period.year": "in {year}",
    "period.range": "{start}–{end}",
    "ask.empty": (
        "What would you like to find? Ask as you would ask a colleague, e.g. "
        "<code>digital transformation this week</code> or <code>UBND in September</code>. Type /help for more."
    ),
    "ask.truncated": "Long question: searched for its first {max} words, {n} left out.",
    # --- buttons ---
    "button.prev": "« Prev",
    "button.next": "Next »",
    "button.approve": "Approve",
    "button.deny": "Deny",
    "button.confirm": "Add source",
    "button.cancel": "Cancel",
    "button.users_revoke": "🚫 Revoke",
    "button.users_reapprove": "✅ Approve again",
    "button.users_pending": "Waiting",
    "button.users_approved": "Approved",
    "button.users_denied": "Denied",
    "button.users_log": "📜 Log",
    # --- latest / news ---
    "latest.header": "Newest on <b>{outlet}</b>",
    "latest.header_all": "Newest articles",
    "latest.empty": "No articles yet.",
    "latest.unknown_source": "There is no source <code>{source_id}</code>. Type /sources for the list.",
    "news.header": "The press about us",
    "news.empty": "No article has mentioned us yet.",
    # --- sources and their health ---
    "sources.header": "<b>Sources</b> ({n})",
    "sources.row": "{icon} <b>{name}</b> (<code>{source_id}</code>): {state}",
    "sources.empty": "No sources yet.",
    "health.ok": "OK",
    "health.pending": "not checked yet",
    "health.failing": "failing since {since}: {reason}",
    "health.silent": "no new articles since {since}",
    "health.paused": "paused",
    "health.deactivated": "deactivated: {reason}",
    "health.removed_config": "removed: no longer in feeds.yaml",
    "health.removed_chat": "removed with /removesource",
    "health.inactive": "switched off in feeds.yaml (active: false)",
    # --- campaigns ---
    "campaigns.header": "<b>Campaigns</b>",
    "campaigns.row": "<b>{name}</b>: {d7} {d7:article|articles} in 7 days, {d30} {d30:article|articles} in 30 days",
    "campaigns.empty": "No campaigns yet.",
    # --- reports (/campaign, /compare, /export, report questions) ---
    "report.usage": (
        "Usage: <code>/campaign campaign_id [period]</code>, e.g. <code>/campaign {example} this month</code>. "
        "Periods: <code>7d</code>, <code>30d</code> (default), <code>this month</code>, <code>in September</code>, "
        "<code>2026-09-01..2026-09-30</code>. Campaigns: {campaigns}"
    ),
    "export.usage": (
        "Usage: <code>/export campaign_id [period]</code>, e.g. <code>/export {example} this month</code>. "
        "Campaigns: {campaigns}"
    ),
    "report.no_campaigns": "No campaigns are configured in feeds.yaml.",
    "report.unknown_campaign": "No campaign <code>{value}</code>; did you mean {suggestions}?",
    "report.unknown_campaign_none": "No campaign <code>{value}</code>. Campaigns: {suggestions}",
    "report.bad_period": (
        "Not a period: <code>{value}</code>. E.g. <code>7d</code>, <code>30d</code>, <code>this month</code>, "
        "<code>in September</code>, <code>2026-09-01..2026-09-30</code>"
    ),
    "report.period_backwards": "The period <code>{value}</code> ends before it starts.",
    "report.period_future": "This period has not started yet.",
    "report.period_long": "The period is too long: at most {max} {max:day|days}.",
    "report.title": "<b>{name}</b> · {period}",
    "report.total": (
        "Total: <b>{n}</b> {n:article|articles}, {change} on the previous {days} {days:day|days} ({previous})"
    ),
    "report.up": "↑ {pct}%",
    "report.down": "↓ {pct}%",
    "report.same": "unchanged",
    "report.new": "new",
    "report.share": "Share of voice: {pct}% of the articles of {count} {count:campaign|campaigns}",
    "report.outlets": "By outlet: {outlets}",
    "report.stories": "Top stories:",
    "report.story": "{i}. {title} — {outlets} {outlets:outlet|outlets}, {n} {n:article|articles}",
    "report.empty": "No articles in this period (previous period: {previous}).",
    "compare.title": "<b>Campaigns compared</b> · {period}",
    "compare.row": "{name}: <b>{n}</b> {n:article|articles} ({change})",
    "compare.more": "The chart shows the {shown} {shown:campaign|campaigns} with the most articles.",
    "compare.empty": "No campaign has articles in this period.",
    "export.caption": "<b>{name}</b> · {period}: {n} {n:article|articles}",
    "export.too_many": "Too many articles ({n}) for one spreadsheet: choose a shorter period.",
    # --- access ---
    "access.refused": "Sorry, this bot only serves authorised staff. Your Telegram ID: {user_id}",
    "access.request": "{name} (@{username}, id {user_id}) asks to use the bot",
    "access.request_no_username": "{name} (id {user_id}) asks to use the bot",
    "access.approved_user": "You can now use the bot. Type /help to get started.",
    "access.denied_user": "Your request to use the bot was not approved.",
    "access.approved_admin": "Approved {name} (id {user_id}).",
    "access.denied_admin": "Denied {name} (id {user_id}).",
    "access.already_decided": "This request has already been handled.",
    "access.refused_denied": (
        "Sorry, your request to use the bot was declined. You may ask again from {when}. Your Telegram ID: {user_id}"
    ),
    "access.group_refused": (
        "This group may not use the bot. An administrator can add the group id <code>{chat_id}</code> "
        "to <code>access.chats</code> in feeds.yaml."
    ),
    "access.revoked_user": "Your access to the bot has been revoked.",
    "access.request_more": "All requests: /users",
    # --- /users (admins) ---
    "users.title": "<b>Users {status}</b> — page {page}/{pages}",
    "users.status.pending": "waiting for approval",
    "users.status.approved": "approved",
    "users.status.denied": "denied or revoked",
    "users.counts": "Waiting: {pending} · Approved: {approved} · Denied: {denied}",
    "users.row": "{n}. {name}{username} · id <code>{user_id}</code> · {when}",
    "users.none": "Nobody.",
    "users.config_note": "Admins and users listed in feeds.yaml (access.admins, access.users) are not in this "
    "list; change them in that file.",
    "users.usage": "Usage: <code>/users</code>, <code>/users approved</code>, <code>/users denied</code>, "
    "<code>/users log</code>",
    "users.log_title": "<b>Admin log</b> (newest first)",
    "users.log_row": "{when} · {actor} · <code>{action}</code> {target}",
    "users.log_none": "The log is empty.",
    "users.approved": "Approved {name}.",
    "users.denied": "Denied {name}.",
    "users.revoked": "Revoked the access of {name}.",
    "users.unchanged": "Nothing changed.",
    # --- admin ---
    "admin.not_allowed": "This command is for administrators only.",
    "admin.addsource_usage": "Usage: <code>/addsource https://example.vn/rss/news.rss [id]</code>",
    "admin.addsource_checking": "Reading {url}…",
    "admin.addsource_preview": "<b>{title}</b>: {count} {count:item|items}\nAdd source <code>{source_id}</code>?",
    "admin.addsource_failed": "Could not read this source: {reason}",
    "admin.addsource_exists": "Source <code>{source_id}</code> already exists.",
    "admin.addsource_added": "Added source <b>{name}</b> (<code>{source_id}</code>).",
    "admin.addsource_cancelled": "Cancelled; no source added.",
    "admin.source_usage": "Usage: <code>/{command} source_id</code>",
    "admin.unknown_source": "There is no source <code>{source_id}</code>.",
    "admin.removed": "Removed source <code>{source_id}</code>. Stored articles are kept.",
    "admin.paused": "Paused source <code>{source_id}</code>.",
    "admin.resumed": "Resumed source <code>{source_id}</code>.",
    "admin.reloaded": (
        "Configuration reloaded: {sources} {sources:source|sources}, {campaigns} {campaigns:campaign|campaigns}."
    ),
    "admin.retagged": "Campaigns re-tagged over the whole archive (matches): {campaigns}.",
    "admin.campaigns_dropped": "Campaigns removed, with their tags: {campaigns}.",
    "admin.reload_failed": "Could not reload the configuration; the old one stays in use: {error}",
    "admin.stats": (
        "<b>Statistics</b>\n"
        "Stored articles: {articles} ({articles_24h} in the last 24 hours)\n"
        "Sources: {sources} ({failing} failing)\n"
        "Users: {users}\n"
        "Database: {db_size}"
    ),
    # --- errors and settings ---
    "error.generic": "Something went wrong, please try again later.",
    "query_error.not_excludable": "-{name}: cannot be excluded (use {name}:…)",
    "query_error.bad_since": (
        "since:{value} is not a time; use since:7d, since:24h, since:2w, since:2026-11-01 or since:25/11/2026"
    ),
    "query_error.since_unit": "since:{value} needs a unit of days, weeks or hours, e.g. since:{days}d",
    "query_error.unknown_source": "there is no source <code>{value}</code>, perhaps {suggestions}",
    "query_error.unknown_source_none": "there is no source <code>{value}</code>; type /sources for the list",
    "query_error.bad_source": "source:{value} is not an outlet id (letters, digits, - _ .), e.g. source:vtv",
    "query_error.too_long": "the query is too long, at most {max} words",
    "query_error.only_excluded": "exclusions need at least one word to search for, e.g. <code>storm -flood</code>",
    "query_error.empty": "there is nothing to search for, e.g. <code>digital transformation</code>",
    "query_error.invalid": "the query is not valid",
    "error.bad_query": ("I could not read that query: {reason}. Example: <code>digital transformation since:7d</code>"),
    "lang.switched": "Language switched to English.",
    "lang.usage": "Usage: <code>/lang vi</code> or <code>/lang en</code>",
    # --- subscriptions and digests ---
    "command.subscribe": "Follow new articles (query, campaign, source)",
    "command.subscriptions": "What this chat follows",
    "command.unsubscribe": "Stop following",
    "button.follow": "🔔 Follow",
    "button.sub_pause": "⏸ Pause",
    "button.sub_resume": "▶ Resume",
    "button.sub_daily": "🗓 Daily digest",
    "button.sub_instant": "⚡ Instant",
    "button.sub_delete": "🗑 Delete",
    "button.sub_back": "« List",
    "sub.what.query": "<b>{label}</b>",
    "sub.what.campaign": "campaign <b>{label}</b>",
    "sub.what.source": "source <b>{label}</b>",
    "sub.what.diembao": "the daily press review about <b>{label}</b>",
    "sub.mode.diembao": "every morning, the day before's articles",
    "sub.what.news": "the press about <b>{label}</b>",
    "sub.mode.instant": "instant alerts",
    "sub.mode.daily": "daily digest at {time}",
    "sub.state.paused": "⏸ paused",
    "sub.state.blocked": "⛔ paused: the bot was blocked or removed",
    "sub.subscribed": "🔔 Following {what} — {mode}.",
    "sub.recent": "Latest matching articles:",
    "sub.no_recent": "Nothing matches yet; new articles will be posted here.",
    "sub.manage": "Manage: /subscriptions",
    "sub.list_empty": (
        "Nothing followed yet. For example: <code>/subscribe digital transformation</code> or "
        "<code>/subscribe daily 07:30 news</code>"
    ),
    "sub.list_header": "<b>Following</b> ({n}/{max})",
    "sub.list_hint": "Press a number to pause, change delivery or delete.",
    "sub.list_hint_delete": "Press 🗑 to stop following, or type <code>/unsubscribe number</code>.",
    "sub.card": "{what}\nDelivery: {mode}",
    "sub.deleted": "Stopped following {what}.",
    "sub.gone": "This subscription no longer exists.",
    "sub.unsubscribe_usage": "Type <code>/unsubscribe number</code> with a number from /subscriptions ({n} now).",
    "sub.expired": "This button is out of date; type /subscriptions.",
    "sub.admins_only": "Only this group's admins can change its subscriptions.",
    "sub.muted": "Muted: {label}. Type /subscriptions to turn it back on.",
    "sub.error.usage": (
        "Usage: <code>/subscribe chuyển đổi số</code>, <code>/subscribe campaign id</code>, "
        "<code>/subscribe source id</code>, <code>/subscribe news</code>; put <code>daily 07:30</code> "
        "first for a daily digest, e.g. <code>/subscribe daily 07:30 chuyển đổi số</code>"
    ),
    "sub.error.bad_time": (
        "{value} is not a time: write <code>daily HH:MM</code>, e.g. <code>/subscribe daily 07:30 chuyển đổi số</code>"
    ),
    "sub.error.daily_first": (
        "Put <code>daily HH:MM</code> first, e.g. <code>/subscribe daily 07:30 chuyển đổi số</code>"
    ),
    "sub.error.since": (
        "A subscription always follows new articles, so it needs no <code>since:</code>; leave it out, "
        'e.g. <code>/subscribe bão -"quảng cáo"</code>'
    ),
    "sub.error.unknown_campaign": "There is no campaign <code>{value}</code>; campaigns: {known}",
    "sub.error.too_many": "This chat already has {max} subscriptions (the maximum); remove some with /unsubscribe.",
    "sub.error.duplicate": "<b>{label}</b> is already followed here; see /subscriptions.",
    "digest.header": "🗓 <b>Digest {date}</b> — {what}: {n} {n:article|articles}",
    "digest.outlet": "<i>{name}</i> ({n})",
    "digest.more": "… and {n} more {n:article|articles}",
    # --- alerts (bot.telegram.alerts) ---
    "review.header": (
        "📰 <b>Press review {date}</b> — {org}\n{n} {n:article|articles}, {warnings} {warnings:warning|warnings}"
    ),
    "review.section": "<b>{name}</b> ({n})",
    "review.outlet": "<i>{name}</i> ({n})",
    "review.term": "⚠ says «{term}»",
    "review.empty": "No article about the organization or its campaigns on {date}.",
    "review.caption": "Press review {date} — a Word file to print",
    "review.error.bad_day": (
        "Cannot read the day <code>{value}</code>. E.g. <code>/diembao</code> (yesterday), "
        "<code>/diembao 14/9/2026</code>, <code>/diembao 2026-09-14</code>."
    ),
    "review.error.day_future": "{value} has not come yet.",
    "spike.header": (
        "📈 <b>Spike</b>: {name} — {n} {n:article|articles} today, {ratio}× the usual "
        "({baseline} a day over the last 14 days)"
    ),
    "spike.top": "Top stories:",
    "weekly.header": "🗓 <b>Week {first}–{last}</b>",
    "weekly.campaigns": "<b>Campaigns</b> (this week / the week before)",
    "weekly.line": "{arrow} {name}: {n} / {previous}",
    "weekly.news": "<b>About the organization</b>: {arrow} {n} {n:article|articles} (the week before: {previous})",
    "weekly.warnings": "<b>⚠ Warnings</b>: {n}",
    "news.warning": "⚠ <b>Warning</b> — says «{term}»",
    "alert.warning": "⚠ <b>Warning</b>: an article about the organization says «{term}»",
    "alert.subscription": "🔔 Subscription: {label}",
    "alert.also": "Also in: {outlets}",
    "alert.mute": "🔕 Mute this subscription",
    "alert.more": "🔎 More like this",
    "alert.blocked": (
        "⚠️ Chat <code>{chat}</code> blocked or removed the bot. {n} {n:subscription|subscriptions} "
        "of that chat paused; no more alerts go there."
    ),
    "admin.stats_alerts": (
        "Subscriptions: {subscriptions} ({paused} paused)\n"
        "Alert outbox: {pending} waiting (oldest {oldest} s), {sent} sent, {failed} failed\n"
        "Chats that blocked the bot: {blocked}"
    ),
}
