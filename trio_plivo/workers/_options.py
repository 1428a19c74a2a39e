"""What each worker serves: the server options, as plain data a worker process can rebuild
its server from (the same objects ``trio-plivo serve`` builds in one process)."""

from __future__ import annotations

import json
import os
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .._exceptions import ConfigurationError
from .._format import MULAW_8K
from .._secrets import browser_token, tls_context
from ..call import CallConfig, CallHandler
from ..protocol import codec_factory_for
from ..server import StreamServer
from ..signatures import SignatureValidator

if TYPE_CHECKING:
    from ..fleet import RedisCallDirectory, RedisNonceCache
    from ..web import PlivoFront

__all__ = [
    "CONFIGURATION_EXIT",
    "REGISTRY_NEEDS",
    "ServeOptions",
    "WorkerSpec",
    "build_server",
    "enter_registry",
    "options_from_dict",
    "worker_count",
]

#: What ``--workers auto`` and ``workers="auto"`` mean: one worker per CPU this process may use.
AUTO: Literal["auto"] = "auto"
#: A worker's exit status when its app or options can never work (import error, bad option):
#: at start-up the supervisor stops at once instead of restarting it.
CONFIGURATION_EXIT = 3
#: Why ``--registry`` alone is refused: it shares nothing unless one of these is on.
REGISTRY_NEEDS = (
    "--registry shares the control API's calls and signed upgrades' nonces: add --control, "
    "or set PLIVO_AUTH_TOKEN"
)


