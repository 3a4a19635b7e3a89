"""Evidence files over HTTP: reading an upload within the limit, serving a download.

Shared by the API and the pages, so both refuse and serve files the same way.
"""

from urllib.parse import quote

from fastapi import Request, UploadFile
from fastapi.responses import Response

from pdca.models import Evidence
from pdca.services.evidence import too_large

CHUNK = 64 * 1024


def max_bytes(request: Request) -> int:
    return int(request.app.state.settings.evidence_max_bytes)


def read_limited(upload: UploadFile, limit: int) -> bytes:
    """The upload's bytes, read a chunk at a time; past `limit` it stops and refuses (413).

    Sync on purpose: the routes that call it write to the database (habit 11), and
    the parsed upload is a spooled file that reads without awaiting.
    """
    chunks, total = [], 0
    while chunk := upload.file.read(CHUNK):
        total += len(chunk)
        if total > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _ascii_fallback(name: str) -> str:
    kept = "".join(c for c in name if c.isascii() and c.isprintable() and c not in '"\\;')
    return kept.strip() or "evidence"


def download(evidence: Evidence) -> Response:
    """The file as an attachment: never rendered in the app's origin, never sniffed."""
    disposition = (
        f'attachment; filename="{_ascii_fallback(evidence.filename)}"; '
        f"filename*=UTF-8''{quote(evidence.filename, safe='')}"
    )
    return Response(
        content=evidence.data,
        media_type=evidence.content_type,
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
