"""The durable broker's local S3 endpoint: exactly the S3 operations Tansu 0.6 uses, over one bucket.

Replaces npm s3rver, which cost ~5 ms of CPU per request (Koa, three files and XML per object,
directory scans for LIST): Tansu makes two or three sequential conditional PUTs per produced batch and
LISTs a partition's whole ``records/`` prefix on every fetch that has data to return, so the store's
per-request cost was the durable broker's throughput. This server is a bare HTTP/1.1 loop
(``httptools`` on ``uvloop``) over :class:`embedded.objectdir.ObjectDir`, which holds the guarantees
(atomic writes, conditional puts, disk reserve) and the sorted key index that LIST bisects.

Operations: PutObject (``If-Match`` / ``If-None-Match``), GetObject (``Range``, ``If-Match``,
``If-None-Match`` -> 304), HeadObject, DeleteObject, DeleteObjects (``POST ?delete``),
ListObjectsV2 (and V1) with prefix, delimiter, max-keys, continuation-token, start-after; bucket HEAD
and PUT. Anything else is answered 501 so a Tansu upgrade that needs more fails loudly.

Signatures are not verified (as ``s3rver --allow-mismatched-signatures``): it listens on 127.0.0.1
only, for the broker it was started for.

Run: ``python -m embedded.s3store <data dir> <port> <bucket>``. Objects live under
``<data dir>/<bucket>``. ``TOUCHSTREAM_S3STORE_RESERVE_BYTES`` overrides the 64 MiB free-space reserve
(tests set it huge to see the refusal); ``TOUCHSTREAM_S3STORE_TRACE=<file>`` appends one line per
request (method, target, conditions, status, microseconds) — how docs/durability.md's request mix was
counted.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import logging
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, cast
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.sax.saxutils import escape, unescape

import httptools
import uvloop

from embedded.objectdir import (
    DEFAULT_RESERVE_BYTES,
    InvalidKeyError,
    ObjectDir,
    ObjectMeta,
    OutOfSpaceError,
    PreconditionFailedError,
)
from embedded.retention import DEFAULT_KEEP_S, run_retention

__all__ = ["S3Handler", "main", "serve"]

_REASONS = {
    200: "OK",
    204: "No Content",
    206: "Partial Content",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    412: "Precondition Failed",
    416: "Range Not Satisfiable",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}
_XML = "application/xml"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
_NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_TRACED = ("if-match", "if-none-match", "range")
_DELETE_KEY = re.compile(r"<Key>(.*?)</Key>", re.DOTALL)

Headers = list[tuple[str, str]]


class Reply:
    __slots__ = ("body", "headers", "send_body", "status")

    def __init__(self, status: int, body: bytes = b"", headers: Headers | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or []
        self.send_body = True  # False for HEAD: Content-Length still describes the object


def _error(status: int, code: str, message: str, resource: str = "") -> Reply:
    xml = (
        f"{_XML_HEAD}<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
        f"<Resource>{escape(resource)}</Resource><RequestId>0</RequestId></Error>"
    )
    return Reply(status, xml.encode(), [("Content-Type", _XML)])


def _precondition_failed() -> Reply:
    return _error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")


def _etag(meta: ObjectMeta) -> str:
    return f'"{meta.etag}"'


def _object_headers(meta: ObjectMeta) -> Headers:
    return [
        ("ETag", _etag(meta)),
        ("Last-Modified", email.utils.formatdate(meta.mtime, usegmt=True)),
        ("Accept-Ranges", "bytes"),
        ("Content-Type", "application/octet-stream"),
    ]


def _iso(mtime: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(mtime))


def _matches(condition: str, meta: ObjectMeta) -> bool:
    """Whether an If-Match / If-None-Match header value names ``meta``'s etag (``*`` names any)."""
    tags = [tag.strip().removeprefix("W/").strip('"') for tag in condition.split(",")]
    return "*" in tags or meta.etag in tags


