# ruff: noqa: E501 - fixtures, user agents and SQL clauses read best on one line
"""Stream worker benchmark: full enrich + stitch + journey + credit vs bare-faust and kafka-python baselines.

Run ``python -m bench.streams [--events 60000] [--accounts 2000]``; ``--storage`` compares one worker
and its changelog restore on a memory and a durable embedded broker. Everything runs against one
embedded broker in the same run; each worker is a real ``touchstream worker`` subprocess and its
rate is read from its Prometheus counters (first to last event), so start-up is not counted.
Timings on a shared 2-core machine are noisy: compare ratios, not absolute numbers.

Events are produced in event-time order. ``--shuffled`` (on by default) runs one more 1-worker pass
on the same events in a seeded random order (a backfill arriving out of order), reads both runs'
``credits`` topics and prints the shuffled/in-order rate, the credit revisions emitted per credited
conversion in each, and whether both end with the same final credits (latest revision per
conversion, model and event id, zero rows left out).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from embedded.kafka import EmbeddedKafka, free_port
from embedded.process import spawn_child, stop_child
from schemas import jsonio
from streams.admin import ensure_topics
from streams.config import StreamTopics

SITE = "https://northwind.io"
LANDINGS = [
    {"referrer": "https://www.google.com/search?q=attribution"}, {"referrer": "https://www.linkedin.com/feed/"},
    {"utm": {"source": "linkedin", "medium": "cpc", "campaign": "q3-abm"}}, {"utm": {"medium": "email"}},
    {"referrer": "https://open.spotify.com/episode/1"}, {"referrer": "https://www.g2.com/products/northwind"},
    {"click_ids": {"gclid": "abc"}}, {},
]  # fmt: skip
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def make_events(n: int, accounts: int, days: int, seed: int = 7) -> list[tuple[bytes, bytes]]:
    """Sessions of a landing page + 3 internal pages, engagements, identifies, forms, CRM stages, in
    event-time order (:func:`shuffled` gives the same set as an out-of-order backfill)."""
    rnd = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=days + 1)
    out: list[tuple[datetime, bytes, bytes]] = []
    while len(out) < n:
        acct = rnd.randrange(accounts)
        anon = f"v{acct}-{rnd.randrange(3)}"
        ts = start + timedelta(seconds=rnd.uniform(0, days * 86400))
        landing = rnd.choice(LANDINGS)
        ctx = {
            "url": f"{SITE}/p",
            "user_agent": UA,
            **({"referrer": landing["referrer"]} if "referrer" in landing else {}),
        }
        evs = [
            {
                "type": "page_view",
                "context": ctx,
                "utm": landing.get("utm", {}),
                "click_ids": landing.get("click_ids", {}),
            }
        ]
        evs += [
            {
                "type": "page_view",
                "context": {"url": f"{SITE}/p{i}", "referrer": f"{SITE}/p", "user_agent": UA},
            }
            for i in range(3)
        ]
        roll = rnd.random()
        if roll < 0.15:
            evs.append(
                {
                    "type": "engagement",
                    "channel": rnd.choice(["podcast", "video", "organic_social"]),
                    "kind": "other",
                }
            )
        elif roll < 0.25:
            evs.append({"type": "form_submit", "form_id": "demo", "form_kind": "demo_request", "email": f"p@acct{acct}.com",
                        "context": {"url": f"{SITE}/demo", "referrer": f"{SITE}/p"}})  # fmt: skip
        elif roll < 0.28:
            evs.append(
                {
                    "type": "crm_stage",
                    "stage": rnd.choice(["mql", "sql", "opportunity"]),
                    "account_domain": f"acct{acct}.com",
                    "amount": 1000.0,
                }
            )
        for i, e in enumerate(evs):
            at = ts + timedelta(seconds=30 * i)
            e.update(event_id=str(uuid.UUID(int=rnd.getrandbits(128))), ts=at.isoformat(), anonymous_id=anon)
            out.append((at, anon.encode(), jsonio.dumps(e)))
    return [(key, value) for _, key, value in sorted(out[:n], key=lambda r: r[0])]


def shuffled(events: list[tuple[bytes, bytes]], seed: int = 11) -> list[tuple[bytes, bytes]]:
    """The same events in a seeded random order: a backfill arriving out of order."""
    out = list(events)
    random.Random(seed).shuffle(out)
    return out


def produce(bootstrap: str, topic: str, events: list[tuple[bytes, bytes]]) -> None:
    p = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=256 * 1024)
    for key, value in events:
        p.send(topic, value, key=key)
    p.flush()
    p.close()


def kafka_python_rate(bootstrap: str, topic: str, n: int) -> tuple[float, float]:
    """(events/s, events per CPU second) of a plain consume-and-deserialize loop."""
    c = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    seen, started, cpu = 0, 0.0, 0.0
    while seen < n:
        for batch in c.poll(timeout_ms=500, max_records=5000).values():
            if not started:
                started, cpu = time.perf_counter(), time.process_time()
            for m in batch:
                jsonio.loads(m.value)
                seen += 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    c.close()
    return n / elapsed, n / cpu


def _scrape(port: int) -> dict[str, float]:
    """One /metrics scrape as {'name{labels}': value}; {} while the worker is not serving yet."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("touchstream_stream"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def _sum(scrapes: list[dict[str, float]], name: str, label: str) -> float:
    return sum(s.get(f"{name}{{{label}}}", 0.0) for s in scrapes)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all threads): robust to other load, unlike wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def run_workers(
    bootstrap: str, home: Path, events: list[tuple[bytes, bytes]], replicas: int, suffix: str = ""
) -> tuple[float, float, list[float], float]:
    """(events/s, events per CPU second, RSS MB per worker, state MB on disk) for ``replicas`` full
    workers on a fresh topic set.

    The events are produced once every worker holds partitions, so no rebalance falls inside the
    timed part. The rate counts events after the first observed batch, up to the worker-reported
    end of the last batch (enrich done, and the journey stage has read everything forwarded to it).
    ``suffix`` names the topic set (a fresh one by default), so a caller can read the outputs.
    """
    suffix = suffix or uuid.uuid4().hex[:8]
    topics = StreamTopics.with_suffix(suffix)
    ensure_topics(bootstrap, 4, topics.all())
    procs, ports = [], []
    for replica in range(replicas):
        port = free_port()
        env = {**os.environ, "TOUCHSTREAM_KAFKA_BOOTSTRAP": bootstrap, "TOUCHSTREAM_HOME": str(home),
               "TOUCHSTREAM_EMBEDDED_BROKER": "1", "TOUCHSTREAM_REPLICA": str(replica),
               "TOUCHSTREAM_METRICS_PORT": str(port), "TOUCHSTREAM_LOG_LEVEL": "WARNING"}  # fmt: skip
        procs.append(spawn_child([sys.executable, "-m", "cli.main", "worker", "--topic-suffix", suffix],
                                 log_file=home / "logs" / f"bench-{suffix}-{replica}.log", env=env))  # fmt: skip
        ports.append(port)
    n, deadline = len(events), time.monotonic() + 900
    assigned = "touchstream_stream_assigned_partitions"
    try:
        while time.monotonic() < deadline:  # every worker holds partitions of both stages' topics
            scrapes = [_scrape(p) for p in ports]
            held = [
                [s.get(f'{assigned}{{topic="{t}"}}', 0.0) for t in (topics.events, topics.by_account)]
                for s in scrapes
            ]
            if all(min(h) > 0 for h in held) and sum(h[0] for h in held) == 4:
                break
            time.sleep(0.2)
        produce(bootstrap, topics.events, events)
        start, before, cpu = 0.0, 0.0, 0.0
        while time.monotonic() < deadline:
            scrapes = [_scrape(p) for p in ports]
            enriched = _sum(scrapes, "touchstream_stream_messages_in_total", 'stage="enrich"')
            forwarded = _sum(scrapes, "touchstream_stream_records_out_total", f'topic="{topics.by_account}"')
            journeyed = _sum(scrapes, "touchstream_stream_messages_in_total", 'stage="journey"')
            if enriched and not start:
                start, before, cpu = time.time(), enriched, sum(_cpu_s(p.pid) for p in procs)
            if enriched >= n and journeyed >= forwarded:
                end = max(
                    v for s in scrapes for k, v in s.items() if k.startswith("touchstream_stream_last_batch")
                )
                rss = [_rss_mb(p.pid) for p in procs]
                cpu = sum(_cpu_s(p.pid) for p in procs) - cpu
                return (
                    (n - before) / (end - start),
                    (n - before) / cpu,
                    rss,
                    sum(_du_mb(d) for d in (home / "streams").glob(f"*{suffix}*")),
                )
            time.sleep(0.1)
        raise RuntimeError(f"workers did not finish; see {home / 'logs'}")
    finally:
        for p in procs:
            stop_child(p, grace_s=10)


