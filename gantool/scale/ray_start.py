"""Ray for gantool: an existing cluster (--address HOST:PORT), or a local one that keeps to itself.

A plain `ray.init()` (Ray 2.60) reaches out on its own: with the dashboard off it still starts the
dashboard process with one module, UsageStatsHead, whose run() reads ~/ray_bootstrap_config.yaml and,
when there is none, asks the cloud metadata services who the host is (169.254.169.254 for Azure and
AWS, metadata.google.internal for GCP; usage_lib.get_cloud_from_metadata_requests) whether or not
usage stats are enabled; and it binds its internal traffic to the host's address. A local cluster
started here therefore has:
  - usage stats off (RAY_USAGE_STATS_ENABLED=0, inherited by every Ray process);
  - every process on 127.0.0.1 (_node_ip_address): nothing listens beyond the machine;
  - the dashboard process given its own HOME holding ray_bootstrap_config.yaml with
    `provider: {type: local}`, so it reports "local" without a metadata request (only that process:
    workers keep the user's HOME; Ray's auth token path is passed on). tests/scale checks this against a
    listener on 169.254.169.254.
Ray's core worker still points a socket at 8.8.8.8:53 to learn the host's address (network_util.cc,
"Failed to determine local IP via external connectivity" where there is no route); no setting turns
that off, so docs/scale.md says to start Ray in a loopback-only network namespace where that matters.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
from pathlib import Path
from typing import Any, Iterator, Optional

from gantool.core.errors import GantoolError
from gantool.core.fileio import owned_temp_dir

NO_PHONE_HOME_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_USAGE_STATS_PROMPT_ENABLED": "0"}
LOCAL_BOOTSTRAP = "provider:\n  type: local\n"


def import_ray():
    try:
        import ray
    except ImportError:
        raise GantoolError("Ray is not installed: pip install 'gantool[ray]'") from None
    return ray


def check_address(address: str, timeout: float = 3.0) -> tuple[str, int]:
    """HOST:PORT of a running cluster's head (its GCS), reachable within `timeout` seconds."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise GantoolError(
            f"--address must be HOST:PORT of a Ray head node (ray start --head prints it), got {address!r:.60}"
        )
    try:
        with socket.create_connection((host, int(port_text)), timeout=timeout):
            pass
    except OSError as e:
        raise GantoolError(
            f"no Ray cluster answers at {address} ({e.strerror or e}); start one with "
            f"`ray start --head` or leave out --address for a local one"
        ) from None
    return host, int(port_text)


@contextlib.contextmanager
def dashboard_home() -> Iterator[Path]:
    """While Ray starts its processes, the dashboard's (and only the dashboard's) HOME is a private
    folder holding a local bootstrap config (see the module docstring)."""
    from ray._private import ray_constants, services

    home = owned_temp_dir("gantool-ray-home")
    (home / "ray_bootstrap_config.yaml").write_text(LOCAL_BOOTSTRAP)
    original = services.start_ray_process
    real_token = os.path.expanduser(os.path.join("~", ".ray", "auth_token"))

    def start_ray_process(command, process_type, *args, **kwargs):
        if process_type == ray_constants.PROCESS_TYPE_DASHBOARD:
            env = dict(kwargs.get("env_updates") or {})
            env["HOME"] = str(home)
            if not os.environ.get("RAY_AUTH_TOKEN") and not os.environ.get("RAY_AUTH_TOKEN_PATH"):
                env["RAY_AUTH_TOKEN_PATH"] = real_token  # Ray's token auth looks in ~/.ray otherwise
            kwargs["env_updates"] = env
        return original(command, process_type, *args, **kwargs)

    services.start_ray_process = start_ray_process
    try:
        yield home
    finally:
        services.start_ray_process = original


def quiet_loggers(*names: str) -> None:
    """Only errors from Ray's Python loggers: its INFO/WARNING lines would read as gantool's own."""
    for name in names:
        logger = logging.getLogger(name)
        logger.setLevel(logging.ERROR)
        for child in list(logging.root.manager.loggerDict):
            if child.startswith(name + "."):
                logging.getLogger(child).setLevel(logging.ERROR)


@contextlib.contextmanager
def ray_cluster(address: Optional[str] = None, num_cpus: Optional[int] = None) -> Iterator[Any]:
    """ray.init on an existing cluster, or a local one as described above; shut down on exit."""
    ray = import_ray()
    if address is not None:
        check_address(address)
    os.environ.update(NO_PHONE_HOME_ENV)  # before init: every process Ray starts inherits it
    os.environ.setdefault(
        "RAY_BACKEND_LOG_LEVEL", "fatal"
    )  # the C++ core logs notes at ERROR level; failures reach Python
    kwargs = {"log_to_driver": False, "logging_level": "ERROR", "configure_logging": True, "namespace": "gantool"}
    home = None
    if address is not None:
        ray.init(address=address, **kwargs)
    else:
        with dashboard_home() as home:
            ray.init(
                num_cpus=num_cpus or os.cpu_count() or 1,
                include_dashboard=False,
                _node_ip_address="127.0.0.1",
                **kwargs,
            )
    quiet_loggers("ray")
    try:
        yield ray
    finally:
        ray.shutdown()
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)
