"""gantool serve: the Starlette app's answers equal the Sampler's pixels; bad queries are 400, a full
queue 503; the real server (uvicorn) starts, answers and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import io
import re
import signal
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402

from gantool.core.errors import GantoolError  # noqa: E402
from gantool.runtime import Sampler  # noqa: E402
from gantool.scale.configs import ServeConfig  # noqa: E402
from gantool.scale.protocol import DigitsRequest, run_batch  # noqa: E402
from gantool.scale.service import create_app  # noqa: E402


@pytest.fixture(scope="module")
def nano():
    return Sampler.bundled("nano", max_n=4096)


def npy(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.load(io.BytesIO(response.content))


def test_digits_equal_the_samplers(nano):
    with TestClient(create_app(nano)) as c:
        np.testing.assert_array_equal(
            npy(c.get("/digits?n=8&seed=3&digit=5&format=npy")), nano.sample(8, seed=3, labels=5)
        )
        np.testing.assert_array_equal(
            npy(c.get("/digits?n=10&seed=7&truncation=0.7&format=npy")), nano.sample(10, seed=7, truncation=0.7)
        )
        png = c.get("/digits?n=16&seed=1")
        assert png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert c.get("/digits?n=4").headers["x-seed"].isdigit()  # a random seed is reported, so it can be replayed


def test_unseeded_model_and_batches_of_mixed_requests(exported):
    sampler = Sampler(exported("dcgan", 10) / "model.onnx", max_n=4096)
    reqs = [
        DigitsRequest(5, 1, 3, None, None, "npy"),
        DigitsRequest(7, 2, None, 0.8, None, "npy"),
        DigitsRequest(3, 9, None, None, None, "npy"),
    ]
    out = run_batch(sampler, reqs)
    np.testing.assert_array_equal(out[0], sampler.sample(5, seed=1, labels=3))
    np.testing.assert_array_equal(out[1], sampler.sample(7, seed=2, truncation=0.8))
    np.testing.assert_array_equal(out[2], sampler.sample(3, seed=9))


def test_concurrent_requests_are_batched_and_each_gets_its_own_images(nano):
    app = create_app(nano, ServeConfig(batch_wait_ms=50))
    with TestClient(app) as c, ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda s: npy(c.get(f"/digits?n=4&seed={s}&format=npy")), range(16)))
        for s, images in enumerate(got):
            np.testing.assert_array_equal(images, nano.sample(4, seed=s))
        metrics = c.get("/metrics").text
    batches = int(re.search(r"^gantool_batches_total (\d+)", metrics, re.M).group(1))
    assert batches < 16 and 'gantool_responses_total{code="200"} 16' in metrics


@pytest.mark.parametrize(
    "query",
    [
        "n=0",
        "n=257",
        "n=abc",
        "n=2.5",
        "digit=10",
        "digit=-1",
        "seed=-5",
        "seed=1e9",
        "truncation=0",
        "truncation=nan",
        "truncation=1e-300",
        "color=red",
        "format=gif",
        "nrow=0",
        "n=" + "9" * 40,
    ],
)
def test_bad_queries_are_400_with_a_json_error(nano, query):
    with TestClient(create_app(nano)) as c:
        r = c.get("/digits?" + query)
    assert r.status_code == 400 and r.json()["error"]


def test_paths_metadata_and_health(nano):
    with TestClient(create_app(nano)) as c:
        assert c.get("/nope").status_code == 404 and "error" in c.get("/nope").json()
        assert c.get("/health").json()["ok"] is True
        meta = c.get("/metadata").json()
        assert meta["num_classes"] == 10 and meta["seeded"] is True and meta["image_shape"] == [1, 28, 28]


def test_a_full_queue_answers_503_at_once(nano):
    app = create_app(nano, ServeConfig(queue=2))
    batcher = app.state.batcher

    async def scenario():
        batcher.waiting = 2  # two requests already wait for the model
        from httpx import ASGITransport, AsyncClient

        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            return await client.get("/digits?n=1")

    r = asyncio.run(scenario())
    assert r.status_code == 503 and "busy" in r.json()["error"] and r.headers["retry-after"] == "1"


def test_bad_settings_are_one_line():
    with pytest.raises(GantoolError, match="--queue"):
        ServeConfig(queue=0)
    with pytest.raises(GantoolError, match="--port"):
        ServeConfig(port=70000)


def test_the_cli_server_answers_and_stops_on_sigterm(tmp_path):
    """No model argument: the bundled base model, as the README's first serve line."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "from gantool.cli import main; main()", "serve", "--port", "0", "--threads", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        body = urllib.request.urlopen(f"{url}/digits?n=3&seed=4&digit=2&format=npy", timeout=30).read()
        np.testing.assert_array_equal(np.load(io.BytesIO(body)), Sampler().sample(3, seed=4, labels=2))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    # uvicorn finishes the requests in flight, then re-raises the signal: the exit status says SIGTERM
    assert proc.returncode in (0, -signal.SIGTERM) and err == ""


def test_a_port_in_use_is_one_line():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run(
            [
                sys.executable,
                "-c",
                "from gantool.cli import main; main()",
                "serve",
                "--size",
                "nano",
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--port" in r.stderr