def read_topic(bootstrap: str, topic: str) -> list[bytes]:
    """Every record value of ``topic``, up to the end offsets at the time of the call."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    parts = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic) or ()]
    c.assign(parts)
    c.seek_to_beginning(*parts)
    ends = c.end_offsets(parts)
    out: list[bytes] = []
    deadline = time.monotonic() + 120
    while any(c.position(tp) < ends[tp] for tp in parts) and time.monotonic() < deadline:
        for batch in c.poll(timeout_ms=500, max_records=10_000).values():
            out.extend(m.value for m in batch)
    c.close()
    return out


def credit_outputs(
    bootstrap: str, suffix: str
) -> tuple[int, int, int, dict[tuple[str, str, str], tuple[object, ...]]]:
    """(conversions with final credit, credit revisions emitted, credit rows emitted, final credits).

    A revision emitted is one distinct ``(conversion, revision)`` among the credit records; the final
    credits are, per ``(conversion, model, event id)``, the row of the latest revision — what the
    ``ReplacingMergeTree(revision)`` table keeps — without the zero rows that retract a touch.
    """
    latest: dict[tuple[str, str, str], tuple[int, tuple[object, ...]]] = {}
    revisions: set[tuple[str, int]] = set()
    rows = read_topic(bootstrap, StreamTopics.with_suffix(suffix).credits)
    for raw in rows:
        c = jsonio.loads(raw)
        key, rev = (c["conversion_id"], c["model"], c["event_id"]), int(c["revision"])
        revisions.add((c["conversion_id"], rev))
        if key not in latest or rev > latest[key][0]:
            value = (
                round(c["credit"], 9),
                round(c["revenue_credit"], 6),
                c["channel"],
                c["account_id"],
                c["ts"],
            )
            latest[key] = (rev, value)
    final = {k: v for k, (_, v) in latest.items() if v[0] != 0.0}
    return len({cid for cid, _, _ in final}), len(revisions), len(rows), final


FAUST_TABLE_BASELINE = """
import os, sys, time, faust, orjson
topic_name, n, out, datadir, bootstrap = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
app = faust.App("bench-" + topic_name, broker="kafka://" + bootstrap, store="rocksdb://", datadir=datadir,
                web_enabled=False, web_bind="127.0.0.1", web_host="127.0.0.1", web_port=int(sys.argv[6]),
                producer_max_batch_size=int(sys.argv[7]), key_serializer="raw", value_serializer="raw", topic_partitions=4,
                consumer_auto_offset_reset="earliest", table_standby_replicas=0)
