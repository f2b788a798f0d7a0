"""Sustained load on the HTTP example (examples/http_service/server.py), over loopback only.

    python benchmarks/http_load.py [MODEL] [--requests 2000] [--clients 16] [--out benchmarks/results/http_load.md]

Starts the service in a subprocess on 127.0.0.1 (a free port), sends REQUESTS requests from
CLIENTS concurrent clients — a quarter of them invalid (bad numbers, unknown parameters, digits
out of range, tiny truncations) — and checks every answer: a valid request gets 200 and a PNG
that decodes, an invalid one 400 with a JSON error, nothing gets a 5xx. It reports requests/s
and the server's resident memory at the 200th request and at the end (growth target < 20%).
The loop is bounded in count and time and stops by itself.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SERVER = Path(__file__).resolve().parents[1] / "examples" / "http_service" / "server.py"
INVALID = [
    "n=0",
    "n=100000",
    "n=abc",
    "digit=11",
    "digit=-1",
    "seed=-5",
    "truncation=0",
    "truncation=1e-300",
    "truncation=nan",
    "color=red",
    "nrow=0",
    "n=2.5&digit=x",
]
TIME_LIMIT_S = 300


def start_server(model: str | None) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, str(SERVER), *([model] if model else []), "--host", "127.0.0.1", "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not found:
        proc.kill()
        raise RuntimeError(f"the server did not start: {line.strip()} {proc.stderr.read()[-500:]}")
    return proc, f"http://127.0.0.1:{found.group(1)}"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read()


def _check(valid: bool, status: int, ctype: str, body: bytes) -> str | None:
    """None if the answer is right, else what is wrong."""
    from PIL import Image

    if status >= 500:
        return f"{status} server error"
    if valid:
        if status != 200 or ctype != "image/png":
            return f"valid request got {status} {ctype}"
        Image.open(io.BytesIO(body)).load()  # decodes, or raises
        return None
    if status != 400 or ctype != "application/json" or "error" not in json.loads(body):
        return f"invalid request got {status} {ctype}"
    return None


def run(
    base: str,
    pid: int,
    requests: int = 2000,
    clients: int = 16,
    invalid_share: float = 0.25,
    seed: int = 0,
    conditional: bool = True,
) -> dict:
    rng = random.Random(seed)
    plan = []
    for _ in range(requests):
        if rng.random() < invalid_share:
            plan.append((False, f"/digits?{rng.choice(INVALID)}"))
        else:
            digit = f"&digit={rng.randrange(10)}" if conditional else ""
            plan.append((True, f"/digits?n={rng.randrange(1, 33)}&seed={rng.randrange(10**6)}{digit}"))
    done, rss, problems, lock = [0], {}, [], threading.Lock()
    deadline = time.monotonic() + TIME_LIMIT_S

    def one(item):
        valid, path = item
        if time.monotonic() > deadline:
            return
        problem = _check(valid, *_get(base + path))
        with lock:
            done[0] += 1
            if problem:
                problems.append(f"{path}: {problem}")
            if done[0] == 200:
                rss["at_200"] = rss_mb(pid)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, plan))
    wall = time.perf_counter() - start
    rss["end"] = rss_mb(pid)
    return {
        "requests": done[0],
        "clients": clients,
        "invalid": sum(1 for v, _ in plan if not v),
        "requests_per_s": done[0] / wall,
        "wall_s": wall,
        "problems": problems,
        "rss_at_200_mb": rss.get("at_200", float("nan")),
        "rss_end_mb": rss["end"],
        "rss_growth": rss["end"] / rss.get("at_200", float("nan")) - 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=None, help="exported ONNX file [default: the bundled model]")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    proc, base = start_server(args.model)
    try:
        r = run(base, proc.pid, args.requests, args.clients)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    table = "\n".join(
        [
            f"HTTP example under load: {r['requests']} requests from {r['clients']} concurrent clients over loopback, "
            f"{r['invalid']} of them invalid; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"model: {args.model or 'bundled'}.",
            "",
            "| requests/s | wall (s) | wrong answers | 5xx | server RSS at 200th request (MB) | at the end (MB) | "
            "growth |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {r['requests_per_s']:.0f} | {r['wall_s']:.1f} | {len(r['problems'])} | "
            f"{sum('server error' in p for p in r['problems'])} | {r['rss_at_200_mb']:.0f} | {r['rss_end_mb']:.0f} | "
            f"{r['rss_growth']:+.1%} |",
        ]
    )
    print(table)
    for p in r["problems"][:10]:
        print("problem:", p)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
