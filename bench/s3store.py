"""The durable broker's S3 store alone: latency and store CPU per request, one keep-alive client.

The requests are Tansu's (docs/durability.md): a watermark PUT with ``If-Match``, a record-batch PUT with
``If-None-Match: *``, a batch GET, and a LIST of a 5,000-batch partition prefix (5 pages).
Run: ``python -m bench.s3store``.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from embedded.s3 import BUCKET, EmbeddedS3


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="ts-bench-s3store-"))
    store = EmbeddedS3(home / "s3", home / "store.log").start()
    assert store._proc is not None
    pid = store._proc.pid
    client = httpx.Client(base_url=f"{store.endpoint}/{BUCKET}")

    def bench(label: str, request: Callable[[int], None], n: int) -> None:
        cpu, times = _cpu_s(pid), []
        for i in range(n):
            start = time.perf_counter()
            request(i)
            times.append(time.perf_counter() - start)
        cpu = _cpu_s(pid) - cpu
        times.sort()
        print(f"  {label:36s} p50 {times[n // 2] * 1e3:.2f} ms, p99 {times[int(n * 0.99)] * 1e3:.2f} ms, "
              f"store CPU {cpu / n * 1e3:.2f} ms/request")  # fmt: skip

    etag = [client.put("p/watermark.json", content=b"{}").headers["etag"]]

    def watermark(i: int) -> None:
        body = b'{"low":null,"high":%d,"timestamps":null}' % i
        reply = client.put("p/watermark.json", content=body, headers={"If-Match": etag[0]})
        assert reply.status_code == 200, reply.text
        etag[0] = reply.headers["etag"]

    def batch(i: int) -> None:
        reply = client.put(f"p/records/{i:020d}.batch", content=b"x" * 1500, headers={"If-None-Match": "*"})
        assert reply.status_code == 200, reply.text

    def listing(_: int) -> None:
        token, count = None, 0
        while True:
            params = {"list-type": "2", "prefix": "p/records/"} | (
                {"continuation-token": token} if token else {}
            )
            text = client.get("", params=params).text
            count += text.count("<Key>")
            match = re.search(r"<NextContinuationToken>(.*?)</NextContinuationToken>", text)
            if match is None:
                break
            token = match.group(1)
        assert count == 5000, count

    print("S3 store (embedded.s3store), one keep-alive client, 2 shared cores (noisy)")
    try:
        bench("PUT watermark, If-Match", watermark, 400)
        bench("PUT record batch, If-None-Match: *", batch, 400)
        bench(
            "GET record batch",
            lambda i: client.get(f"p/records/{i:020d}.batch").raise_for_status() and None,
            400,
        )
        for i in range(400, 5000):
            client.put(f"p/records/{i:020d}.batch", content=b"x" * 100)
        bench("LIST 5,000 keys (5 pages)", listing, 10)
    finally:
        client.close()
        store.stop()


if __name__ == "__main__":
    main()