topic = app.topic(topic_name, key_type=bytes, value_type=bytes, partitions=4)
counts = app.Table("counts", default=int, partitions=4, key_type=bytes)
state = {"seen": 0, "t0": 0.0, "c0": 0.0}
@app.agent(topic)
async def count(stream):
    async for key, value in stream.items():
        orjson.loads(value)
        counts[key] += 1
        state["seen"] += 1
        if state["seen"] == 1:
            state["t0"], state["c0"] = time.perf_counter(), time.process_time()
        if state["seen"] == n:
            rates = f"{n / (time.perf_counter() - state['t0'])} {n / (time.process_time() - state['c0'])}"
            open(out + ".tmp", "w").write(rates)
            os.rename(out + ".tmp", out)
if __name__ == "__main__":
    faust.Worker(app, loglevel="warning").execute_from_commandline()
"""


def faust_table_rate(
    bootstrap: str, home: Path, events: list[tuple[bytes, bytes]], max_batch_bytes: int = 1
) -> tuple[float, float]:
    """The bare faust agent writing one Table entry per event; ``max_batch_bytes=1`` is the embedded
    broker's documented recovery workaround (one changelog record per request), 16384 faust's default."""
    topic = f"bench-ft-{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, 4, [topic, f"bench-{topic}-counts-changelog"])
    produce(bootstrap, topic, events)
    script, out = home / "faust_table.py", home / f"{topic}.rate"
    script.write_text(FAUST_TABLE_BASELINE)
    proc = spawn_child([sys.executable, str(script), topic, str(len(events)), str(out), str(home / topic), bootstrap,
                        str(free_port()), str(max_batch_bytes)], log_file=home / "logs" / f"{topic}.log")  # fmt: skip
    try:
        deadline = time.monotonic() + 900
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        wall, cpu = out.read_text().split()
        return float(wall), float(cpu)
    finally:
        stop_child(proc, grace_s=10)


def _spread(values: list[float]) -> str:
    return f"median {statistics.median(values):7.0f}  (min {min(values):.0f}, max {max(values):.0f}, n={len(values)})"


def _index_bytes(index: dict[bytes, bytes]) -> int:
    """RAM of the dedupe index: the dict and its key and value objects."""
    return sys.getsizeof(index) + sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in index.items())


def stage1_dedupe(events: list[tuple[bytes, bytes]], repeat: int, batch: int = 2000) -> None:
    """Stage 1 in process (no broker), the first-copy check (streams.dedupe) on vs off: events per CPU-s."""
    from dataclasses import replace

    from streams.config import StreamConfig
    from streams.dedupe import apply_index
    from streams.stage_enrich import process_events

    config = StreamConfig.build()
    rates: dict[int, list[float]] = {}
    sizes: list[float] = []
    ram: list[float] = []
    for _ in range(repeat):
        for days in (0, config.dedupe_days):
            cfg = replace(config, dedupe_days=days)
            identity: dict[str, bytes] = {}
            seen: dict[str, bytes] = {}
            index: dict[bytes, bytes] = {}
            started = time.process_time()
            for start in range(0, len(events), batch):
                chunk = [value for _, value in events[start : start + batch]]
                out = process_events(
                    cfg, chunk, identity.get, seen_load=seen.get, seen_index=index,
                    partitions=[start // batch % 4] * len(chunk),
                )  # fmt: skip
                for table, writes in ((identity, out.writes), (seen, out.seen)):
                    for key, (state, _) in writes.items():
                        if state is None:
                            table.pop(key, None)
                        else:
                            table[key] = state
                apply_index(index, out.seen_index)
            rates.setdefault(days, []).append(len(events) / (time.process_time() - started))
            if days:
                sizes.append(sum(len(k) + len(v) for k, v in seen.items()) / len(events))
                ram.append(_index_bytes(index) / len(events))
    off, on = rates[0], rates[config.dedupe_days]
    print(f"stage 1 in process, {len(events)} events, batches of {batch}, events per CPU-second")
    print(f"  dedupe off : {_spread(off)}")
    print(f"  dedupe on  : {_spread(on)}  = {statistics.median(on) / statistics.median(off):.3f}x")
    print(f"  dedupe table: {statistics.median(sizes):.1f} key+value bytes per event (chunks);"
          f" worker index: {statistics.median(ram):.0f} bytes of RAM per event")  # fmt: skip
    # A real worker (changelog writes included), alternating off / on, on one embedded broker.
    worker: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedKafka(Path(tmp)) as kafka:
        for _ in range(repeat):
            for days in ("0", str(config.dedupe_days)):
                os.environ["TOUCHSTREAM_DEDUPE_DAYS"] = days
                _, cpu, _, disk = run_workers(kafka.bootstrap, Path(tmp), events, 1)
                worker.setdefault(f"cpu {days}", []).append(cpu)
                worker.setdefault(f"disk {days}", []).append(disk)
    os.environ.pop("TOUCHSTREAM_DEDUPE_DAYS", None)
    w_off, w_on = worker["cpu 0"], worker[f"cpu {config.dedupe_days}"]
    print("1 real worker (both stages, changelogs), events per CPU-second of the worker")
    print(f"  dedupe off : {_spread(w_off)}  rocksdb {statistics.median(worker['disk 0']):.1f} MB")
    print(f"  dedupe on  : {_spread(w_on)}  = {statistics.median(w_on) / statistics.median(w_off):.3f}x"
          f"  rocksdb {statistics.median(worker[f'disk {config.dedupe_days}']):.1f} MB")  # fmt: skip


GUARDS_OFF = "role_local_parts: []\nshared_device: {max_people: 0}\nperson_max_accounts: 0\n"


def guards_on_off(events: list[tuple[bytes, bytes]], repeat: int) -> None:
    """A real worker with the identity guards (schemas/identity_guards.yaml) on vs off, alternating."""
    worker: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedKafka(Path(tmp)) as kafka:
        off = Path(tmp) / "guards-off.yaml"
        off.write_text(GUARDS_OFF, encoding="utf-8")
        for _ in range(repeat):
            for name, path in (("off", str(off)), ("on", "")):
                if path:
                    os.environ["TOUCHSTREAM_IDENTITY_GUARDS"] = path
                else:
                    os.environ.pop("TOUCHSTREAM_IDENTITY_GUARDS", None)
                rate, cpu, _, _ = run_workers(kafka.bootstrap, Path(tmp), events, 1)
                worker.setdefault(f"rate {name}", []).append(rate)
                worker.setdefault(f"cpu {name}", []).append(cpu)
    os.environ.pop("TOUCHSTREAM_IDENTITY_GUARDS", None)
    print(
        f"1 real worker, {len(events)} events: events/s wall-clock and per CPU-second, identity guards off vs on"
    )
    for name in ("off", "on"):
        ratio = statistics.median(worker[f"cpu {name}"]) / statistics.median(worker["cpu off"])
        print(f"  guards {name:3} : {_spread(worker[f'rate {name}'])} events/s;"
              f" {_spread(worker[f'cpu {name}'])} /cpu-s = {ratio:.3f}x")  # fmt: skip


def restore_rate(bootstrap: str, home: Path, suffix: str) -> tuple[float, float]:
    """(changelog records restored, records/s) by a worker started on ``suffix``'s topics with no local
    state: it rebuilds its tables from the broker's changelogs (what a lost disk or a new worker does).
    Both from faust's recovery log: the changelog highwaters it reads up to, and the time from
    "Restoring state" to "Done reading" (the worker's own sampled progress misses sub-second restores)."""
    for state in (home / "streams").glob(f"*{suffix}*"):
        shutil.rmtree(state)
    port, log_file = free_port(), home / "logs" / f"bench-restore-{suffix}.log"
    env = {**os.environ, "TOUCHSTREAM_KAFKA_BOOTSTRAP": bootstrap, "TOUCHSTREAM_HOME": str(home),
           "TOUCHSTREAM_EMBEDDED_BROKER": "1", "TOUCHSTREAM_METRICS_PORT": str(port),
           "TOUCHSTREAM_LOG_LEVEL": "INFO"}  # fmt: skip
    proc = spawn_child([sys.executable, "-m", "cli.main", "worker", "--topic-suffix", suffix],
                       log_file=log_file, env=env)  # fmt: skip
    deadline = time.monotonic() + 900
    try:
        while time.monotonic() < deadline:
            text = log_file.read_text()
            if (
                "Done reading from changelog topics" in text
                and _scrape(port).get("touchstream_stream_ready") == 1.0
            ):
                return _restore_figures(text)
            time.sleep(0.2)
        raise RuntimeError(f"worker did not restore; see {log_file}")
    finally:
        stop_child(proc, grace_s=10)


def _restore_figures(log_text: str) -> tuple[float, float]:
    stamp = r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]"
    started = re.findall(stamp + r".*Restoring state from changelog topics", log_text)[-1]
    done = re.findall(stamp + r".*Done reading from changelog topics", log_text)[-1]
    table = log_text.split("Highwater for active changelog partitions:")[-1].split("active offsets at start")[
        0
    ]
    records = sum(
        int(row.split("|")[3]) + 1
        for row in table.splitlines()
        if row.count("|") == 4 and "highwater" not in row
    )
    seconds = (
        datetime.strptime(done, "%Y-%m-%d %H:%M:%S,%f") - datetime.strptime(started, "%Y-%m-%d %H:%M:%S,%f")
    ).total_seconds()
    return records, records / max(seconds, 1e-3)