@attrs.frozen
class ServeOptions:
    """Everything a worker needs to build its server, the options of ``trio-plivo serve``.

    ``app`` is a built-in app name (``echo``, ``agent``) or ``package.module:function``: each
    worker imports it itself. ``answer=True`` serves the one-port front (``/answer``,
    ``/status``, ``/healthz``) next to the stream path. ``auth_token`` defaults to
    ``$PLIVO_AUTH_TOKEN``; it travels to the workers over a pipe, never in an argument list,
    and is never shown in a repr.
    """

    app: str
    path: str = "/stream"
    lead_ms: float = 100.0
    max_calls: int | None = None
    provider: str = "plivo"
    record_dir: str | None = None
    event_log_dir: str | None = None
    shutdown_grace: float = 10.0
    answer: bool = False
    public_url: str | None = None
    content_type: str = MULAW_8K.to_content_type()
    auth_token: str | None = attrs.field(default=None, repr=False)
    #: Serve the browser page at ``/talk`` (the front, even without ``answer``).
    browser: bool = False
    #: The page's token; defaults to ``$TRIO_PLIVO_BROWSER_TOKEN``. Never in a repr.
    browser_token: str | None = attrs.field(default=None, repr=False)
    browser_public: bool = False
    #: The control API's bearer token (the API is served when set). Never in a repr.
    control_token: str | None = attrs.field(default=None, repr=False)
    #: ``redis://...``: every worker publishes its calls there and the control API of any of
    #: them reaches every call (with ``control_token``), and signed upgrades' nonces are
    #: remembered there, so a replay is refused on every worker (with an auth token).
    registry: str | None = attrs.field(default=None, repr=False)
    registry_ttl: float = 30.0
    #: Serve TLS with this certificate chain and key (PEM paths; each worker loads them).
    certfile: str | None = None
    keyfile: str | None = None

    def resolved_auth_token(self) -> str | None:
        """``auth_token``, else ``$PLIVO_AUTH_TOKEN``, else ``None`` (signatures unchecked)."""
        return self.auth_token or os.environ.get("PLIVO_AUTH_TOKEN") or None

    def resolved_browser_token(self) -> str | None:
        """``browser_token``, else ``$TRIO_PLIVO_BROWSER_TOKEN``, else ``None``."""
        return self.browser_token or browser_token(None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (secrets included: for the worker pipe only)."""
        return attrs.asdict(self)


def options_from_dict(data: dict[str, Any]) -> ServeOptions:
    """The inverse of :meth:`ServeOptions.to_dict`; unknown keys are a ConfigurationError."""
    known = {field.name for field in attrs.fields(ServeOptions)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigurationError(f"unknown server option(s): {', '.join(unknown)}")
    return ServeOptions(**data)


@attrs.frozen
class WorkerSpec:
    """What the supervisor tells one worker process, as one JSON line on its stdin."""

    worker_id: int
    host: str | None
    port: int
    #: Listen with SO_REUSEPORT beside the other workers (else an ordinary listener).
    reuse_port: bool
    log_level: int
    #: The pipe the worker writes ``ready PORT`` to once it listens.
    ready_fd: int
    options: ServeOptions

    def to_json(self) -> bytes:
        data = attrs.asdict(self, recurse=False)
        data["options"] = self.options.to_dict()
        return json.dumps(data).encode() + b"\n"

    @classmethod
    def from_json(cls, line: bytes) -> WorkerSpec:
        try:
            data = json.loads(line)
            data["options"] = options_from_dict(data["options"])
            return cls(**data)
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"bad worker spec: {exc}") from None


def build_server(
    options: ServeOptions, handler: CallHandler, fleet: RedisCallDirectory | None = None
) -> tuple[StreamServer, PlivoFront | None]:
    """The stream server for ``handler`` and, with ``options.answer``, the
    :class:`~trio_plivo.web.PlivoFront` in front of it (else ``None``).

    Raises :class:`ConfigurationError` for an option that can never work, so the supervisor
    can check the options once (with a placeholder handler) before starting any worker.
    """
    token = options.resolved_auth_token()
    validator = None if token is None else SignatureValidator(token, public_url=options.public_url)
    server = StreamServer(
        handler,
        path=options.path,
        config=CallConfig(
            lead_ms=options.lead_ms,
            record_dir=options.record_dir,
            event_log_dir=options.event_log_dir,
        ),
        max_calls=options.max_calls,
        shutdown_grace=options.shutdown_grace,
        signature_validator=validator,
        codec_factory=codec_factory_for(options.provider),
        ssl_context=tls_context(options.certfile, options.keyfile),
    )
    if not (options.answer or options.browser or options.control_token):
        return server, None
    from ..web import PlivoFront  # the HTTP front only when asked for

    front = PlivoFront(
        server,
        content_type=options.content_type,
        public_url=options.public_url,
        browser=options.browser,
        browser_token=options.resolved_browser_token() if options.browser else None,
        browser_public=options.browser and options.browser_public,
        control_token=options.control_token,
        fleet=fleet,
    )
    return server, front


async def enter_registry(
    stack: AsyncExitStack, url: str, ttl: float, *, control: bool, signed: bool
) -> tuple[RedisCallDirectory | None, RedisNonceCache | None]:
    """What ``--registry url`` shares, entered on ``stack``: the call directory when the
    control API is served, the fleet-wide nonce cache when upgrades are signed (set it as the
    server's ``nonce_cache``). Both connect lazily: a Redis down at start-up fails the control
    requests and signed upgrades that need it (503), not the start."""
    from ..fleet import RedisCallDirectory, RedisNonceCache, default_node_id

    directory = nonces = None
    if control:
        directory = RedisCallDirectory(url, default_node_id(), ttl=ttl)
        await stack.enter_async_context(directory)
    if signed:
        nonces = await stack.enter_async_context(RedisNonceCache(url))
    return directory, nonces


def worker_count(workers: int | str) -> int:
    """How many workers ``workers`` asks for: a positive int, or ``"auto"`` for one per CPU
    this process may run on (its affinity mask, e.g. under ``taskset`` or a container's
    cpuset; all CPUs where the platform cannot tell)."""
    if workers == AUTO:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not Linux
            return max(1, os.cpu_count() or 1)
    if isinstance(workers, str):
        try:
            workers = int(workers)
        except ValueError:
            raise ConfigurationError(
                f"workers must be a positive number or 'auto', got {workers!r}"
            ) from None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigurationError(f"workers must be a positive number or 'auto', got {workers!r}")
    return workers
