"""Requests/s and latency of the digits service under 1, 16 and 64 concurrent clients, over 127.0.0.1 only.

    ../shared/tools/loopback .venv/bin/python benchmarks/serve_load.py [--seconds 10]
        [--out benchmarks/results/serve_load.md]

Servers, each started in its own process, measured one after another on an otherwise idle machine:
  example   examples/http_service/server.py (the standard library's ThreadingHTTPServer)
  serve     gantool serve (uvicorn + Starlette, micro-batching)
  ray       gantool serve --ray (Ray Serve, 2 replicas, @serve.batch)
Each client is a thread with its own keep-alive connection (reopened when the server closes it) sending
GET /digits?n=16&digit=D&seed=S (a PNG grid) in a loop for --seconds. Every answer is checked: 200 and
a PNG. Then a fault: under 16 clients, one Ray Serve replica is killed with SIGKILL and the failed
requests are counted. Ray reaches out on its own, so the script refuses to run outside a loopback-only
network namespace. The clients share the machine's cores with the server: on 2 cores that caps
what any server can show at high concurrency.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from gantool.cli import main; main()"]
sys.path.insert(0, str(ROOT / "benchmarks"))
from precision_quality import cpu_model  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cmd = {
        "example": [sys.executable, str(ROOT / "examples" / "http_service" / "server.py"), "--port", str(port)],
        "serve": [*CLI, "serve", "--port", str(port)],
        "serve-w1": [*CLI, "serve", "--workers", "1", "--port", str(port)],
        "ray": [*CLI, "serve", "--ray", "--replicas", "2", "--port", str(port)],
    }[kind]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"{kind} server exited with {proc.returncode}")
        time.sleep(0.5)
    raise SystemExit(f"{kind} server did not answer within 180 s")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


def client(port: int, seconds: float, k: int, out: list, stop_at: list) -> None:
    conn, i = None, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and not stop_at:
        t0 = time.perf_counter()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", f"/digits?n=16&digit={i % 10}&seed={k * 100000 + i}")
            r = conn.getresponse()
            body = r.read()
            ok = r.status == 200 and body[:8] == b"\x89PNG\r\n\x1a\n"
            out.append((time.perf_counter() - t0, r.status if not ok or r.status != 200 else 200))
            if r.getheader("Connection", "").lower() == "close" or r.version == 10:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            out.append((time.perf_counter() - t0, type(e).__name__))
            conn = None
        i += 1


def load(port: int, clients: int, seconds: float, during=None) -> dict:
    results: list = []
    stop_at: list = []
    threads = [threading.Thread(target=client, args=(port, seconds, k, results, stop_at)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    if during:
        during()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = sorted(x for x, s in results if s == 200)
    failed = [s for _, s in results if s != 200]
    pct = (lambda q: 1000 * lat[min(len(lat) - 1, int(q * len(lat)))]) if lat else (lambda q: float("nan"))
    return {
        "rps": len(lat) / wall,
        "p50": pct(0.50),
        "p99": pct(0.99),
        "ok": len(lat),
        "failed": len(failed),
        "kinds": sorted({str(s) for s in failed}),
    }


def kill_a_replica() -> None:
    time.sleep(3)
    pids = subprocess.run(["pgrep", "-f", "ServeReplica:gantool"], capture_output=True, text=True).stdout.split()
    if pids:
        os.kill(int(pids[0]), signal.SIGKILL)
        print(f"killed replica pid {pids[0]}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--clients", default="1,16,64")
    ap.add_argument("--servers", default="example,serve,ray")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "serve_load.md"))
    args = ap.parse_args()
    if [n for _, n in socket.if_nameindex()] != ["lo"]:
        raise SystemExit(
            "run inside a loopback-only network namespace: ../shared/tools/loopback "
            f"{sys.executable} {' '.join(sys.argv)}"
        )
    levels = [int(c) for c in args.clients.split(",")]
    rows, fault = [], None
    for kind in args.servers.split(","):
        t0 = time.perf_counter()
        proc, port = start(kind)
        started = time.perf_counter() - t0
        try:
            for c in levels:
                r = load(port, c, args.seconds)
                rows.append((kind, c, r, started))
                print(
                    f"{kind:8s} {c:3d} clients: {r['rps']:7.1f} req/s p50 {r['p50']:7.1f} ms p99 {r['p99']:7.1f} ms "
                    f"failed {r['failed']} {r['kinds']} (start {started:.1f} s)",
                    flush=True,
                )
            if kind == "ray":
                fault = load(port, 16, max(args.seconds, 15), during=kill_a_replica)
                print(f"ray, a replica killed under 16 clients: {fault}", flush=True)
        finally:
            stop(proc)
    names = {
        "example": "examples/http_service (stdlib)",
        "serve": "gantool serve (uvicorn)",
        "ray": "gantool serve --ray (2 replicas)",
    }
    lines = [
        "# Serving under load (benchmarks/serve_load.py)",
        "",
        f"CPU: {cpu_model()}, {os.cpu_count()} cores shared by the server and the clients; 127.0.0.1 only, "
        f"in a loopback-only network namespace; {args.seconds:.0f} s per level; bundled base model; "
        "GET /digits?n=16 (a PNG of 16 digits) in a loop per client, keep-alive.",
        "",
        "| server | clients | req/s | images/s | p50 ms | p99 ms | failed | start s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, c, r, started in rows:
        lines.append(
            f"| {names[kind]} | {c} | {r['rps']:.1f} | {16 * r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
            f"{r['failed']}{' ' + ','.join(r['kinds']) if r['kinds'] else ''} | {started:.1f} |"
        )
    if fault:
        lines += [
            "",
            f"Fault: one of the two Ray Serve replicas killed (SIGKILL) 3 s into a {max(args.seconds, 15):.0f} s run "
            f"with 16 clients: {fault['ok']} requests answered 200, {fault['failed']} failed "
            f"({', '.join(fault['kinds']) or 'none'}), {fault['rps']:.1f} req/s over the run.",
        ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
