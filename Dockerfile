# mediabot: one process runs the Telegram bot and the poller (`mediabot run`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MEDIABOT_CONFIG=/app/feeds.yaml \
    MEDIABOT_DB=/data/mediabot.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . && useradd --create-home --uid 10001 mediabot && mkdir -p /data && chown mediabot /data
COPY feeds.yaml ./

USER mediabot
VOLUME ["/data"]

# Healthy = the configuration is valid and the database answers and was polled recently.
HEALTHCHECK --interval=1m --timeout=20s --start-period=2m --retries=3 \
    CMD ["mediabot", "health"]

ENTRYPOINT ["mediabot"]
CMD ["run"]
