"""Server-side upload size limit for Reflex's upload endpoint.

The browser's max_size is only advice; this ASGI wrapper refuses a declared Content-Length over the limit at
once and stops reading a body that grows past it, before the file lands on disk.
"""

from __future__ import annotations

import json

from hydroml.settings import get_settings

UPLOAD_PATH = "/_upload"
MULTIPART_OVERHEAD = 64 * 1024  # form boundaries and headers around the file


async def _refuse(send, limit_mb: int) -> None:
    body = json.dumps(
        {
            "detail": f"The file is larger than the {limit_mb} MB upload limit. Split it, or ask the administrator "
            "to raise HYDROML_MAX_UPLOAD_MB."
        }
    ).encode()
    await send(
        {"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def limit_uploads(app):
    async def guarded(scope, receive, send):
        if scope["type"] != "http" or not scope.get("path", "").startswith(UPLOAD_PATH):
            return await app(scope, receive, send)
        limit_mb = get_settings().max_upload_mb
        limit = limit_mb * 1024 * 1024 + MULTIPART_OVERHEAD
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _refuse(send, limit_mb)
        received = 0
        started = False

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse(send, limit_mb)

    return guarded
