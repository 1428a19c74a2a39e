"""One worker process: a full Trio stream server on the shared port.

Started by the supervisor as ``python -m trio_plivo.workers._worker`` with
``TRIO_PLIVO_WORKER_ID`` set; reads its :class:`~._options.WorkerSpec` as one JSON line on
stdin (so secrets never show in a process listing), imports the app itself, opens its own
``SO_REUSEPORT`` listener, writes ``ready PORT`` to the readiness pipe, and serves.

It stops the way ``trio-plivo serve`` does: the first SIGTERM or SIGINT drains (no new
calls, active calls get ``shutdown_grace``), a second one interrupts the drain. The
supervisor keeps the other end of stdin open for as long as it lives, so end-of-file there
means the supervisor is gone (even killed with ``kill -9``): the worker then drains and
exits instead of serving on as an orphan nobody restarts or stops.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from contextlib import AsyncExitStack
from functools import partial
from typing import TYPE_CHECKING

import trio

from .._exceptions import ConfigurationError
from ..apps import load_app
from ..call import CallHandler
from ..server import StreamServer
from ._gc import tune_gc_for_serving
from ._identity import WORKER_LOG_FORMAT, WorkerIdFilter
from ._options import CONFIGURATION_EXIT, WorkerSpec, build_server, enter_registry
from ._sockets import open_listeners

if TYPE_CHECKING:
    from ..web import PlivoFront

__all__ = ["main"]

logger = logging.getLogger("trio_plivo.workers")

_MAX_SPEC_BYTES = 1 << 20


def _read_spec() -> WorkerSpec:
    """The spec line from stdin, read unbuffered so nothing after it is consumed."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(0, 4096)
        if not chunk or len(data) > _MAX_SPEC_BYTES:
            raise ConfigurationError("no worker spec on stdin (start workers with run_workers)")
        data += chunk
    return WorkerSpec.from_json(data)


def _configure_logging(level: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(WORKER_LOG_FORMAT))
    handler.addFilter(WorkerIdFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # The WebSocket library logs every connection at INFO; our call lines say more.
    logging.getLogger("websockets").setLevel(logging.WARNING)


async def _shutdown_on_signal(server: StreamServer) -> None:
    # The first signal drains; the receiver is gone afterwards, so a second one interrupts
    # the drain the usual way (SIGINT: KeyboardInterrupt; SIGTERM: the default action).
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            logger.info("%s: draining", signal.Signals(signum).name)
            server.shutdown()
            return


async def _shutdown_when_orphaned(server: StreamServer) -> None:
    stdin = trio.lowlevel.FdStream(os.dup(0))
    async with stdin:
        try:
            while await stdin.receive_some():
                pass
        except (OSError, trio.BrokenResourceError):
            pass
    logger.warning("the supervisor is gone: draining")
    server.shutdown()


def _report_ready(fd: int, port: int) -> None:
    try:
        os.write(fd, f"ready {port}\n".encode())
        os.close(fd)
    except OSError:  # the supervisor is gone; stdin's end-of-file says so too
        pass


async def _serve_with_registry(spec: WorkerSpec, handler: CallHandler) -> None:
    """With ``options.registry``: enter this worker's Redis directory (for the control API)
    and the fleet's nonce cache (for signed upgrades), then serve."""
    options = spec.options
    assert options.registry is not None
    async with AsyncExitStack() as stack:
        directory, nonces = await enter_registry(
            stack,
            options.registry,
            options.registry_ttl,
            control=options.control_token is not None,
            signed=options.resolved_auth_token() is not None,
        )
        server, front = build_server(options, handler, fleet=directory)
        server.nonce_cache = nonces
        await _serve(spec, server, front)


async def _serve(spec: WorkerSpec, server: StreamServer, front: PlivoFront | None) -> None:
    listeners = await open_listeners(spec.host, spec.port, reuse_port=spec.reuse_port)
    async with trio.open_nursery() as nursery:

        async def serve(task_status: trio.TaskStatus[object]) -> None:
            if front is not None:
                await front.serve_listeners(listeners, task_status=task_status)
            else:
                await server.serve_listeners(listeners, task_status=task_status)
            nursery.cancel_scope.cancel()  # drained: the watchers are done too

        await nursery.start(serve)
        nursery.start_soon(_shutdown_on_signal, server)
        nursery.start_soon(_shutdown_when_orphaned, server)
        _report_ready(spec.ready_fd, server.port)


def main() -> int:
    """Run one worker; the exit status is 0 after a drain, :data:`CONFIGURATION_EXIT` when
    the app or the options can never work."""
    try:
        spec = _read_spec()
    except ConfigurationError as exc:
        print(f"trio-plivo worker: {exc}", file=sys.stderr)
        return CONFIGURATION_EXIT
    _configure_logging(spec.log_level)
    try:
        handler = load_app(spec.options.app)
        server, front = build_server(spec.options, handler)
    except ConfigurationError as exc:
        logger.error("%s", exc)  # noqa: TRY400 (the message says it all; no traceback)
        return CONFIGURATION_EXIT
    except Exception:  # the app's own module failed to import: it would fail every time
        logger.exception("loading app %r failed", spec.options.app)
        return CONFIGURATION_EXIT
    tune_gc_for_serving()
    if spec.options.registry:
        trio.run(_serve_with_registry, spec, handler)
    else:
        trio.run(partial(_serve, spec, server, front))
    return 0


if __name__ == "__main__":
    sys.exit(main())
