"""Joining a Ray cluster, and a pool of warm Ray actors that each take the next item.

Items go to actors one at a time (an actor gets its next item when it returns the last), so
a long video does not hold up a queue of short ones and no actor idles while work is left.
A worker process that dies mid-item (killed, out of memory) is restarted by Ray, which runs
the item again on it (``RESTARTS`` times); what the item writes is atomic (the cache's
entries) or written by the driver once the item returns, so a retry repeats nothing.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from framesift.errors import FramesiftError, InputError

LOCAL = "local"  # ``--ray`` without an address: a Ray instance on this machine, for this run
CONNECT_TIMEOUT_S = 5.0  # an address that does not answer within this is refused
RESTARTS = 3  # a dying worker is restarted, and its item retried, this many times
SINGLE_MACHINE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": one node, on the loopback interface
_DEFAULT_PORTS = {"ray://": 10001, "": 6379}  # Ray Client, the cluster's GCS


def require_ray() -> Any:
    """The ``ray`` module, or a one-line ``InputError`` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise InputError(
            "--ray needs Ray, which is not installed: pip install 'framesift[ray]'"
        ) from None
    return ray


@contextmanager
def connect(address: str = LOCAL) -> Iterator[Any]:
    """Ray, initialised for the duration of the block: ``LOCAL`` starts an instance on this
    machine (loopback only), ``auto`` joins the one started here with ``ray start``, and
    ``HOST:PORT`` or ``ray://HOST:PORT`` a remote cluster. A Ray already initialised by the
    caller (a test, a notebook) is used as it is, and left running."""
    if address == LOCAL:  # Ray's single-machine mode, read when Ray is imported: its servers
        os.environ.setdefault(SINGLE_MACHINE, "0")  # listen on 127.0.0.1 only
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    if address not in (LOCAL, "auto"):
        _check_answers(address)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no reports to Ray's servers
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if address == LOCAL:
            ray.init(address=LOCAL, include_dashboard=False, **quiet)
        else:
            # something that accepts connections but is no Ray cluster: give up in seconds
            os.environ.setdefault("RAY_gcs_server_port_wait_time_s", str(int(CONNECT_TIMEOUT_S)))
            with _silent_stderr():  # Ray's C++ client logs every retry, a line a second
                ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(
            f"cannot join the Ray cluster at {address} ({first_line}); check the address, or "
            "start a cluster with `ray start --head`"
        ) from e
    try:
        yield ray
    finally:
        ray.shutdown()


@contextmanager
def _silent_stderr() -> Iterator[None]:
    """File descriptor 2 to /dev/null for the block (native code writes there directly)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _check_answers(address: str) -> None:
    """Refuse in seconds an address nothing listens on (``ray.init`` would retry for a minute)."""
    scheme = "ray://" if address.startswith("ray://") else ""
    host, _, port = address.removeprefix(scheme).rpartition(":")
    if not host:
        host, port = port, str(_DEFAULT_PORTS[scheme])
    if not port.isdigit():
        raise InputError(f"--ray expects HOST:PORT, ray://HOST:PORT or auto, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise InputError(
            f"no Ray cluster answers at {address} within {CONNECT_TIMEOUT_S:g} s "
            f"({e.strerror or e}); start one with `ray start --head`, or give --ray no "
            "address to run Ray on this machine"
        ) from None


def cluster_cpus() -> int:
    """CPUs of the connected cluster: the default number of workers, one per CPU."""
    return max(1, int(require_ray().cluster_resources().get("CPU", 1)))


def worker_gpus(device: str, workers: int) -> float:
    """GPUs one worker asks Ray for: none for ``cpu``; for ``cuda`` or ``auto`` on a cluster
    with GPUs, an equal share of them (at most a whole one), so the workers fit at once."""
    if device == "cpu":
        return 0.0
    gpus = require_ray().cluster_resources().get("GPU", 0.0)
    if not gpus:
        if device.startswith("cuda"):
            raise InputError(f"--device {device}: the Ray cluster has no GPUs")
        return 0.0
    return min(1.0, gpus / workers)


class WorkerPool:
    """``workers`` Ray actors of ``worker_cls(*args)``, each keeping its models loaded.

    ``worker_cls`` has ``load()`` (build the models: its error stops the run, as one line,
    before any item is handed out) and ``run(item)``. Use as a context manager: the actors are
    killed on exit.
    """

    def __init__(
        self,
        worker_cls: type,
        args: Sequence[Any],
        workers: int,
        num_gpus: float = 0.0,
    ) -> None:
        self.ray = require_ray()
        actor = self.ray.remote(worker_cls).options(
            num_cpus=1,
            num_gpus=num_gpus,
            max_restarts=RESTARTS,
            max_task_retries=RESTARTS,
        )
        self.actors = [actor.remote(*args) for _ in range(workers)]

    def __enter__(self) -> WorkerPool:
        try:
            self.ray.get([a.load.remote() for a in self.actors])
        except self.ray.exceptions.RayTaskError as e:
            self._kill()
            raise _cause(e) from None
        except BaseException:
            self._kill()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._kill()

    def _kill(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor, no_restart=True)

    def map_unordered(self, items: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        """(position in ``items``, what ``run`` returned or the exception it raised), as each
        finishes. An item whose worker died more than ``RESTARTS`` times comes back as that
        error; its worker is then given nothing more."""
        ray = self.ray
        queue = enumerate(items)
        running: dict[Any, tuple[int, Any]] = {}

        def hand_out(actor: Any) -> None:
            for position, item in queue:
                running[actor.run.remote(item)] = (position, actor)
                return

        for actor in self.actors:
            hand_out(actor)
        while running:
            [ref], _ = ray.wait(list(running), num_returns=1)
            position, actor = running.pop(ref)
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayTaskError as e:
                outcome = _cause(e)
            except ray.exceptions.RayActorError as e:
                yield position, FramesiftError(f"the Ray worker died {RESTARTS + 1} times: {e}")
                if not running:
                    _refuse_leftovers(queue)
                continue
            yield position, outcome
            hand_out(actor)


def _cause(error: Any) -> BaseException:
    """The exception the worker raised (Ray wraps it with the remote traceback)."""
    cause = getattr(error, "cause", None)
    return cause if isinstance(cause, BaseException) else error


def _refuse_leftovers(queue: Iterator[tuple[int, Any]]) -> None:
    if next(queue, None) is not None:
        raise FramesiftError(
            "every Ray worker died; nothing done so far is lost: run the same command again "
            "to continue"
        )
