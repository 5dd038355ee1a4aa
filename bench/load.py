"""Bounded load test of a running EarthBench server (loopback only).

N client threads, each with its own HTTP connection, loop for a fixed time over
``GET /api/v1/benchmarks/<slug>/leaderboard/`` and, with probability
``--submit-ratio``, ``POST /api/v1/submissions/`` (multipart upload). Stops by
itself and prints one JSON object: requests, throughput, p50/p90/p99 latency
and status counts per operation, plus transport errors.

    .venv/bin/python bench/load.py --url http://127.0.0.1:8001 --token $TOKEN \\
        --benchmark eurosat-classification-v1 --file var/demo-predictions.csv \\
        --seconds 20 --clients 8 --submit-ratio 0.1

Refuses any host that is not a loopback address: this is not a tool for
loading someone else's server.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import socket
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import httpx

MAX_SECONDS = 300
MAX_CLIENTS = 64


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, Counter] = defaultdict(Counter)
        self.transport_errors: Counter = Counter()

    def record(self, op: str, seconds: float, status: int | str) -> None:
        with self.lock:
            self.latency[op].append(seconds)
            self.status[op][str(status)] += 1


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def client_loop(args, stats: Stats, stop_at: float, seed: int) -> None:
    rng = random.Random(seed)
    payload = Path(args.file).read_bytes() if args.file else b""
    headers = {"Authorization": f"Token {args.token}"} if args.token else {}
    board = f"{args.url}/api/v1/benchmarks/{args.benchmark}/leaderboard/"
    submit = f"{args.url}/api/v1/submissions/"
    with httpx.Client(headers=headers, timeout=args.timeout) as http:
        while time.monotonic() < stop_at:
            do_submit = payload and args.token and rng.random() < args.submit_ratio
            op = "submit" if do_submit else "leaderboard"
            t0 = time.perf_counter()
            try:
                if do_submit:
                    r = http.post(
                        submit,
                        data={"benchmark": args.benchmark, "method_name": "load-test"},
                        files={"file": (Path(args.file).name, payload, "text/csv")},
                        headers={"Idempotency-Key": f"load-{uuid.uuid4()}"},
                    )
                else:
                    r = http.get(board)
                stats.record(op, time.perf_counter() - t0, r.status_code)
            except httpx.HTTPError as exc:
                stats.record(op, time.perf_counter() - t0, "transport_error")
                with stats.lock:
                    stats.transport_errors[type(exc).__name__] += 1


def summarise(stats: Stats, elapsed: float, args) -> dict:
    ops = {}
    for op, lat in stats.latency.items():
        codes = stats.status[op]
        errors = sum(n for c, n in codes.items() if not c.isdigit() or int(c) >= 500)
        ops[op] = {
            "requests": len(lat),
            "throughput_rps": round(len(lat) / elapsed, 1),
            "p50_ms": round(1000 * percentile(lat, 50), 1),
            "p90_ms": round(1000 * percentile(lat, 90), 1),
            "p99_ms": round(1000 * percentile(lat, 99), 1),
            "max_ms": round(1000 * max(lat), 1),
            "status": dict(sorted(codes.items())),
            "errors": errors,  # 5xx and transport errors; 4xx (e.g. 429 quota) are answers
        }
    total = sum(o["requests"] for o in ops.values())
    return {
        "url": args.url,
        "benchmark": args.benchmark,
        "clients": args.clients,
        "seconds": round(elapsed, 2),
        "submit_ratio": args.submit_ratio,
        "requests": total,
        "throughput_rps": round(total / elapsed, 1),
        "errors": sum(o["errors"] for o in ops.values()),
        "transport_errors": dict(stats.transport_errors),
        "operations": ops,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--token", default="", help="API token (needed for submit)")
    p.add_argument("--benchmark", default="eurosat-classification-v1")
    p.add_argument(
        "--file", default="", help="predictions to upload (needed for submit)"
    )
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--submit-ratio", type=float, default=0.1)
    p.add_argument("--timeout", type=float, default=30)
    args = p.parse_args(argv)
    args.url = args.url.rstrip("/")
    if not is_loopback(args.url):
        p.error(
            f"{args.url}: only loopback servers (127.0.0.1, ::1, localhost) may be loaded"
        )
    if not (0 < args.seconds <= MAX_SECONDS and 0 < args.clients <= MAX_CLIENTS):
        p.error(
            f"--seconds must be in (0, {MAX_SECONDS}] and --clients in [1, {MAX_CLIENTS}]"
        )

    stats = Stats()
    start = time.monotonic()
    stop_at = start + args.seconds
    threads = [
        threading.Thread(
            target=client_loop, args=(args, stats, stop_at, i), daemon=True
        )
        for i in range(args.clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.seconds + args.timeout + 5)
    json.dump(summarise(stats, time.monotonic() - start, args), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
