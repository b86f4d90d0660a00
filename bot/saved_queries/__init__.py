"""Saved queries: campaigns and subscriptions; one home for what they share.

saved_query  SavedQuery and the ONE compile function (query text + bounds → SearchPlan)
campaigns    feeds.yaml campaigns → saved queries (the one validation), their stored
             matches (`campaign_articles`): recording and counting
registry     the active saved queries of every kind and the one after-insert hook
retag        re-tagging the history of campaigns whose query changed (fingerprints)
percolator   every saved query matched against newly stored articles in memory, by the search's rules
unicode61    FTS5's tokenizer emulated exactly, so the percolator sees the tokens FTS5 indexed
"""
