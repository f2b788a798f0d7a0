"""examples/browser runs the exported ONNX file in onnxruntime-web (WASM) inside headless
Chromium; every canvas pixel must equal the Python sampler's within 1/255."""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from gantool.runtime import Sampler, make_grid

ROOT = Path(__file__).resolve().parents[2]
BROWSER_DIR = ROOT / "examples" / "browser"
CHROMIUM, CHROMEDRIVER = (
    shutil.which("chromium") or "/usr/bin/chromium",
    shutil.which("chromedriver") or "/usr/bin/chromedriver",
)


def _skip_reason() -> str | None:
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        return "Debian's chromium and chromium-driver are not installed (.ci/run installs them)"
    if not (BROWSER_DIR / "node_modules" / "onnxruntime-web" / "dist" / "ort.wasm.min.js").exists():
        return "onnxruntime-web is not installed: run `npm ci` in examples/browser (.ci/run does)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install 'gantool[dev]')"
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))]


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
    }
    model_path: Path

    def translate_path(self, path):
        if path.split("?")[0] == "/model.onnx":
            return str(self.model_path)
        return super().translate_path(path)

    def log_message(self, *args):
        pass


def _serve(model):
    handler = type("H", (_Handler,), {"model_path": model})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(BROWSER_DIR)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/index.html"


@pytest.fixture
def served_page(exported):
    model = exported("dcgan", 10) / "model.onnx"
    server, url = _serve(model)
    yield url, model
    server.shutdown()
    server.server_close()


@pytest.fixture
def served_seeded_page(trained_run, tmp_path):
    from gantool.export import ExportConfig, export

    export(trained_run("dcgan", 10), ExportConfig(out_dir=str(tmp_path / "s"), formats=("seeded",)), progress=False)
    model = tmp_path / "s" / "model.seeded.onnx"
    server, url = _serve(model)
    yield url, model
    server.shutdown()
    server.server_close()


@pytest.fixture
def driver(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    drv.set_script_timeout(90)
    yield drv
    drv.quit()


RENDER = """
const [z, labels, nrow, done] = arguments;
window.gantool.ready
  .then(() => window.gantool.render(z, labels, nrow))
  .then(() => {
    const c = document.getElementById('canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const grey = new Array(c.width * c.height);
    for (let i = 0; i < grey.length; i++) grey[i] = d[i * 4];
    done({width: c.width, height: c.height, grey});
  })
  .catch((e) => done({error: String(e)}));
"""


def test_canvas_matches_python_sampler(served_page, driver):
    url, model = served_page
    driver.get(url)
    sampler = Sampler(model)
    z = sampler.latents(40, seed=11)
    labels = (np.arange(40) % 10).tolist()
    result = driver.execute_async_script(RENDER, z.ravel().tolist(), labels, 8)
    assert "error" not in result, result.get("error")
    canvas = np.array(result["grey"], dtype=np.int16).reshape(result["height"], result["width"])
    expected = np.asarray(make_grid(sampler.generate(z, labels), nrow=8), dtype=np.int16)
    assert canvas.shape == expected.shape
    assert np.abs(canvas - expected).max() <= 1  # within 1/255 per pixel
    assert expected.std() > 0  # the comparison is not between two blank images


RENDER_SEEDS = RENDER.replace(
    "const [z, labels, nrow, done] = arguments;", "const [seed, n, labels, nrow, done] = arguments;"
).replace("window.gantool.render(z, labels, nrow)", "window.gantool.renderSeeds(BigInt(seed), n, labels, nrow)")


def test_seeded_canvas_matches_python_sampler(served_seeded_page, driver):
    """Seed 7 in the browser is seed 7 in Python: the page's own PRNG is gone."""
    url, model = served_seeded_page
    driver.get(url)
    sampler = Sampler(model)
    labels = [d % 10 for d in range(30)]
    result = driver.execute_async_script(RENDER_SEEDS, "7", 30, labels, 10)
    assert "error" not in result, result.get("error")
    canvas = np.array(result["grey"], dtype=np.int16).reshape(result["height"], result["width"])
    expected = np.asarray(make_grid(sampler.sample(30, seed=7, labels=labels), nrow=10), dtype=np.int16)
    assert canvas.shape == expected.shape and np.abs(canvas - expected).max() <= 1
    assert expected.std() > 0


@pytest.mark.parametrize(
    "model",
    [
        "data:application/octet-stream;base64,CAA=",
        "http://example.invalid/m.onnx",
        "//example.invalid/m.onnx",
        "/etc/m.onnx",
        "javascript:alert(1)",
    ],
)
def test_the_page_runs_only_models_from_its_own_server(served_page, driver, model):
    from urllib.parse import quote

    url, _ = served_page
    driver.get(f"{url}?model={quote(model, safe='')}")
    status = driver.execute_async_script(
        "const done = arguments[0]; window.gantool.ready.then(() => done('loaded'), () => "
        "done(document.getElementById('status').textContent));"
    )
    assert "must be a relative path to an .onnx or .ort file on this server" in status