class S3Handler:
    """Answers one parsed request against the bucket (per-key ordering is the store's business)."""

    def __init__(self, store: ObjectDir, bucket: str) -> None:
        self.store = store
        self.bucket = bucket

    async def __call__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        bucket, _, key = unquote(split.path).lstrip("/").partition("/")
        if bucket != self.bucket:
            return _error(404, "NoSuchBucket", "The specified bucket does not exist", bucket)
        try:
            if not key:
                return await self._bucket(method, query, body)
            if method == "GET" or method == "HEAD":
                return await self._get(key, headers, head=method == "HEAD")
            if method == "PUT":
                if "x-amz-copy-source" in headers or "partNumber" in query:
                    return _error(501, "NotImplemented", "copy and multipart uploads are not supported", key)
                return await self._put(key, headers, body)
            if method == "DELETE":
                await self.store.delete(key)
                return Reply(204)
        except InvalidKeyError:
            return _error(400, "InvalidArgument", "keys with empty, '.' or '..' segments are refused", key)
        except OutOfSpaceError:
            # 503 SlowDown: the broker's S3 client gives up after its retries, the produce fails,
            # and the collector answers 503 + Retry-After instead of acknowledging.
            return _error(503, "SlowDown", "The store is out of disk space; retry when space is freed", key)
        except OSError as exc:
            return _error(500, "InternalError", str(exc), key)
        return _error(501, "NotImplemented", f"{method} is not supported", key)

    async def _bucket(self, method: str, query: dict[str, str], body: bytes) -> Reply:
        if method in ("HEAD", "PUT"):  # exists / create: the bucket always exists
            return Reply(200)
        if method == "GET":
            return self._list(query)
        if method == "POST" and "delete" in query:
            return await self._delete_many(body)
        return _error(501, "NotImplemented", f"{method} on a bucket is not supported", self.bucket)

    async def _get(self, key: str, headers: dict[str, str], head: bool) -> Reply:
        found = await self.store.get(key)  # HEAD reads too: objects are small and the etag may be unknown
        if found is None:
            reply = _error(404, "NoSuchKey", "The specified key does not exist.", key)
            reply.send_body = not head
            return reply
        meta, data = found
        if "if-match" in headers and not _matches(headers["if-match"], meta):
            return _precondition_failed()
        if "if-none-match" in headers and _matches(headers["if-none-match"], meta):
            # Tansu polls watermarks and cluster metadata this way: unchanged costs no body.
            return Reply(304, b"", [("ETag", _etag(meta))])
        status, extra = 200, []
        spec = headers.get("range")
        if spec is not None and (match := _RANGE.match(spec.strip())) is not None:
            first, last = match.groups()
            if first:
                start, end = int(first), min(int(last), len(data) - 1) if last else len(data) - 1
            else:
                start, end = max(len(data) - int(last or 0), 0), len(data) - 1
            if start >= len(data) or start > end:
                return _error(416, "InvalidRange", "The requested range is not satisfiable", key)
            data = data[start : end + 1]
            status, extra = 206, [("Content-Range", f"bytes {start}-{end}/{meta.size}")]
        reply = Reply(status, data, _object_headers(meta) + extra)
        reply.send_body = not head
        return reply

    async def _put(self, key: str, headers: dict[str, str], body: bytes) -> Reply:
        try:
            etag = await self.store.put(key, body, headers.get("if-match"), headers.get("if-none-match"))
        except PreconditionFailedError as failed:
            reply = _precondition_failed()
            reply.headers.append(("x-touchstream-condition", failed.condition))
            return reply
        return Reply(200, b"", [("ETag", f'"{etag}"')])

    async def _delete_many(self, body: bytes) -> Reply:
        deleted = []
        for raw in _DELETE_KEY.findall(body.decode()):
            key = unescape(raw, {"&quot;": '"', "&apos;": "'"})
            await self.store.delete(key)
            deleted.append(f"<Deleted><Key>{escape(key)}</Key></Deleted>")
        xml = f"{_XML_HEAD}<DeleteResult {_NS}>{''.join(deleted)}</DeleteResult>"
        return Reply(200, xml.encode(), [("Content-Type", _XML)])

    def _list(self, query: dict[str, str]) -> Reply:
        v2 = query.get("list-type") == "2"
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
        max_keys = min(int(query.get("max-keys", "1000")), 1000)
        token = query.get("continuation-token")
        if token is not None:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        else:
            after = query.get("start-after" if v2 else "marker", "")
        listing = self.store.list(prefix, delimiter, after, max_keys)
        url = query.get("encoding-type") == "url"

        def enc(value: str) -> str:
            return escape(quote(value, safe="/") if url else value)

        parts = [f"{_XML_HEAD}<ListBucketResult {_NS}><Name>{self.bucket}</Name>"]
        parts.append(f"<Prefix>{enc(prefix)}</Prefix>")
        if delimiter:
            parts.append(f"<Delimiter>{enc(delimiter)}</Delimiter>")
        if url:
            parts.append("<EncodingType>url</EncodingType>")
        parts.append(
            f"<MaxKeys>{max_keys}</MaxKeys><IsTruncated>{str(listing.truncated).lower()}</IsTruncated>"
        )
        if v2:
            parts.append(f"<KeyCount>{len(listing.keys) + len(listing.common_prefixes)}</KeyCount>")
            if token is not None:
                parts.append(f"<ContinuationToken>{escape(token)}</ContinuationToken>")
            if "start-after" in query:
                parts.append(f"<StartAfter>{enc(query['start-after'])}</StartAfter>")
        else:
            parts.append(f"<Marker>{enc(after)}</Marker>")
        if listing.truncated and listing.next_marker is not None:
            if v2:
                next_token = base64.urlsafe_b64encode(listing.next_marker.encode()).decode()
                parts.append(f"<NextContinuationToken>{next_token}</NextContinuationToken>")
            else:
                parts.append(f"<NextMarker>{enc(listing.next_marker)}</NextMarker>")
        contents = []
        for key, meta in listing.keys:
            if url or not meta.listed:
                element = (
                    f"<Contents><Key>{enc(key)}</Key><LastModified>{_iso(meta.mtime)}</LastModified>"
                    f"<ETag>&quot;{meta.etag}&quot;</ETag><Size>{meta.size}</Size>"
                    "<StorageClass>STANDARD</StorageClass></Contents>"
                ).encode()
                if url:
                    contents.append(element)
                    continue
                meta.listed = element
            contents.append(meta.listed)
        tail = [
            f"<CommonPrefixes><Prefix>{enc(common)}</Prefix></CommonPrefixes>"
            for common in listing.common_prefixes
        ]
        tail.append("</ListBucketResult>")
        body = b"".join(["".join(parts).encode(), *contents, "".join(tail).encode()])
        return Reply(200, body, [("Content-Type", _XML)])


