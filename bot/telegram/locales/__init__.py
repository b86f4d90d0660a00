"""Message catalogues, one module per language: `MESSAGES` maps a key to Telegram HTML."""
