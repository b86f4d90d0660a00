"""Campaign reports: the numbers, the chart and the files, from the stored campaign matches.

period   what the user typed (`7d`, `tháng này`, `2026-09-01..2026-09-30`, a question) → whole local days
store    the stored matches of a campaign in a period (campaign_articles), never a re-search
numbers  CampaignReport (totals, per outlet, per day, top stories, share of voice) and Comparison
chart    PNG charts with matplotlib's object API (thread-safe: no pyplot), Vietnamese-proof font
export   XLSX (openpyxl) and CSV (UTF-8 with BOM) of every matched article
labels   the words on charts and in files, Vietnamese and English
"""
