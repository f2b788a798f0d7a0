"""Ray: generate's bytes equal the local engine's (also after a worker is killed), serve --ray answers like
the Sampler, a dead --address is one line, and gantool's local cluster asks no cloud metadata service.

These tests start Ray, which reaches out on its own, so they run only inside a loopback-only network
namespace: `make test` runs them as `../shared/tools/loopback pytest -m ray`.
"""

from __future__ import annotations

import http.server
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray")
pytestmark = [pytest.mark.ray, pytest.mark.slow]


from gantool.core.errors import GantoolError  # noqa: E402
from gantool.runtime import Sampler  # noqa: E402
from gantool.scale.configs import GenerateConfig  # noqa: E402
from gantool.scale.generate import generate  # noqa: E402
from gantool.scale.ray_start import check_address, ray_cluster  # noqa: E402

CLI = [sys.executable, "-c", "from gantool.cli import main; main()"]
ISOLATED = [name for _, name in socket.if_nameindex()] == ["lo"]  # this namespace's interfaces (sysfs: the host's)


@pytest.fixture(autouse=True)
def _loopback_only():
    """A skip per test, not per module: the other pytest runs of make test collect this file with these tests
    deselected, and a module-level skip would show there (and fail on CI, where no skip may pass)."""
    if not ISOLATED:
        pytest.skip(
            "Ray tests run only in a loopback-only network namespace: ../shared/tools/loopback "
            ".venv/bin/python -m pytest -m ray (make test does this)"
        )


def files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.name != "manifest.json"}


def test_ray_engine_writes_the_local_engines_bytes_even_when_a_worker_is_killed(tmp_path):
    cfg = GenerateConfig(n=65_536, seed=9, shard_size=256)
    generate(GenerateConfig(n=65_536, seed=9, shard_size=4096), tmp_path / "local", size="nano", progress=False)
    killed = []

    def kill_one_worker():  # once shards are being recorded, kill -9 one of the actor processes
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            manifest = tmp_path / "ray" / "manifest.json"
            if manifest.exists() and manifest.read_text().count('"sha256"') >= 8:
                pids = subprocess.run(["pgrep", "-f", "ShardWorker"], capture_output=True, text=True).stdout.split()
                if pids:
                    os.kill(int(pids[0]), signal.SIGKILL)
                    killed.append(int(pids[0]))
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    result = generate(cfg, tmp_path / "ray", size="nano", engine="ray", workers=2, progress=False)
    killer.join()
    assert killed, "no worker was killed: the job ended before the killer found one"
    assert result.made == cfg.shards and files(tmp_path / "ray") == files(tmp_path / "local")


def test_a_silent_address_is_one_line_within_seconds():
    t0 = time.monotonic()
    with pytest.raises(GantoolError, match="no Ray cluster answers at 127.0.0.1:9"):
        check_address("127.0.0.1:9")
    with pytest.raises(GantoolError, match="HOST:PORT"):
        check_address("nowhere")
    assert time.monotonic() - t0 < 10


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self):  # noqa: N802
        _Recorder.seen.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def _metadata_listener() -> http.server.HTTPServer:
    """A stand-in for the cloud metadata service on 169.254.169.254:80 (inside this namespace only)."""
    subprocess.run(["ip", "addr", "add", "169.254.169.254/32", "dev", "lo"], capture_output=True)
    server = http.server.HTTPServer(("169.254.169.254", 80), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _wait_for_probe(seconds: float) -> list[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not _Recorder.seen:
        time.sleep(0.2)
    return list(_Recorder.seen)


def test_gantools_local_cluster_stays_on_loopback_and_asks_no_metadata_service():
    server = _metadata_listener()
    try:
        _Recorder.seen.clear()
        with ray_cluster() as ray:  # gantool's start
            nodes = ray.nodes()
            assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"
            assert [n["NodeManagerAddress"] for n in nodes] == ["127.0.0.1"]
            assert _wait_for_probe(8) == []
        # The control: Ray started plainly (dashboard off, usage stats off) does ask, so the check can fail.
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                "import ray; ray.init(include_dashboard=False, "
                "_node_ip_address='127.0.0.1'); import time; time.sleep(8); ray.shutdown()",
            ],
            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
            capture_output=True,
            timeout=120,
        )
        assert probe.returncode == 0
        assert any(p.startswith(("/metadata", "/latest")) for p in _wait_for_probe(2))
    finally:
        server.shutdown()


def test_serve_ray_answers_like_the_sampler_and_stops_on_ctrl_c():
    proc = subprocess.Popen(
        [*CLI, "serve", "--ray", "--size", "nano", "--port", "8431", "--replicas", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = "http://127.0.0.1:8431"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2).read()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.5)
        body = urllib.request.urlopen(f"{url}/digits?n=6&seed=2&digit=7&format=npy", timeout=30).read()
        np.testing.assert_array_equal(np.load(io.BytesIO(body)), Sampler.bundled("nano").sample(6, seed=2, labels=7))
        with pytest.raises(urllib.error.HTTPError) as bad:
            urllib.request.urlopen(f"{url}/digits?n=0", timeout=30)
        assert bad.value.code == 400 and b"between 1 and 256" in bad.value.read()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert re.search(r"serving on http://127\.0\.0\.1:8431", out) and proc.returncode == 0
