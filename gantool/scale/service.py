"""`gantool serve`: the digits service on one machine, an ASGI app (Starlette) run by uvicorn.

Starlette rather than FastAPI: the service has four GET routes whose queries gantool validates itself
(protocol.parse_query), so FastAPI's pydantic layer would add install size and a second set of error
messages for nothing; Ray Serve's deployment (ray_serve.py) takes the same Starlette requests.

Concurrent requests are micro-batched: one worker task takes what is queued (up to max_batch images,
waiting at most batch_wait_ms for more after the first) and runs it as one onnxruntime call in a
thread, so the event loop keeps accepting. At most `queue` requests wait; the next gets 503 at once
instead of a timeout. uvicorn stops accepting on SIGTERM/SIGINT and finishes the requests in flight.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from gantool.core.errors import GantoolError
from gantool.scale.configs import ServeConfig
from gantool.scale.protocol import BadRequest, DigitsRequest, model_summary, parse_query, render, run_batch

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class Metrics:
    """Prometheus text exposition of what the service did since it started."""

    responses: dict[int, int] = field(default_factory=dict)
    images: int = 0
    batches: int = 0
    batch_images: int = 0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    latency_sum: float = 0.0
    latency_count: int = 0

    def observe(self, status: int, seconds: float) -> None:
        self.responses[status] = self.responses.get(status, 0) + 1
        self.latency_sum += seconds
        self.latency_count += 1
        for i, edge in enumerate(LATENCY_BUCKETS):
            if seconds <= edge:
                self.latency_buckets[i] += 1

    def text(self, queued: int) -> str:
        lines = ["# TYPE gantool_responses_total counter"]
        lines += [f'gantool_responses_total{{code="{c}"}} {v}' for c, v in sorted(self.responses.items())]
        lines += [
            "# TYPE gantool_images_total counter",
            f"gantool_images_total {self.images}",
            "# TYPE gantool_batches_total counter",
            f"gantool_batches_total {self.batches}",
            "# TYPE gantool_batch_images_total counter",
            f"gantool_batch_images_total {self.batch_images}",
            "# TYPE gantool_queued_requests gauge",
            f"gantool_queued_requests {queued}",
            "# TYPE gantool_request_seconds histogram",
        ]
        lines += [
            f'gantool_request_seconds_bucket{{le="{e}"}} {v}'
            for e, v in zip(LATENCY_BUCKETS, self.latency_buckets, strict=True)
        ]
        lines += [
            f'gantool_request_seconds_bucket{{le="+Inf"}} {self.latency_count}',
            f"gantool_request_seconds_sum {self.latency_sum:.6f}",
            f"gantool_request_seconds_count {self.latency_count}",
        ]
        return "\n".join(lines) + "\n"


class QueueFull(Exception):
    pass


class Batcher:
    """Requests in, one model call per batch, images out (see the module docstring)."""

    def __init__(self, sampler, config: ServeConfig, metrics: Metrics) -> None:
        self.sampler, self.config, self.metrics = sampler, config, metrics
        self.queue: asyncio.Queue = asyncio.Queue()
        self.waiting = 0

    async def submit(self, request: DigitsRequest):
        if self.waiting >= self.config.queue:
            raise QueueFull
        self.waiting += 1
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((request, future))
        try:
            return await future
        finally:
            self.waiting -= 1

    async def run(self) -> None:
        carry = None
        while True:
            first = carry or await self.queue.get()
            carry, batch, rows = None, [first], first[0].n
            deadline = time.monotonic() + self.config.batch_wait_ms / 1000
            while rows < self.config.max_batch:
                try:
                    item = (
                        self.queue.get_nowait()
                        if time.monotonic() >= deadline
                        else await asyncio.wait_for(self.queue.get(), deadline - time.monotonic())
                    )
                except (asyncio.QueueEmpty, asyncio.TimeoutError):
                    break
                if rows + item[0].n > self.config.max_batch:
                    carry = item
                    break
                batch.append(item)
                rows += item[0].n
            live = [(r, f) for r, f in batch if not f.done()]  # a client that left needs no images
            if not live:
                continue
            try:
                images = await asyncio.to_thread(run_batch, self.sampler, [r for r, _ in live])
            except Exception as e:  # the batch's requests get the error; the worker lives on
                for _, f in live:
                    if not f.done():
                        f.set_exception(e)
                continue
            self.metrics.batches += 1
            self.metrics.batch_images += rows
            for (_, f), im in zip(live, images, strict=True):
                if not f.done():
                    f.set_result(im)


def create_app(sampler, config: Optional[ServeConfig] = None):
    """The Starlette app around an open Sampler (config None: ServeConfig's defaults)."""
    config = config or ServeConfig()
    import contextlib

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    metrics = Metrics()
    batcher = Batcher(sampler, config, metrics)
    summary = model_summary(sampler)
    num_classes = summary["num_classes"]

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def digits(request):
        t0 = time.perf_counter()
        try:
            req = parse_query(dict(request.query_params), num_classes, config.max_n)
            images = await batcher.submit(req)
            body, media = await asyncio.to_thread(render, images, req)  # PNG encoding off the event loop
            response = Response(body, media_type=media, headers={"X-Seed": str(req.seed)})
            metrics.images += req.n
        except BadRequest as e:
            response = error(400, str(e))
        except QueueFull:
            response = error(503, f"busy: {config.queue} requests are waiting; retry shortly")
            response.headers["Retry-After"] = "1"
        except Exception as e:  # never a traceback to the client
            response = error(500, f"internal error: {type(e).__name__}")
        metrics.observe(response.status_code, time.perf_counter() - t0)
        return response

    async def health(request):
        return JSONResponse({"ok": True, "queued": batcher.waiting})

    async def metadata(request):
        return JSONResponse(summary)

    async def prometheus(request):
        return PlainTextResponse(metrics.text(batcher.waiting), media_type="text/plain; version=0.0.4")

    async def not_found(request, exc):
        return error(404, f"no such path {request.url.path[:60]}; try /digits, /health, /metadata or /metrics")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        tasks = [asyncio.create_task(batcher.run()) for _ in range(config.workers)]
        yield
        for task in tasks:
            task.cancel()

    routes = [
        Route("/digits", digits),
        Route("/health", health),
        Route("/metadata", metadata),
        Route("/metrics", prometheus),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: not_found, 405: not_found})
    app.state.metrics, app.state.batcher = metrics, batcher
    return app


def serve(sampler, config: ServeConfig, announce: Callable[[str], None] = print) -> None:
    """Run the app with uvicorn until SIGINT/SIGTERM (requests in flight finish first)."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in config.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
        sock.listen(2048)  # connections queue from here on, so the announced URL answers at once
    except OSError as e:
        raise GantoolError(
            f"cannot listen on {config.host}:{config.port} ({e.strerror or e}); choose another --port or --host"
        ) from None
    port = sock.getsockname()[1]
    uv = uvicorn.Config(
        create_app(sampler, config), log_level="warning", access_log=False, backlog=2048, timeout_graceful_shutdown=10
    )
    announce(
        f"serving {model_summary(sampler)['file']} on http://{config.host}:{port}/digits?n=16&seed=1 "
        "(also /health, /metadata, /metrics; Ctrl-C stops)"
    )
    uvicorn.Server(uv).run(sockets=[sock])
