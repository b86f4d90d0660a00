"""The fake Telegram Bot API server; the implementation lives in `tests.fakes.telegram`."""

from tests.fakes.telegram import (
    FakeChat,
    FakeTelegram,
    FakeUser,
    FloodLimits,
    RecordedCall,
    StoredFile,
    UpdateTiming,
    UploadedFile,
)

__all__ = [
    "FakeChat",
    "FakeTelegram",
    "FakeUser",
    "FloodLimits",
    "RecordedCall",
    "StoredFile",
    "UpdateTiming",
    "UploadedFile",
]
