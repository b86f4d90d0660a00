"""Just enough HTTP/1.1 for Bot API clients: keep-alive, Content-Length or chunked bodies,
and the three body encodings clients use (JSON, urlencoded, multipart/form-data)."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote

from tests.fakes.telegram._objects import UploadedFile

MAX_BODY = 64 * 1024 * 1024
# Values that are free text: a text of "123" or "true" must stay a string.
_TEXT_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "url",
        "secret_token",
        "language_code",
        "action",
        "emoji",
        "photo",
        "document",
        "file_id",
        "inline_message_id",
        "description",
        "short_description",
        "name",
        "title",
        "ip_address",
    }
)
_DISPOSITION_PARAM = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))')


class HttpProtocolError(Exception):
    """The peer sent something that is not an HTTP/1.1 request."""


@dataclass(slots=True)
class HttpRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        """HTTP/1.1 keeps the connection unless the client says close."""
        return self.headers.get("connection", "").lower() != "close"


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """Read one request; None when the client closed the connection between requests."""
    line = await reader.readline()
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise HttpProtocolError(f"bad request line {line[:80]!r}")
    headers: dict[str, str] = {}
    while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    path, _, query = parts[1].partition("?")
    # PTB percent-encodes file paths, token included (`:` → %3A).
    return HttpRequest(parts[0].upper(), unquote(path), query, headers, await _read_body(reader, headers))


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _read_chunked(reader)
    length = int(headers.get("content-length") or 0)
    if length > MAX_BODY:
        raise HttpProtocolError("body too large")
    return await reader.readexactly(length) if length else b""


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks, total = [], 0
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        total += size
        if total > MAX_BODY:
            raise HttpProtocolError("body too large")
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


def encode_response(status: int, body: bytes, content_type: str, keep_alive: bool) -> bytes:
    """Serialize a complete HTTP/1.1 response."""
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def json_response(status: int, payload: Any, keep_alive: bool) -> bytes:
    """A JSON response as Telegram sends it."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return encode_response(status, body, "application/json", keep_alive)


def parse_params(request: HttpRequest) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Parameters from the query string and body, with JSON-encoded form values decoded."""
    params: dict[str, Any] = {k: _form_value(k, v) for k, v in parse_qsl(request.query)}
    files: dict[str, UploadedFile] = {}
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "application/json" and request.body:
        decoded = json.loads(request.body)
        if not isinstance(decoded, dict):
            raise ValueError("JSON body must be an object")
        params.update(decoded)
    elif media_type == "application/x-www-form-urlencoded":
        pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
        params.update((k, _form_value(k, v)) for k, v in pairs)
    elif media_type == "multipart/form-data":
        _parse_multipart(request.body, _boundary(content_type), params, files)
    return params, files


def _form_value(name: str, value: str) -> Any:
    # Clients (PTB included) send non-string values JSON-encoded inside form fields.
    if name in _TEXT_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _boundary(content_type: str) -> bytes:
    for key, quoted, bare in _DISPOSITION_PARAM.findall(content_type):
        if key.lower() == "boundary":
            return (quoted or bare).strip().encode("latin-1")
    raise ValueError("multipart body without boundary")


def _parse_multipart(body: bytes, boundary: bytes, params: dict[str, Any], files: dict[str, UploadedFile]) -> None:
    delimiter = b"\r\n--" + boundary
    for raw in (b"\r\n" + body).split(delimiter)[1:]:
        if raw.startswith(b"--"):
            break
        head, _, content = raw.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = _part_headers(head)
        disposition = _disposition(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        if "filename" in disposition:
            content_type = headers.get("content-type", "application/octet-stream")
            files[name] = UploadedFile(name, disposition["filename"], content_type, content)
        else:
            params[name] = _form_value(name, content.decode("utf-8"))


def _part_headers(head: bytes) -> dict[str, str]:
    headers = {}
    for line in head.decode("utf-8", errors="replace").split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


def _disposition(value: str) -> dict[str, str]:
    result = {}
    for key, quoted, bare in _DISPOSITION_PARAM.findall(value):
        if key.endswith("*"):  # RFC 5987: filename*=utf-8''percent-encoded
            result[key[:-1].lower()] = unquote(bare.split("'", 2)[-1])
        else:
            # httpx and browsers escape `"` as %22 and `\` as `\\` (HTML5 form encoding).
            text = quoted.replace("%22", '"').replace("\\\\", "\\") if quoted else bare.strip()
            result.setdefault(key.lower(), text)
    return result