_Request = tuple[str, str, dict[str, str], bytes]  # method, target, headers, body
Handler = Callable[[str, str, dict[str, str], bytes], Awaitable[Reply]]


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; requests are answered in order as each completes."""

    def __init__(self, handler: Handler, trace: IO[str] | None) -> None:
        self._handler = handler
        self._trace = trace
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._previous: asyncio.Future[None] | None = None  # the answer to the request before

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport is an asyncio.Transport in behaviour, not by inheritance.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            if self._transport is not None:
                self._transport.write(_BAD_REQUEST)
                self._transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url, self._headers, self._body = b"", {}, []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        if self._headers.get("expect", "").lower() == "100-continue" and self._transport is not None:
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        method = self._parser.get_method().decode()
        target = self._url.decode("latin-1")
        request = (method, target, self._headers, b"".join(self._body))
        keep_alive = self._parser.should_keep_alive()
        self._previous = asyncio.ensure_future(self._answer(request, keep_alive, self._previous))

    async def _answer(
        self,
        request: tuple[str, str, dict[str, str], bytes],
        keep_alive: bool,
        previous: asyncio.Future[None] | None,
    ) -> None:
        method, target, headers, body = request
        started = time.perf_counter()
        reply = await self._handler(method, target, headers, body)
        if previous is not None:
            await previous  # a pipelined request is answered after the one before it
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        lines = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Unknown')}"]
        lines += [f"{name}: {value}" for name, value in reply.headers]
        if reply.status != 304:
            lines.append(f"Content-Length: {len(reply.body)}")
        if not keep_alive:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        transport.write(head + reply.body if reply.send_body else head)
        if self._trace is not None:
            conditions = " ".join(f"{name}={headers[name]}" for name in _TRACED if name in headers)
            elapsed = (time.perf_counter() - started) * 1e6
            line = f"{time.time():.6f} {method} {target} [{conditions}] {reply.status} {elapsed:.0f}us\n"
            self._trace.write(line)
        if not keep_alive:
            transport.close()


async def serve(
    directory: Path, port: int, bucket: str, reserve_bytes: int, trace: IO[str] | None, keep_consumed_s: float
) -> None:
    store = ObjectDir(directory / bucket, reserve_bytes=reserve_bytes)
    await store.load()
    every_s = min(60.0, max(1.0, keep_consumed_s / 4))
    # Held in a local for as long as serve() runs (the loop keeps only weak references to tasks).
    retention = (
        asyncio.create_task(run_retention(store, keep_consumed_s, every_s)) if keep_consumed_s >= 0 else None
    )
    handler = S3Handler(store, bucket)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(handler, trace), "127.0.0.1", port)
    print(f"s3store listening on 127.0.0.1:{port} ({len(store)} objects in {directory / bucket})", flush=True)
    async with server:
        await server.serve_forever()
    if retention is not None:
        retention.cancel()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (3, 4):
        sys.exit("usage: python -m embedded.s3store <data dir> <port> <bucket> [<keep consumed s>|-1]")
    keep_consumed_s = float(args[3]) if len(args) == 4 else DEFAULT_KEEP_S
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    reserve = int(os.environ.get("TOUCHSTREAM_S3STORE_RESERVE_BYTES", DEFAULT_RESERVE_BYTES))
    trace_path = os.environ.get("TOUCHSTREAM_S3STORE_TRACE")
    trace = open(trace_path, "a", buffering=1) if trace_path else None  # noqa: SIM115 - lives as long as the process
    uvloop.run(serve(Path(args[0]), int(args[1]), args[2], reserve, trace, keep_consumed_s))


if __name__ == "__main__":
    main()