def storage_compare(events: list[tuple[bytes, bytes]], repeat: int) -> None:
    """One real worker on a memory and on a durable embedded broker, alternating; then its restore."""
    figures: dict[str, list[float]] = {}
    for _ in range(repeat):
        for storage in ("memory", "durable"):
            with tempfile.TemporaryDirectory() as tmp, EmbeddedKafka(Path(tmp), storage=storage) as kafka:
                suffix = uuid.uuid4().hex[:8]
                rate, cpu, _, _ = run_workers(kafka.bootstrap, Path(tmp), events, 1, suffix)
                records, restore = restore_rate(kafka.bootstrap, Path(tmp), suffix)
                for name, value in (("rate", rate), ("cpu", cpu), ("records", records), ("restore", restore)):
                    figures.setdefault(f"{name} {storage}", []).append(value)
    print(
        f"1 real worker, {len(events)} events, memory vs durable embedded broker (alternating, {repeat} runs)"
    )
    for storage in ("memory", "durable"):
        ratio = statistics.median(figures[f"rate {storage}"]) / statistics.median(figures["rate memory"])
        print(f"  {storage:7} : {_spread(figures[f'rate {storage}'])} events/s = {ratio:.2f}x memory; "
              f"{_spread(figures[f'cpu {storage}'])} /cpu-s; restore {_spread(figures[f'restore {storage}'])}"
              f" changelog records/s ({statistics.median(figures[f'records {storage}']):.0f} records)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=60_000)
    ap.add_argument("--accounts", type=int, default=2_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--repeat", type=int, default=1, help="runs of every figure; prints median and spread")
    ap.add_argument("--shuffled", action=argparse.BooleanOptionalAction, default=True,
                    help="also run 1 worker on the same events shuffled (an out-of-order backfill) and compare")  # fmt: skip
    ap.add_argument("--stage1-dedupe", action="store_true",
                    help="only time stage 1 in process with the first-copy check on and off")  # fmt: skip
    ap.add_argument("--guards", action="store_true",
                    help="only time one real worker with the identity guards on and off")  # fmt: skip
    ap.add_argument("--storage", action="store_true",
                    help="only time one real worker and its restore on a memory and a durable broker")  # fmt: skip
    args = ap.parse_args()
    if args.storage:
        storage_compare(make_events(args.events, args.accounts, args.days), args.repeat)
        return
    if args.guards:
        guards_on_off(make_events(args.events, args.accounts, args.days), args.repeat)
        return
    if args.stage1_dedupe:
        stage1_dedupe(make_events(args.events, args.accounts, args.days), args.repeat)
        return
    figures: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedKafka(Path(tmp)) as kafka:
        home = Path(tmp)
        events = make_events(args.events, args.accounts, args.days)
        print(
            f"{len(events)} events, {args.accounts} accounts over {args.days} days, 4 partitions, embedded broker;"
            " produced in event-time order"
            + (" and, for one more 1-worker run, seeded-shuffled" if args.shuffled else "")
        )
        for run in range(args.repeat):
            topic = f"bench-kp-{uuid.uuid4().hex[:8]}"
            ensure_topics(kafka.bootstrap, 4, [topic])
            produce(kafka.bootstrap, topic, events)
            kp, kp_cpu = kafka_python_rate(kafka.bootstrap, topic, len(events))
            ft, ft_cpu = faust_table_rate(kafka.bootstrap, home, events)
            ftb, ftb_cpu = faust_table_rate(kafka.bootstrap, home, events, max_batch_bytes=16384)
            in_order = uuid.uuid4().hex[:8]
            one, one_cpu, rss1, disk1 = run_workers(kafka.bootstrap, home, events, 1, in_order)
            two, two_cpu, rss2, _ = run_workers(kafka.bootstrap, home, events, 2)
            if args.shuffled:
                out_of_order = uuid.uuid4().hex[:8]
                shuf, shuf_cpu, _, _ = run_workers(kafka.bootstrap, home, shuffled(events), 1, out_of_order)
                conv_in, revs_in, rows_in, final_in = credit_outputs(kafka.bootstrap, in_order)
                conv_sh, revs_sh, rows_sh, final_sh = credit_outputs(kafka.bootstrap, out_of_order)
                same = final_in == final_sh
                for name, value in (("shuffled", shuf), ("shuffled/one", shuf / one), ("shuffled cpu", shuf_cpu),
                                    ("shuffled/one cpu", shuf_cpu / one_cpu),
                                    ("revisions/conv in-order", revs_in / max(conv_in, 1)),
                                    ("revisions/conv shuffled", revs_sh / max(conv_sh, 1)),
                                    ("same final credits", float(same))):  # fmt: skip
                    figures.setdefault(name, []).append(value)
            for name, value in (("kp", kp), ("ft", ft), ("ftb", ftb), ("one", one), ("two", two),
                                ("one/ft", one / ft), ("one/ftb", one / ftb), ("two/one", two / one),
                                ("ft cpu", ft_cpu), ("one cpu", one_cpu), ("two cpu", two_cpu),
                                ("one/ft cpu", one_cpu / ft_cpu), ("one/ftb cpu", one_cpu / ftb_cpu)):  # fmt: skip
                figures.setdefault(name, []).append(value)
            print(
                f"-- run {run + 1}/{args.repeat}: wall-clock events/s, and events per CPU-second of the consumer process(es)"
            )
            print(f"kafka-python consume+deserialize      : {kp:9.0f} events/s  {kp_cpu:9.0f} /cpu-s")
            print(
                f"bare faust agent + Table write        : {ft:9.0f} events/s  {ft_cpu:9.0f} /cpu-s  (changelog one record per request, the embedded workaround)"
            )
            print(
                f"  same, faust's default batching      : {ftb:9.0f} events/s  {ftb_cpu:9.0f} /cpu-s  (recovery not exact on the embedded broker)"
            )
            print(
                f"full logic, 1 worker                  : {one:9.0f} events/s  {one_cpu:9.0f} /cpu-s  = {one / ft:.2f}x faust+Table ({one / ftb:.2f}x batched); per CPU {one_cpu / ft_cpu:.2f}x ({one_cpu / ftb_cpu:.2f}x)"
            )
            print(
                f"full logic, 2 workers                 : {two:9.0f} events/s  {two_cpu:9.0f} /cpu-s  = {two / one:.2f}x 1 worker"
            )
            print(f"1 worker: RSS {rss1[0]:.0f} MB, rocksdb state {disk1:.1f} MB for {args.accounts} accounts; "
                  f"2 workers: RSS {', '.join(f'{r:.0f}' for r in rss2)} MB")  # fmt: skip
            if args.shuffled:
                print(
                    f"full logic, 1 worker, shuffled        : {shuf:9.0f} events/s  {shuf_cpu:9.0f} /cpu-s  = {shuf / one:.2f}x in-order (target >= 0.7x); per CPU {shuf_cpu / one_cpu:.2f}x"
                )
                print(
                    f"credit revisions emitted per conversion: in-order {revs_in / max(conv_in, 1):.2f} ({revs_in} over {conv_in} credited conversions, {rows_in} credit rows); "
                    f"shuffled {revs_sh / max(conv_sh, 1):.2f} ({revs_sh} over {conv_sh}, {rows_sh} rows)"
                )
                diff = len(set(final_in.items()) ^ set(final_sh.items()))
                print(
                    f"same final credits: {same}  ({len(final_in)} in-order / {len(final_sh)} shuffled non-zero rows, latest revision per conversion/model/event; {diff} differ)"
                )
    if args.repeat > 1:
        print("-- summary")
        for name, values in figures.items():
            if name == "same final credits":
                print(f"{name:24s} {sum(values):.0f} of {len(values)} runs")
                continue
            unit = (
                ""
                if "/conv" in name
                else "x"
                if "/" in name
                else "events/cpu-s"
                if "cpu" in name
                else "events/s"
            )
            spread = _spread(values) if unit.startswith("events") else _ratio_spread(values)
            print(f"{name:24s} {spread} {unit}")


def _ratio_spread(values: list[float]) -> str:
    return f"median {statistics.median(values):7.2f}  (min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"


if __name__ == "__main__":
    main()
