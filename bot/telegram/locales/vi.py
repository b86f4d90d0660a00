"""Vietnamese messages (the default catalogue). Values are Telegram HTML templates.

Placeholders are filled by `bot.telegram.i18n.t`, which escapes every value, so a
template may use <b>, <i>, <code> and <a> but a placeholder never injects markup.
"""

from __future__ import annotations

MESSAGES: dict[str, str | dict[str, str]] = {
    # --- /start, /help ---
    "start.text": (
        "Xin chào! Tôi theo dõi báo chí cho cơ quan: đọc tin từ các báo đã cấu hình, "
        "tìm bài theo câu hỏi và báo khi có bài mới về các chiến dịch truyền thông.\n\n"
        "Cứ hỏi như hỏi đồng nghiệp, ví dụ:\n"
        "• <code>có bài nào về chuyển đổi số tuần này không?</code>\n"
        "• <code>tin về giáo dục trên Báo Phú Thọ hôm qua</code>\n"
        "• <code>phòng chống dịch 7 ngày qua</code>\n\n"
        "Gõ /help để xem tất cả lệnh."
    ),
    "help.text": (
        "<b>Hỏi bằng lời</b> — gõ câu hỏi bình thường, tôi hiểu chủ đề, tên báo và thời gian:\n"
        "• <code>có bài nào về chuyển đổi số tuần này không?</code>\n"
        "• <code>VnExpress đăng gì về biển đảo tháng trước</code>\n"
        "• <code>phòng chống dịch 7 ngày qua</code>\n\n"
        "<b>Lệnh</b>\n"
        "/start — giới thiệu bot, /help — hướng dẫn này\n"
        "/search &lt;truy vấn&gt; — tìm chính xác, ví dụ "
        '<code>/search "chính quyền số" -"quảng cáo" since:30d</code>\n'
        "/latest [mã nguồn] — bài mới nhất, ví dụ <code>/latest baophutho</code>\n"
        "/news — báo chí viết về cơ quan (tên và các tên gọi khác)\n"
        "/sources — các nguồn tin và tình trạng\n"
        "/campaigns — các chiến dịch và số bài\n"
        "/subscribe &lt;truy vấn&gt; — báo khi có bài mới, ví dụ <code>/subscribe chuyển đổi số</code>; "
        "cũng <code>campaign mã</code>, <code>source mã</code>, <code>news</code>; "
        "<code>/subscribe daily 07:30 …</code> — bản tin hằng ngày lúc 07:30\n"
        "/subscriptions — các theo dõi (tạm dừng, đổi cách gửi, xóa), /unsubscribe [số] — bỏ theo dõi\n"
        "/campaign &lt;mã&gt; [thời gian] — báo cáo chiến dịch kèm biểu đồ, ví dụ "
        "<code>/campaign chuyen-doi-so tháng này</code> (hoặc hỏi: <code>báo cáo chuyển đổi số tháng này</code>)\n"
        "/compare [thời gian] — so sánh số bài mỗi ngày của các chiến dịch trên một biểu đồ\n"
        "/export &lt;mã&gt; [thời gian] — tệp Excel các bài của chiến dịch\n"
        "/diembao [ngày] — điểm báo: các bài hôm qua (hoặc ngày đó) về cơ quan và các chiến dịch, bài cần lưu ý "
        "trước, kèm tệp Word; <code>/subscribe diembao</code> — nhận điểm báo mỗi sáng\n"
        "/lang en — switch to English\n\n"
        '<b>Cú pháp truy vấn</b>: các từ (phải có đủ), <code>"cụm từ"</code>, <code>OR</code>, '
        '<code>-từ</code> hoặc <code>-"cụm từ"</code> để loại trừ, <code>source:mã</code>, <code>since:7d</code> hoặc '
        "<code>since:2026-11-01</code>. Gõ không dấu sẽ tìm cả các dạng có dấu."
    ),
    "help.short": "Tôi không biết lệnh này. Cứ gõ câu hỏi, ví dụ <code>tin về chuyển đổi số hôm nay</code>, "
    "hoặc gõ /help.",
    "help.admin": (
        "<b>Lệnh quản trị</b>\n"
        "/addsource &lt;url&gt; [mã] — thêm nguồn (xem trước rồi xác nhận)\n"
        "/removesource &lt;mã&gt; — xóa nguồn\n"
        "/pause &lt;mã&gt; — tạm dừng nguồn\n"
        "/resume &lt;mã&gt; — chạy lại nguồn\n"
        "/reload — nạp lại feeds.yaml\n"
        "/users — người dùng: duyệt, từ chối, thu hồi, duyệt lại; nhật ký quản trị\n"
        "/stats — thống kê"
    ),
    # --- command menu descriptions (plain text, shown by Telegram next to each command) ---
    "command.start": "Giới thiệu bot",
    "command.help": "Hướng dẫn và ví dụ",
    "command.search": "Tìm bài theo truy vấn",
    "command.latest": "Bài mới nhất (theo nguồn)",
    "command.news": "Báo chí viết về cơ quan",
    "command.sources": "Các nguồn tin và tình trạng",
    "command.campaigns": "Các chiến dịch và số bài",
    "command.campaign": "Báo cáo chiến dịch kèm biểu đồ",
    "command.compare": "So sánh các chiến dịch",
    "command.export": "Xuất Excel bài của chiến dịch",
    "command.diembao": "Điểm báo hằng ngày (kèm tệp Word)",
    "command.lang": "Đổi ngôn ngữ (vi/en)",
    "command.addsource": "Thêm nguồn tin (quản trị)",
    "command.removesource": "Xóa nguồn tin (quản trị)",
    "command.pause": "Tạm dừng nguồn (quản trị)",
    "command.resume": "Chạy lại nguồn (quản trị)",
    "command.reload": "Nạp lại cấu hình (quản trị)",
    "command.stats": "Thống kê (quản trị)",
    "command.users": "Người dùng: duyệt, thu hồi, nhật ký (quản trị)",
    # --- search results ---
    "count.articles": "{n} bài",
    "summary.found": "Tìm thấy {n} bài{period}",
    "date.unknown": "không rõ ngày",
    "summary.most_in": ", nhiều nhất trên {outlets}",
    "summary.outlet_count": "{name} ({n})",
    "summary.page": "Trang {page}/{pages}",
    "search.nothing": ("Không tìm thấy bài nào{period}. Thử bỏ bớt từ khóa hoặc mở rộng thời gian, ví dụ: {example}"),
    "search.example": "chuyển đổi số tháng này",
    "search.usage": 'Gõ truy vấn sau lệnh, ví dụ <code>/search "chính quyền số" -"quảng cáo" since:30d</code>',
    "search.expired": "Kết quả này đã cũ, vui lòng tìm lại.",
    # --- periods (the {period} part of a summary; empty when there is none) ---
    "period.today": "hôm nay",
    "period.yesterday": "hôm qua",
    "period.this_week": "tuần này",
    "period.last_week": "tuần trước",
    "period.last_n_days": "trong {n} ngày qua",
    "period.this_month": "tháng này",
    "period.last_month": "tháng trước",
    "period.this_year": "năm nay",
    "period.last_year": "năm ngoái",
    "period.last_24_hours": "trong 24 giờ qua",
    "period.since_date": "từ {date}",
    "period.last_n_hours": "trong {n} giờ qua",
    "period.month": "tháng {month}/{year}",
    "period.quarter": "quý {quarter}/{year}",
    "period.year": "năm {year}",
    "period.range": "{start}–{end}",
    "ask.empty": (
        "Bạn muốn tìm tin gì? Cứ hỏi như hỏi đồng nghiệp, ví dụ <code>chuyển đổi số tuần này</code>, "
        "<code>UBND tỉnh tháng 9</code> hoặc <code>bão lũ trên Báo Phú Thọ hôm qua</code>. Gõ /help để xem thêm."
    ),
    "ask.truncated": "Câu hỏi dài: chỉ tìm theo {max} từ đầu, bỏ qua {n} từ.",
    # --- buttons (plain text: Telegram does not parse HTML in buttons) ---
    "button.prev": "« Trước",
    "button.next": "Sau »",
    "button.approve": "Duyệt",
    "button.deny": "Từ chối",
    "button.confirm": "Thêm nguồn",
    "button.cancel": "Hủy",
    "button.users_revoke": "🚫 Thu hồi",
    "button.users_reapprove": "✅ Duyệt lại",
    "button.users_pending": "Chờ duyệt",
    "button.users_approved": "Đã duyệt",
    "button.users_denied": "Từ chối",
    "button.users_log": "📜 Nhật ký",
    # --- latest / news ---
    "latest.header": "Bài mới nhất trên <b>{outlet}</b>",
    "latest.header_all": "Bài mới nhất",
    "latest.empty": "Chưa có bài nào.",
    "latest.unknown_source": "Không có nguồn <code>{source_id}</code>. Gõ /sources để xem danh sách.",
    "news.header": "Báo chí viết về cơ quan",
    "news.empty": "Chưa có bài nào nhắc đến cơ quan.",
    # --- sources and their health ---
    "sources.header": "<b>Nguồn tin</b> ({n})",
    "sources.row": "{icon} <b>{name}</b> (<code>{source_id}</code>): {state}",
    "sources.empty": "Chưa có nguồn tin nào.",
    "health.ok": "hoạt động bình thường",
    "health.pending": "chưa kiểm tra lần nào",
    "health.failing": "lỗi từ {since}: {reason}",
    "health.silent": "không có bài mới từ {since}",
    "health.paused": "đang tạm dừng",
    "health.deactivated": "đã ngừng: {reason}",
    "health.removed_config": "đã gỡ: không còn trong feeds.yaml",
    "health.removed_chat": "đã gỡ bằng /removesource",
    "health.inactive": "đã tắt trong feeds.yaml (active: false)",
    # --- campaigns ---
    "campaigns.header": "<b>Chiến dịch</b>",
    "campaigns.row": "<b>{name}</b>: {d7} bài 7 ngày, {d30} bài 30 ngày",
    "campaigns.empty": "Chưa có chiến dịch nào.",
    # --- reports (/campaign, /compare, /export, report questions) ---
    "report.usage": (
        "Cách dùng: <code>/campaign mã_chiến_dịch [thời gian]</code>, "
        "ví dụ <code>/campaign {example} tháng này</code>. Thời gian: <code>7d</code>, <code>30d</code> (mặc định), "
        "<code>tháng này</code>, <code>tháng 9</code>, "
        "<code>2026-09-01..2026-09-30</code>. Các chiến dịch: {campaigns}"
    ),
    "export.usage": (
        "Cách dùng: <code>/export mã_chiến_dịch [thời gian]</code>, ví dụ <code>/export {example} tháng này</code>. "
        "Các chiến dịch: {campaigns}"
    ),
    "report.no_campaigns": "Chưa có chiến dịch nào trong feeds.yaml.",
    "report.unknown_campaign": "Không có chiến dịch <code>{value}</code>; có phải ý bạn là {suggestions}?",
    "report.unknown_campaign_none": "Không có chiến dịch <code>{value}</code>. Các chiến dịch: {suggestions}",
    "report.bad_period": (
        "Không hiểu khoảng thời gian <code>{value}</code>. Ví dụ: <code>7d</code>, <code>30d</code>, "
        "<code>tháng này</code>, <code>tháng 9</code>, <code>2026-09-01..2026-09-30</code>"
    ),
    "report.period_backwards": "Khoảng thời gian <code>{value}</code> kết thúc trước khi bắt đầu.",
    "report.period_future": "Khoảng thời gian này chưa bắt đầu.",
    "report.period_long": "Khoảng thời gian dài quá: tối đa {max} ngày.",
    "report.title": "<b>{name}</b> · {period}",
    "report.total": "Tổng: <b>{n}</b> bài, {change} so với {days} ngày trước đó ({previous} bài)",
    "report.up": "↑ {pct}%",
    "report.down": "↓ {pct}%",
    "report.same": "không đổi",
    "report.new": "mới có",
    "report.share": "Tỷ trọng: {pct}% số bài của {count} chiến dịch",
    "report.outlets": "Theo báo: {outlets}",
    "report.stories": "Sự kiện nổi bật:",
    "report.story": "{i}. {title} — {outlets} báo, {n} bài",
    "report.empty": "Không có bài nào trong kỳ này (kỳ trước: {previous} bài).",
    "compare.title": "<b>So sánh các chiến dịch</b> · {period}",
    "compare.row": "{name}: <b>{n}</b> bài ({change})",
    "compare.more": "Biểu đồ vẽ {shown} chiến dịch nhiều bài nhất.",
    "compare.empty": "Không chiến dịch nào có bài trong kỳ này.",
    "export.caption": "<b>{name}</b> · {period}: {n} bài",
    "export.too_many": "Quá nhiều bài ({n}) cho một tệp Excel: hãy chọn khoảng thời gian ngắn hơn.",
    # --- access ---
    "access.refused": "Xin lỗi, bot này chỉ phục vụ cán bộ được cấp quyền. ID Telegram của bạn: {user_id}",
    "access.request": "{name} (@{username}, id {user_id}) xin dùng bot",
    "access.request_no_username": "{name} (id {user_id}) xin dùng bot",
    "access.approved_user": "Bạn đã được cấp quyền dùng bot. Gõ /help để xem hướng dẫn.",
    "access.denied_user": "Yêu cầu dùng bot của bạn không được chấp thuận.",
    "access.approved_admin": "Đã duyệt {name} (id {user_id}).",
    "access.denied_admin": "Đã từ chối {name} (id {user_id}).",
    "access.already_decided": "Yêu cầu này đã được xử lý.",
    "access.refused_denied": (
        "Xin lỗi, yêu cầu dùng bot của bạn đã bị từ chối. Bạn có thể xin lại từ {when}. ID Telegram của bạn: {user_id}"
    ),
    "access.group_refused": (
        "Nhóm này chưa được phép dùng bot. Quản trị viên có thể thêm id nhóm <code>{chat_id}</code> "
        "vào <code>access.chats</code> trong feeds.yaml."
    ),
    "access.revoked_user": "Quyền dùng bot của bạn đã bị thu hồi.",
    "access.request_more": "Mọi yêu cầu: /users",
    # --- /users (admins) ---
    "users.title": "<b>Người dùng {status}</b> — trang {page}/{pages}",
    "users.status.pending": "chờ duyệt",
    "users.status.approved": "đã duyệt",
    "users.status.denied": "bị từ chối hoặc thu hồi",
    "users.counts": "Chờ duyệt: {pending} · Đã duyệt: {approved} · Bị từ chối: {denied}",
    "users.row": "{n}. {name}{username} · id <code>{user_id}</code> · {when}",
    "users.none": "Không có ai.",
    "users.config_note": "Quản trị viên và người dùng khai trong feeds.yaml (access.admins, access.users) "
    "không có trong danh sách này; sửa họ trong tệp đó.",
    "users.usage": "Cách dùng: <code>/users</code>, <code>/users approved</code>, <code>/users denied</code>, "
    "<code>/users log</code>",
    "users.log_title": "<b>Nhật ký quản trị</b> (mới nhất trước)",
    "users.log_row": "{when} · {actor} · <code>{action}</code> {target}",
    "users.log_none": "Chưa có gì trong nhật ký.",
    "users.approved": "Đã duyệt {name}.",
    "users.denied": "Đã từ chối {name}.",
    "users.revoked": "Đã thu hồi quyền của {name}.",
    "users.unchanged": "Không có gì thay đổi.",
    # --- admin ---
    "admin.not_allowed": "Lệnh này chỉ dành cho quản trị viên.",
    "admin.addsource_usage": "Cách dùng: <code>/addsource https://bao.vn/rss/tin-moi.rss [mã]</code>",
    "admin.addsource_checking": "Đang đọc thử {url}…",
    "admin.addsource_preview": "<b>{title}</b>: {count} mục\nThêm nguồn <code>{source_id}</code>?",
    "admin.addsource_failed": "Không đọc được nguồn này: {reason}",
    "admin.addsource_exists": "Nguồn <code>{source_id}</code> đã có.",
    "admin.addsource_added": "Đã thêm nguồn <b>{name}</b> (<code>{source_id}</code>).",
    "admin.addsource_cancelled": "Đã hủy, không thêm nguồn.",
    "admin.source_usage": "Cách dùng: <code>/{command} mã_nguồn</code>",
    "admin.unknown_source": "Không có nguồn <code>{source_id}</code>.",
    "admin.removed": "Đã xóa nguồn <code>{source_id}</code>. Các bài đã lưu vẫn được giữ.",
    "admin.paused": "Đã tạm dừng nguồn <code>{source_id}</code>.",
    "admin.resumed": "Đã chạy lại nguồn <code>{source_id}</code>.",
    "admin.reloaded": "Đã nạp lại cấu hình: {sources} nguồn, {campaigns} chiến dịch.",
    "admin.retagged": "Đã gắn thẻ lại chiến dịch trên toàn bộ kho (số bài): {campaigns}.",
    "admin.campaigns_dropped": "Đã xóa chiến dịch cùng các thẻ: {campaigns}.",
    "admin.reload_failed": "Không nạp lại được cấu hình, vẫn dùng cấu hình cũ: {error}",
    "admin.stats": (
        "<b>Thống kê</b>\n"
        "Bài đã lưu: {articles} ({articles_24h} trong 24 giờ qua)\n"
        "Nguồn: {sources} ({failing} đang lỗi)\n"
        "Người dùng: {users}\n"
        "Cơ sở dữ liệu: {db_size}"
    ),
    # --- errors and settings ---
    "error.generic": "Đã có lỗi, vui lòng thử lại sau.",
    "query_error.not_excludable": "không thể loại trừ -{name}: (dùng {name}:…)",
    "query_error.bad_since": (
        "since:{value} không phải là thời gian; dùng since:7d, since:24h, since:2w, since:2026-11-01 "
        "hoặc since:25/11/2026"
    ),
    "query_error.since_unit": "since:{value} cần đơn vị ngày, tuần hoặc giờ, ví dụ since:{days}d",
    "query_error.unknown_source": "không có nguồn <code>{value}</code>, có phải ý bạn là {suggestions}",
    "query_error.unknown_source_none": "không có nguồn <code>{value}</code>; gõ /sources để xem danh sách",
    "query_error.bad_source": "source:{value} không phải mã nguồn tin (chữ, số, - _ .), ví dụ source:vtv",
    "query_error.too_long": "truy vấn quá dài, tối đa {max} từ",
    "query_error.only_excluded": "cần ít nhất một từ để tìm bên cạnh các từ loại trừ, ví dụ <code>bão -lũ</code>",
    "query_error.empty": "chưa có từ nào để tìm, ví dụ <code>chuyển đổi số</code>",
    "query_error.invalid": "truy vấn không hợp lệ",
    "error.bad_query": "Không hiểu truy vấn: {reason}. Ví dụ: <code>chuyển đổi số since:7d</code>",
    "lang.switched": "Đã chuyển sang tiếng Việt.",
    "lang.usage": "Cách dùng: <code>/lang vi</code> hoặc <code>/lang en</code>",
    # --- subscriptions and digests ---
    "command.subscribe": "Theo dõi tin mới (truy vấn, chiến dịch, nguồn)",
    "command.subscriptions": "Các theo dõi của cuộc trò chuyện này",
    "command.unsubscribe": "Bỏ theo dõi",
    "button.follow": "🔔 Theo dõi",
    "button.sub_pause": "⏸ Tạm dừng",
    "button.sub_resume": "▶ Tiếp tục",
    "button.sub_daily": "🗓 Gửi hằng ngày",
    "button.sub_instant": "⚡ Gửi ngay",
    "button.sub_delete": "🗑 Xóa",
    "button.sub_back": "« Danh sách",
    "sub.what.query": "<b>{label}</b>",
    "sub.what.campaign": "chiến dịch <b>{label}</b>",
    "sub.what.source": "nguồn <b>{label}</b>",
    "sub.what.news": "báo chí viết về <b>{label}</b>",
    "sub.what.diembao": "điểm báo hằng ngày về <b>{label}</b>",
    "sub.mode.diembao": "mỗi sáng, các bài của ngày hôm trước",
    "sub.mode.instant": "báo ngay",
    "sub.mode.daily": "bản tin hằng ngày lúc {time}",
    "sub.state.paused": "⏸ đang tạm dừng",
    "sub.state.blocked": "⛔ tạm dừng vì bot bị chặn hoặc bị mời ra",
    "sub.subscribed": "🔔 Đã theo dõi {what} — {mode}.",
    "sub.recent": "Các bài gần nhất khớp:",
    "sub.no_recent": "Chưa có bài nào khớp; bài mới sẽ được báo tại đây.",
    "sub.manage": "Quản lý: /subscriptions",
    "sub.list_empty": (
        "Chưa theo dõi gì. Ví dụ: <code>/subscribe chuyển đổi số</code> hoặc <code>/subscribe daily 07:30 news</code>"
    ),
    "sub.list_header": "<b>Đang theo dõi</b> ({n}/{max})",
    "sub.list_hint": "Bấm số để tạm dừng, đổi cách gửi hoặc xóa.",
    "sub.list_hint_delete": "Bấm 🗑 để bỏ theo dõi, hoặc gõ <code>/unsubscribe số</code>.",
    "sub.card": "{what}\nCách gửi: {mode}",
    "sub.deleted": "Đã bỏ theo dõi {what}.",
    "sub.gone": "Mục theo dõi này không còn nữa.",
    "sub.unsubscribe_usage": "Gõ <code>/unsubscribe số</code> với số thứ tự trong /subscriptions (hiện có {n}).",
    "sub.expired": "Nút này đã cũ; gõ /subscriptions để xem lại.",
    "sub.admins_only": "Chỉ quản trị viên của nhóm mới được thay đổi các theo dõi của nhóm.",
    "sub.muted": "Đã tắt thông báo: {label}. Gõ /subscriptions để bật lại.",
    "sub.error.usage": (
        "Cách dùng: <code>/subscribe chuyển đổi số</code>, <code>/subscribe campaign mã</code>, "
        "<code>/subscribe source mã</code>, <code>/subscribe news</code>; thêm <code>daily 07:30</code> "
        "ở đầu để nhận bản tin hằng ngày, ví dụ <code>/subscribe daily 07:30 chuyển đổi số</code>"
    ),
    "sub.error.bad_time": (
        "{value} không phải giờ hợp lệ: viết <code>daily HH:MM</code>, ví dụ <code>/subscribe daily "
        "07:30 chuyển đổi số</code>"
    ),
    "sub.error.daily_first": (
        "Đặt <code>daily HH:MM</code> ở đầu, ví dụ <code>/subscribe daily 07:30 chuyển đổi số</code>"
    ),
    "sub.error.since": (
        "Theo dõi luôn báo bài mới nên không cần <code>since:</code>; bỏ nó đi, ví dụ <code>/subscribe "
        'bão -"quảng cáo"</code>'
    ),
    "sub.error.unknown_campaign": "Không có chiến dịch <code>{value}</code>; các chiến dịch: {known}",
    "sub.error.too_many": "Cuộc trò chuyện này đã có {max} mục theo dõi (tối đa); bỏ bớt bằng /unsubscribe.",
    "sub.error.duplicate": "Đã theo dõi <b>{label}</b> ở đây rồi; xem /subscriptions.",
    "digest.header": "🗓 <b>Bản tin {date}</b> — {what}: {n} bài",
    "digest.outlet": "<i>{name}</i> ({n})",
    "digest.more": "… và {n} bài khác",
    # --- alerts (bot.telegram.alerts) ---
    "review.header": "📰 <b>Điểm báo ngày {date}</b> — {org}\n{n} bài, trong đó {warnings} bài cần lưu ý",
    "review.section": "<b>{name}</b> ({n})",
    "review.outlet": "<i>{name}</i> ({n})",
    "review.term": "⚠ có «{term}»",
    "review.empty": "Ngày {date} không có bài nào về cơ quan và các chiến dịch.",
    "review.caption": "Điểm báo ngày {date} — tệp Word để in",
    "review.error.bad_day": (
        "Không đọc được ngày <code>{value}</code>. Ví dụ: <code>/diembao</code> (hôm qua), "
        "<code>/diembao 14/9/2026</code>, <code>/diembao 2026-09-14</code>."
    ),
    "review.error.day_future": "Ngày {value} chưa tới.",
    "spike.header": (
        "📈 <b>Tăng đột biến</b>: {name} — {n} bài hôm nay, gấp {ratio} lần mức thường ngày "
        "({baseline} bài/ngày trong 14 ngày qua)"
    ),
    "spike.top": "Tin nổi bật:",
    "weekly.header": "🗓 <b>Tổng kết tuần {first}–{last}</b>",
    "weekly.campaigns": "<b>Chiến dịch</b> (tuần này / tuần trước)",
    "weekly.line": "{arrow} {name}: {n} / {previous}",
    "weekly.news": "<b>Tin về cơ quan</b>: {arrow} {n} bài (tuần trước {previous})",
    "weekly.warnings": "<b>⚠ Cần lưu ý</b>: {n} bài",
    "news.warning": "⚠ <b>Cần lưu ý</b> — có «{term}»",
    "alert.warning": "⚠ <b>Cảnh báo</b>: bài viết về cơ quan có «{term}»",
    "alert.subscription": "🔔 Theo dõi: {label}",
    "alert.also": "Cũng đăng trên: {outlets}",
    "alert.mute": "🔕 Tắt theo dõi này",
    "alert.more": "🔎 Tin tương tự",
    "alert.blocked": (
        "⚠️ Chat <code>{chat}</code> đã chặn hoặc xoá bot. Đã tạm dừng {n} theo dõi của chat này; "
        "tin báo sẽ không gửi tới đó nữa."
    ),
    "admin.stats_alerts": (
        "Theo dõi: {subscriptions} ({paused} tạm dừng)\n"
        "Hàng đợi tin báo: {pending} chờ gửi (lâu nhất {oldest} giây), {sent} đã gửi, {failed} lỗi\n"
        "Chat đã chặn bot: {blocked}"
    ),
}
