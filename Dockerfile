# mediabot: one process runs the Telegram bot and the poller (`mediabot run`).
# Build context: .dockerignore lets in only what is copied below, so no token, database or .env
# lying in the checkout can end up in an image layer.
FROM python:3.11-slim

# MPLCONFIGDIR: matplotlib writes its font cache on first use, and /tmp stays writable (a tmpfs)
# when the root filesystem is read-only (compose.yaml).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MEDIABOT_CONFIG=/app/feeds.yaml \
    MEDIABOT_DB=/data/mediabot.db \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
# A fixed uid/gid (10001), so host folders and secret files can be given to it by number.
RUN pip install . \
    && groupadd --system --gid 10001 mediabot \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin mediabot \
    && mkdir -p /data /backups \
    && chown mediabot:mediabot /data /backups \
    && chmod 700 /data /backups
COPY feeds.yaml ./

USER 10001:10001
VOLUME ["/data"]
# The webhook listener (MEDIABOT_WEBHOOK_PORT), used only in webhook mode, behind a TLS proxy.
EXPOSE 8443

# Healthy = the configuration is valid and the database answers and was polled recently.
# `mediabot health` gives up on a busy database after a few seconds, well inside this timeout.
HEALTHCHECK --interval=1m --timeout=20s --start-period=2m --retries=3 \
    CMD ["mediabot", "health"]

ENTRYPOINT ["mediabot"]
CMD ["run"]
