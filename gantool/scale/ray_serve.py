"""`gantool serve --ray`: the digits service as a Ray Serve deployment (replicas, @serve.batch, autoscaling).

Same routes and answers as `gantool serve` (protocol.py), except /metrics: Ray Serve exports its own
(request counts, latencies, queue lengths per replica) through Ray's metrics endpoint. Each replica
holds one Sampler; @serve.batch gathers concurrent requests into one model call; a request beyond
max_queued_requests gets Ray Serve's 503. A replica that dies is restarted by Serve's controller.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from dataclasses import dataclass
from typing import Callable, Optional

from gantool.core.errors import GantoolError
from gantool.scale.configs import ServeConfig
from gantool.scale.protocol import BadRequest, model_summary, parse_query, render, run_batch

BATCH_REQUESTS = 16  # requests per @serve.batch call (each up to max_n images; the Sampler splits rows)


@dataclass(frozen=True)
class RayServeConfig:
    replicas: int = 2
    max_replicas: Optional[int] = None  # > replicas: autoscale between them on ongoing requests
    address: Optional[str] = None  # an existing cluster's head, HOST:PORT

    def __post_init__(self) -> None:
        if isinstance(self.replicas, bool) or not isinstance(self.replicas, int) or not 1 <= self.replicas <= 256:
            raise GantoolError(f"--replicas must be an integer in 1..256, got {self.replicas!r:.40}")
        if self.max_replicas is not None and not self.replicas <= self.max_replicas <= 256:
            raise GantoolError(f"--max-replicas must be in {self.replicas}..256, got {self.max_replicas}")


class DigitsDeployment:
    """One replica: a Sampler, the batched model call and the ASGI-free request handler."""

    def __init__(self, model: Optional[str], size: Optional[str], config: ServeConfig) -> None:
        from gantool.runtime.sampler import Sampler

        max_n = config.max_n * BATCH_REQUESTS
        self.sampler = (
            Sampler(model, threads=config.threads, max_n=max_n)
            if model is not None
            else Sampler.bundled(size or "base", threads=config.threads, max_n=max_n)
        )
        self.config, self.summary = config, model_summary(self.sampler)

    async def images(self, requests):  # wrapped in serve.batch by build_app
        return await asyncio.to_thread(run_batch, self.sampler, requests)

    async def __call__(self, request):
        from starlette.responses import JSONResponse, Response

        path = request.url.path.rstrip("/")
        if path.endswith("/health"):
            return JSONResponse({"ok": True})
        if path.endswith("/metadata"):
            return JSONResponse(self.summary)
        if not path.endswith("/digits"):
            return JSONResponse({"error": f"no such path {path[:60]}; try /digits, /health or /metadata"}, 404)
        try:
            req = parse_query(dict(request.query_params), self.summary["num_classes"], self.config.max_n)
            body, media = render(await self.images_batched(req), req)
        except BadRequest as e:
            return JSONResponse({"error": str(e)}, 400)
        except Exception as e:  # never a traceback to the client
            return JSONResponse({"error": f"internal error: {type(e).__name__}"}, 500)
        return Response(body, media_type=media, headers={"X-Seed": str(req.seed)})


def build_app(model: Optional[str], size: Optional[str], config: ServeConfig, ray_config: RayServeConfig):
    from ray import serve

    wait = config.batch_wait_ms / 1000

    class Digits(DigitsDeployment):
        @serve.batch(max_batch_size=BATCH_REQUESTS, batch_wait_timeout_s=wait)
        async def images_batched(self, requests):
            return await self.images(requests)

    scaling = (
        {"num_replicas": ray_config.replicas}
        if not ray_config.max_replicas
        else {
            "autoscaling_config": {
                "min_replicas": ray_config.replicas,
                "max_replicas": ray_config.max_replicas,
                "target_ongoing_requests": BATCH_REQUESTS // 2,
            }
        }
    )
    deployment = serve.deployment(
        name="gantool-digits",
        max_ongoing_requests=BATCH_REQUESTS * 2,
        max_queued_requests=config.queue,
        ray_actor_options={"num_cpus": 0.5},
        **scaling,
    )(Digits)
    return deployment.bind(model, size, config)


def serve_on_ray(
    model: Optional[str],
    size: Optional[str],
    config: ServeConfig,
    ray_config: RayServeConfig,
    announce: Callable[[str], None] = print,
) -> None:
    """Start the deployment (a local cluster on 127.0.0.1 unless --address) and block until SIGINT/SIGTERM."""
    from gantool.scale.ray_start import quiet_loggers, ray_cluster

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with ray_cluster(ray_config.address):
        from ray import serve

        quiet_loggers("ray.serve")
        serve.start(http_options={"host": config.host, "port": config.port}, logging_config={"log_level": "ERROR"})
        serve.run(build_app(model, size, config, ray_config), name="gantool", route_prefix="/", blocking=False)
        announce(
            f"serving on http://{config.host}:{config.port}/digits?n=16&seed=1 with Ray Serve "
            f"({ray_config.replicas} replica(s); also /health, /metadata; Ctrl-C stops)"
        )
        stop.wait()
        serve.shutdown()
