"""A small HTTP service around gantool's torch-free sampler.

    python examples/http_service/server.py [demo/export/model.onnx] --port 8000
    curl 'http://127.0.0.1:8000/digits?n=16&digit=3&seed=1' > threes.png

GET /digits   PNG grid. Query: n (1..MAX_N, default 16), digit (conditional models),
              seed (int; random if absent), truncation (> 0), nrow (>= 1).
GET /health   JSON: the model's metadata summary.
Bad parameters get status 400 with {"error": "..."}; unknown paths 404.
"""

from __future__ import annotations

import argparse
import io
import json
import math
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from gantool.runtime import Sampler

MAX_N = 256


class BadRequest(ValueError):
    pass


def parse_query(query: str, conditional: bool) -> dict:
    """Validate the query string -> keyword arguments for Sampler.sample and grid."""
    params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    unknown = set(params) - {"n", "digit", "seed", "truncation", "nrow"}
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(sorted(unknown))}")

    def integer(name, default, lo, hi):
        raw = params.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"{name} must be an integer, got {raw!r}") from None
        if not lo <= value <= hi:
            raise BadRequest(f"{name} must be between {lo} and {hi}, got {value}")
        return value

    out = {
        "n": integer("n", 16, 1, MAX_N),
        "seed": integer("seed", None, 0, 2**63 - 1),
        "nrow": integer("nrow", None, 1, MAX_N),
        "digit": integer("digit", None, 0, 10**6),
    }
    if out["digit"] is not None and not conditional:
        raise BadRequest("this model is unconditional: digit is not accepted")
    if "truncation" in params:
        try:
            t = float(params["truncation"])
        except ValueError:
            t = float("nan")
        if not (math.isfinite(t) and t > 0):
            raise BadRequest(f"truncation must be a positive number, got {params['truncation']!r}")
        out["truncation"] = t
    return out


def make_handler(sampler: Sampler):
    class Handler(BaseHTTPRequestHandler):
        server_version = "gantool-http/1"

        def do_GET(self):  # noqa: N802 (http.server's naming)
            url = urlparse(self.path)
            if url.path == "/health":
                meta = {k: sampler.metadata.get(k) for k in ("model", "latent_dim", "num_classes", "variant")}
                return self._send(200, "application/json", json.dumps({"ok": True, **meta}).encode())
            if url.path != "/digits":
                return self._json_error(404, f"no such path {url.path}; try /digits or /health")
            try:
                q = parse_query(url.query, sampler.conditional)
                images = sampler.sample(q["n"], seed=q["seed"], labels=q["digit"], truncation=q.get("truncation"))
                buf = io.BytesIO()
                sampler.grid(images, q["nrow"]).save(buf, format="PNG")
            except ValueError as e:  # BadRequest and the sampler's own checks (e.g. digit out of range)
                return self._json_error(400, str(e))
            except Exception as e:  # never a dead thread or a half answer: the client gets a JSON 500
                return self._json_error(500, f"internal error: {type(e).__name__}")
            self._send(200, "image/png", buf.getvalue())

        def _json_error(self, status: int, message: str) -> None:
            self._send(status, "application/json", json.dumps({"error": message}).encode())

        def _send(self, status: int, ctype: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):  # quiet by default; a real service would log properly
            pass

    return Handler


def make_server(model: str | None, host: str = "127.0.0.1", port: int = 8000, threads: int = 1) -> ThreadingHTTPServer:
    # One Sampler shared by all request threads: onnxruntime sessions are thread-safe.
    return ThreadingHTTPServer((host, port), make_handler(Sampler(model, threads=threads)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "model",
        nargs="?",
        default=None,
        help="exported ONNX generator [default: the pretrained model bundled with gantool]",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    try:
        server = make_server(args.model, args.host, args.port)
    except (ValueError, OSError) as e:  # a bad model file, a port in use: one line, no traceback
        raise SystemExit(f"error: {e}") from None
    print(
        f"serving {args.model or 'the bundled model'} on http://{args.host}:{server.server_address[1]}"
        "/digits?n=16&seed=1",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


if __name__ == "__main__":
    main()
