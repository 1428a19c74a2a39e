"""A caller hanging up is the call ending, never a handler crash (issue #15, defect 1).

A handler that opens its own nursery (the built-in echo does) sees ``CallClosed`` from
``play`` wrapped in an exception group. That must end the call quietly with the caller's close
code, exactly like a bare ``CallClosed``; only real exceptions are errors.
"""

from __future__ import annotations

import logging

import pytest
import trio
from conftest import PlivoPeer

from trio_plivo import Call, CallClosed, CallHooks, serve_call
from trio_plivo._exceptions import is_call_end


async def _play_after_hang_up_in_a_nursery(call: Call) -> None:
    async with trio.open_nursery():
        await call.wait_ended()
        await call.play(b"\xff" * 160)  # raises CallClosed inside the nursery's body


async def test_call_closed_out_of_a_handler_nursery_is_a_hang_up(
    pair: tuple[object, PlivoPeer], autojump_clock: object, caplog: pytest.LogCaptureFixture
) -> None:
    app, peer = pair
    caplog.set_level(logging.INFO, logger="trio_plivo")
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(peer.start)
            result: list[Call | None] = []

            async def run() -> None:
                result.append(await serve_call(app, _play_after_hang_up_in_a_nursery))  # type: ignore[arg-type]

            nursery.start_soon(run)
            await trio.sleep(0.1)
            await peer.transport.aclose(1000, "caller hung up")
    call = result[0]
    assert call is not None and call.close_code == 1000
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    assert any("ended (code 1000" in r.getMessage() for r in caplog.records)


async def test_a_real_exception_in_a_handler_nursery_is_still_an_error(
    pair: tuple[object, PlivoPeer], autojump_clock: object, caplog: pytest.LogCaptureFixture
) -> None:
    app, peer = pair

    async def crash(call: Call) -> None:
        async with trio.open_nursery():
            raise ZeroDivisionError

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(peer.start)
            result: list[Call | None] = []

            async def run() -> None:
                result.append(await serve_call(app, crash))  # type: ignore[arg-type]

            nursery.start_soon(run)
    call = result[0]
    assert call is not None and call.close_code == 1011
    assert any("handler failed" in r.getMessage() for r in caplog.records)


async def test_hooks_do_not_report_an_ended_call_as_a_callback_error(
    pair: tuple[object, PlivoPeer], autojump_clock: object
) -> None:
    app, peer = pair
    hooks = CallHooks()
    errors: list[BaseException] = []

    @hooks.on_media
    async def echo(call: Call, event: object) -> None:
        await call.wait_ended()
        async with trio.open_nursery():
            await call.play(b"\xff" * 160)

    @hooks.on_error
    def record(call: Call, exc: BaseException) -> None:
        errors.append(exc)

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(peer.start)
            result: list[Call | None] = []

            async def run() -> None:
                result.append(await serve_call(app, hooks))  # type: ignore[arg-type]

            nursery.start_soon(run)
            await trio.sleep(0.05)
            await peer.media(b"\xff" * 160)
            await trio.sleep(0.05)
            await peer.transport.aclose(1000, "caller hung up")
    assert errors == []
    call = result[0]
    assert call is not None and call.close_code == 1000


def test_is_call_end_accepts_only_groups_of_call_closed() -> None:
    assert is_call_end(CallClosed("gone", code=1000))
    assert is_call_end(BaseExceptionGroup("x", [CallClosed(), ExceptionGroup("y", [CallClosed()])]))
    assert not is_call_end(ExceptionGroup("x", [CallClosed(), ValueError()]))
    assert not is_call_end(ValueError())
