"""examples/embed.py and examples/http_service, run for real (the service over loopback)."""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gantool.runtime import Sampler

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_embed_example_is_short_and_works(exported, tmp_path):
    script = EXAMPLES / "embed.py"
    assert len(script.read_text().splitlines()) < 20
    out = tmp_path / "embed.png"
    proc = subprocess.run(
        [sys.executable, str(script), str(exported("dcgan", 10) / "model.onnx"), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert Image.open(out).size == (8 * 30 + 2, 10 * 30 + 2)  # 10 digits x 8 samples


@pytest.fixture(scope="module")
def service(exported):
    spec = importlib.util.spec_from_file_location("gantool_http_example", EXAMPLES / "http_service" / "server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = exported("dcgan", 10) / "model.onnx"
    server = module.make_server(str(model), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", model, module
    server.shutdown()
    server.server_close()


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read()


def test_digits_png_matches_sampler(service):
    base, model, _ = service
    status, ctype, body = _get(f"{base}/digits?n=16&digit=3&seed=1")
    assert (status, ctype) == (200, "image/png")
    sampler = Sampler(model)
    expected = np.asarray(sampler.grid(sampler.sample(16, seed=1, labels=3)))
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(body))), expected)


def test_health(service):
    base, _, _ = service
    status, ctype, body = _get(f"{base}/health")
    assert status == 200 and json.loads(body)["num_classes"] == 10


@pytest.mark.parametrize(
    "query, message",
    [
        ("n=0", "n must be between 1 and 256"),
        ("n=257", "n must be between 1 and 256"),
        ("n=abc", "n must be an integer"),
        ("n=2.5", "n must be an integer"),
        ("digit=12", "labels must be in 0..9"),
        ("digit=x", "digit must be an integer"),
        ("seed=-1", "seed must be between"),
        ("truncation=0", "truncation must be a positive number"),
        ("truncation=nan", "truncation must be a positive number"),
        ("color=red", "unknown parameter"),
    ],
)
def test_bad_parameters_get_400_json(service, query, message):
    base, _, _ = service
    status, ctype, body = _get(f"{base}/digits?{query}")
    assert status == 400 and ctype == "application/json"
    assert message in json.loads(body)["error"]


def test_unknown_path_404(service):
    base, _, _ = service
    status, _, body = _get(f"{base}/nope")
    assert status == 404 and "error" in json.loads(body)


def test_concurrent_requests(service):
    base, _, _ = service
    results = [None] * 8

    def fetch(i):
        results[i] = _get(f"{base}/digits?n=8&seed={i % 2}")

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r[0] == 200 for r in results)
    assert results[0][2] == results[2][2] and results[0][2] != results[1][2]


def test_embed_example_fails_cleanly(tmp_path):
    script = EXAMPLES / "embed.py"
    for args in ([str(tmp_path / "missing.onnx")], [str(tmp_path / "missing.onnx"), str(tmp_path / "no" / "x.png")]):
        proc = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
        assert proc.stderr.strip().count("\n") == 0


def test_embed_example_missing_output_folder(exported, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "embed.py"),
            str(exported("dcgan", 10) / "model.onnx"),
            str(tmp_path / "no" / "x.png"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_tiny_truncation_is_a_quick_400(service):
    base, _, _ = service
    status, ctype, body = _get(f"{base}/digits?n=4&truncation=1e-300")
    assert status == 400 and "truncation" in json.loads(body)["error"]


@pytest.mark.slow
def test_http_service_under_sustained_load(exported):
    """2,000 requests from 16 clients, a quarter invalid: right answers, no 5xx, memory flat."""
    spec = importlib.util.spec_from_file_location("http_load", EXAMPLES.parent / "benchmarks" / "http_load.py")
    load = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(load)
    proc, base = load.start_server(str(exported("dcgan", 10) / "model.onnx"))
    try:
        r = load.run(base, proc.pid, requests=2000, clients=16)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert r["requests"] == 2000 and not r["problems"], r["problems"][:5]
    assert r["rss_growth"] < 0.20, r


def test_the_node_example_without_its_package_says_what_to_run(tmp_path):
    """Before `npm ci`, one line naming the step (not Node's ERR_MODULE_NOT_FOUND stack trace)."""
    import shutil

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (Debian's nodejs; make system-deps installs it)")
    shutil.copy(EXAMPLES / "node" / "sample.mjs", tmp_path / "sample.mjs")  # no node_modules beside it
    done = subprocess.run(
        [node, str(tmp_path / "sample.mjs"), "--n", "1"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 2 and done.stdout == "", done
    assert done.stderr.strip().splitlines() == [
        "error: onnxruntime-node is not installed; run `npm ci --ignore-scripts` in examples/node first"
    ]
