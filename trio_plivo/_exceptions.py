"""The one error hierarchy of trio-plivo.

::

    TrioPlivoError
    ├── ProtocolError                (abstract: never raised itself)
    │   ├── LocalProtocolError       we (the application) misused the protocol
    │   └── RemoteProtocolError      the provider sent something the protocol forbids
    ├── CallClosed                   the call is over; carries the close code and reason
    │   └── ConnectionClosed         the transport underneath went away
    ├── CallRefused                  raised by an on_connect hook: close with this code
    ├── PlivoAPIError                a REST request failed (status code, api_id, message)
    ├── ConfigurationError           a setting can never work (bad XML attribute, bad URL ...)
    └── FleetError                   the state shared by the fleet's processes (trio_plivo.fleet)
        ├── RedisError               Redis unreachable, login refused, or an error reply
        │   └── RedisTimeout         connecting or a reply took longer than allowed
        ├── NodeUnavailable          no process listens for commands under that node id
        ├── CommandTimeout           the node got a command but sent no reply in time
        └── CommandFailed            the node's command handler failed; carries its message

Every exception the library raises on purpose is one of these, so ``except TrioPlivoError``
separates "the library said no" from bugs. cattrs' ``ExceptionGroup`` based validation errors
are never allowed out: they would be mistaken for a nursery's exception group.
"""

from __future__ import annotations

__all__ = [
    "CallClosed",
    "CallRefused",
    "ConfigurationError",
    "CommandFailed",
    "CommandTimeout",
    "ConnectionClosed",
    "FleetError",
    "LocalProtocolError",
    "NodeUnavailable",
    "PlivoAPIError",
    "ProtocolError",
    "RedisError",
    "RedisTimeout",
    "RemoteProtocolError",
    "TrioPlivoError",
]


class TrioPlivoError(Exception):
    """Base class of every exception trio-plivo raises on purpose."""


class ProtocolError(TrioPlivoError):
    """A violation of a stream protocol; see the two concrete subclasses.

    Like h11's, this class is abstract: instantiating it directly raises ``TypeError`` so that
    every raise site has to say whose fault the violation was.
    """

    def __init__(self, message: str, *, event_hint: str | None = None) -> None:
        if type(self) is ProtocolError:
            raise TypeError("raise LocalProtocolError or RemoteProtocolError, not ProtocolError")
        super().__init__(message)
        #: The wire event name involved, when known (``"media"``, ``"start"`` ...).
        self.event_hint = event_hint


class LocalProtocolError(ProtocolError):
    """The application asked for something the protocol forbids (e.g. a checkpoint before
    ``start``). A bug in the caller, not in the provider."""


class RemoteProtocolError(ProtocolError):
    """The provider sent something malformed or out of order (bad JSON, ``media`` before
    ``start``, a frame for another stream ...)."""


class CallClosed(TrioPlivoError):
    """The call has ended, so the operation cannot happen.

    ``code`` is the WebSocket close code when one is known (1000 normal, 1006 abnormal ...),
    ``reason`` a short human-readable explanation.
    """

    def __init__(self, reason: str = "call closed", *, code: int | None = None) -> None:
        super().__init__(reason if code is None else f"{reason} (close code {code})")
        self.reason = reason
        self.code = code


def is_call_end(exc: BaseException) -> bool:
    """Whether ``exc`` only says the call ended: a :class:`CallClosed`, or an exception group
    (a handler's own nursery) holding nothing else. Such an exit is a hang-up, not a crash."""
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(CallClosed)[1] is None
    return isinstance(exc, CallClosed)


class CallRefused(TrioPlivoError):
    """Raise from an ``on_connect`` hook to refuse a call before it starts: the WebSocket is
    closed with ``code`` (default 1008, policy violation) and ``reason``, and no handler runs."""

    def __init__(self, reason: str = "call refused", *, code: int = 1008) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class ConnectionClosed(CallClosed):
    """The transport under a call closed (remote close, network failure, our own close)."""


class PlivoAPIError(TrioPlivoError):
    """A Plivo REST request failed.

    ``status_code`` is the HTTP status (``None`` for a network failure after retries),
    ``api_id`` Plivo's request id when the response carried one.
    """

    def __init__(self, status_code: int | None, api_id: str | None, message: str) -> None:
        super().__init__(f"Plivo API error {status_code}: {message}")
        self.status_code = status_code
        self.api_id = api_id
        self.message = message


class ConfigurationError(TrioPlivoError, ValueError):
    """A configuration value that can never work (checked before anything runs)."""


class FleetError(TrioPlivoError):
    """The state the fleet's processes share (call directory, command routing, replay cache)
    could not do what was asked. See the subclasses for whose fault it was."""


class RedisError(FleetError):
    """Redis is unreachable, refused the login, or answered a command with an error.

    The message names the server as ``redis://host:port/db`` and never carries the password.
    """


class RedisTimeout(RedisError, TimeoutError):
    """Connecting to Redis, or a reply from it, took longer than the configured timeout."""


class NodeUnavailable(FleetError):
    """A command was sent to a node that no process is serving commands for (the process is gone,
    or has not started :meth:`~trio_plivo.fleet.RedisCallDirectory.serve_commands`)."""

    def __init__(self, node: str) -> None:
        super().__init__(f"no process is serving commands for node {node!r}")
        self.node = node


class CommandTimeout(FleetError, TimeoutError):
    """The node received the command but sent no reply within ``timeout`` seconds.

    The command may still run there: a control API answers 504, not "not done".
    """

    def __init__(self, node: str, timeout: float) -> None:
        super().__init__(f"node {node!r} sent no reply within {timeout:g} s")
        self.node = node
        self.timeout = timeout


class CommandFailed(FleetError):
    """The node's command handler raised; ``message`` is what the node chose to tell (a
    trio-plivo error's message, or a generic one for an unexpected exception, whose traceback
    is logged on that node only)."""

    def __init__(self, node: str, message: str) -> None:
        super().__init__(f"node {node!r}: {message}")
        self.node = node
        self.message = message
