"""The pieces of multi-process serving that need no worker process: counts, backoff, exit
statuses, worker ids, the worker spec, the refusals, the shared-port sockets, the CLI glue."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import socket
from pathlib import Path

import pytest
import trio

from trio_plivo import ConfigurationError
from trio_plivo.apps import echo
from trio_plivo.cli import build_parser, main
from trio_plivo.workers import (
    WORKER_ID_ENV,
    RestartPolicy,
    ServeOptions,
    WorkerIdFilter,
    _run,
    add_workers_argument,
    current_worker_id,
    describe_exit,
    run_workers,
    serve_args_with_workers,
    worker_count,
)
from trio_plivo.workers._options import WorkerSpec, build_server, options_from_dict
from trio_plivo.workers._sockets import open_listeners, reserve

SECRET = "s3cr3t-auth-token-value"


def test_worker_count_auto_is_the_cpus_this_process_may_use() -> None:
    assert worker_count("auto") == len(os.sched_getaffinity(0))
    assert worker_count(3) == 3
    assert worker_count("3") == 3
    for bad in (0, -1, "many", "", True, 2.5):
        with pytest.raises(ConfigurationError, match="positive number or 'auto'"):
            worker_count(bad)  # type: ignore[arg-type]


def test_restart_delay_doubles_up_to_the_cap() -> None:
    policy = RestartPolicy(first_delay=0.1, max_delay=1.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5, 50)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_exit_statuses_in_words() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(-15) == "killed by SIGTERM"
    assert describe_exit(1) == "exited with status 1"
    assert describe_exit(-200) == "killed by signal 200"


def test_worker_id_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKER_ID_ENV, raising=False)
    assert current_worker_id() is None
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hi", None, None)
    assert WorkerIdFilter().filter(record)
    assert record.worker == "-"
    monkeypatch.setenv(WORKER_ID_ENV, "3")
    assert current_worker_id() == 3
    assert WorkerIdFilter().filter(record)
    assert record.worker == "3"
    monkeypatch.setenv(WORKER_ID_ENV, "not a number")
    assert current_worker_id() is None


def test_the_worker_spec_round_trips_and_keeps_the_token_out_of_reprs() -> None:
    options = ServeOptions("echo", max_calls=7, answer=True, auth_token=SECRET)
    spec = WorkerSpec(1, "0.0.0.0", 8123, True, logging.DEBUG, 9, options)
    assert WorkerSpec.from_json(spec.to_json()) == spec
    assert SECRET not in repr(options)
    assert SECRET not in repr(spec)
    with pytest.raises(ConfigurationError, match="unknown server option"):
        options_from_dict({"app": "echo", "colour": "blue"})
    with pytest.raises(ConfigurationError, match="bad worker spec"):
        WorkerSpec.from_json(b"{not json\n")


def test_more_than_one_worker_needs_so_reuseport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(socket, "SO_REUSEPORT")
    with pytest.raises(
        ConfigurationError, match=r"2 workers need SO_REUSEPORT.*has no SO_REUSEPORT"
    ):
        run_workers("echo", workers=2, port=0)


def test_so_reuseport_that_the_kernel_refuses_is_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setsockopt = socket.socket.setsockopt

    def refuse(self: socket.socket, level: int, option: int, value: int) -> None:
        if option == socket.SO_REUSEPORT:
            raise OSError(errno.ENOPROTOOPT, "Protocol not available")
        setsockopt(self, level, option, value)

    monkeypatch.setattr(socket.socket, "setsockopt", refuse)
    with pytest.raises(ConfigurationError, match="setting SO_REUSEPORT failed"):
        run_workers("echo", workers=3, port=0)


def test_bad_options_are_refused_before_any_worker_starts() -> None:
    with pytest.raises(ConfigurationError, match="server options are: path"):
        run_workers("echo", workers=1, port=0, colour="blue")
    with pytest.raises(ConfigurationError, match="unknown provider"):
        run_workers("echo", workers=1, port=0, provider="carrier-pigeon")
    with pytest.raises(ConfigurationError, match="positive number"):
        run_workers("echo", workers=0, port=0)


def test_a_port_held_without_so_reuseport_is_refused() -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        with pytest.raises(ConfigurationError, match="cannot bind"):
            run_workers("echo", workers=2, port=holder.getsockname()[1])
    finally:
        holder.close()


async def test_listeners_share_the_reserved_port_and_the_reservation_takes_no_call() -> None:
    reservation = reserve("127.0.0.1", 0)
    assert reservation.port > 0
    first = await open_listeners("127.0.0.1", reservation.port, reuse_port=True)
    second = await open_listeners("127.0.0.1", reservation.port, reuse_port=True)
    accepted = {0: 0, 1: 0}
    all_accepted = trio.Event()
    try:
        async with trio.open_nursery() as nursery:

            async def accept(index: int, listener: trio.SocketListener) -> None:
                while True:
                    stream = await listener.accept()
                    accepted[index] += 1
                    if sum(accepted.values()) == 24:
                        all_accepted.set()
                    await stream.aclose()

            nursery.start_soon(accept, 0, first[0])
            nursery.start_soon(accept, 1, second[0])
            for _ in range(24):
                stream = await trio.open_tcp_stream("127.0.0.1", reservation.port)
                await stream.aclose()
            with trio.fail_after(10):
                await all_accepted.wait()
            nursery.cancel_scope.cancel()
        # The kernel spread the connections; every one reached a listener, none the reservation.
        assert accepted[0] and accepted[1]
    finally:
        for listener in first + second:
            await listener.aclose()
    # With every listener gone, the reserved port refuses connections but stays ours.
    with pytest.raises(OSError, match="failed"):
        await trio.open_tcp_stream("127.0.0.1", reservation.port)
    with socket.socket() as other, pytest.raises(OSError, match="in use"):
        other.bind(("127.0.0.1", reservation.port))
    reservation.close()


def test_the_workers_option_parses_counts_and_auto() -> None:
    parser = argparse.ArgumentParser()
    add_workers_argument(parser)
    assert parser.parse_args([]).workers is None
    assert parser.parse_args(["--workers", "auto"]).workers == "auto"
    assert parser.parse_args(["--workers", "4"]).workers == 4
    with pytest.raises(SystemExit):
        parser.parse_args(["--workers", "0"])


def test_every_serve_option_reaches_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake_run_workers(app: str, **kwargs: object) -> int:
        seen.update(kwargs, app=app)
        return 0

    monkeypatch.setattr(_run, "run_workers", fake_run_workers)
    argv = ["serve", "echo", "--port", "0", "--max-calls", "9", "--answer", "--path", "/media"]
    args = build_parser().parse_args([*argv, "--workers", "2"])
    assert serve_args_with_workers(args) == 0
    assert seen["app"] == "echo"
    assert seen["workers"] == 2
    assert seen["port"] == 0
    assert seen["max_calls"] == 9
    assert seen["answer"] is True
    assert seen["path"] == "/media"
    # A serve option the worker options do not know is refused, never silently dropped.
    args.brand_new_option = "x"
    with pytest.raises(ConfigurationError, match="--workers does not support: brand_new_option"):
        serve_args_with_workers(args)


def test_serve_with_workers_runs_the_supervisor(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, object]] = []

    def fake_run_workers(app: str, **kwargs: object) -> int:
        calls.append((app, kwargs["workers"]))
        return 3

    monkeypatch.setattr(_run, "run_workers", fake_run_workers)
    assert main(["serve", "echo", "--port", "0", "--workers", "auto"]) == 3
    assert calls == [("echo", "auto")]


def test_the_browser_page_options_reach_the_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, object] = {}

    def fake_run_workers(app: str, **kwargs: object) -> int:
        seen.update(kwargs)
        return 0

    monkeypatch.setattr(_run, "run_workers", fake_run_workers)
    token_file = tmp_path / "token"
    token_file.write_text("page-token-for-workers\n")
    argv = ["serve", "echo", "--workers", "2", "--browser", "--browser-token-file", str(token_file)]
    assert serve_args_with_workers(build_parser().parse_args(argv)) == 0
    # The token itself travels (over the workers' pipe); the file name does not.
    assert seen["browser"] is True and seen["browser_token"] == "page-token-for-workers"
    assert "browser_token_file" not in seen
    options = ServeOptions(app="echo", browser=True, browser_token="page-token-for-workers")
    assert "page-token-for-workers" not in repr(options)
    _, front = build_server(options, echo)
    assert front is not None and front.browser
