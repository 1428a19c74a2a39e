"""Stream status callback parsing: known and unknown events, typed fields, leniency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from trio_plivo.web import StreamStatus, StreamStatusEvent, parse_stream_status

STREAM_ID = "c1f7e2aa-9d2b-4b6e-8f40-7d3a91b2c655"
CALL_UUID = "5b0c6a3e-2f41-4d7a-9a53-0e6f1c2d9b10"


@pytest.mark.parametrize(
    ("event", "status", "problem"),
    [
        ("StartStream", StreamStatus.START, False),
        ("StopStream", StreamStatus.STOP, False),
        ("DroppedStream", StreamStatus.DROPPED, True),
        ("DegradedStream", StreamStatus.DEGRADED, True),
    ],
)
def test_documented_events(event: str, status: StreamStatus, problem: bool) -> None:
    parsed = parse_stream_status({"Event": event, "StreamID": STREAM_ID, "CallUUID": CALL_UUID})
    assert parsed.event == event
    assert parsed.status is status
    assert parsed.is_problem is problem
    assert parsed.stream_id == STREAM_ID
    assert parsed.call_uuid == CALL_UUID


def test_unknown_event_and_keys_are_kept() -> None:
    params = {"Event": "MutedStream", "BufferFill": "60", "bidirectional": "true"}
    parsed = parse_stream_status(params)
    assert parsed.event == "MutedStream"
    assert parsed.status is None
    assert not parsed.is_problem
    assert parsed.params == params


@pytest.mark.parametrize(
    "params",
    [
        {"stream_id": STREAM_ID, "call_uuid": CALL_UUID},
        {"streamId": STREAM_ID, "callId": CALL_UUID},
        {"STREAMID": STREAM_ID, "Call-UUID": CALL_UUID},
    ],
)
def test_identifier_spellings(params: dict[str, str]) -> None:
    parsed = parse_stream_status(params)
    assert (parsed.stream_id, parsed.call_uuid) == (STREAM_ID, CALL_UUID)
    assert parsed.event is None
    assert parsed.status is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01 10:20:30", datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
        (
            "2023-06-26 08:14:29+05:30",
            datetime(2023, 6, 26, 8, 14, 29, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        ("2024-05-01T10:20:30.250Z", datetime(2024, 5, 1, 10, 20, 30, 250000, tzinfo=UTC)),
        ("1714558830", datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
        ("1714558830250", datetime(2024, 5, 1, 10, 20, 30, 250000, tzinfo=UTC)),
    ],
)
def test_timestamp_forms(text: str, expected: datetime) -> None:
    parsed = parse_stream_status({"Event": "StartStream", "Timestamp": text})
    assert parsed.timestamp == expected
    assert parsed.timestamp is not None
    assert parsed.timestamp.tzinfo is not None


@pytest.mark.parametrize("text", ["yesterday", "", "99999999999999999999999"])
def test_bad_timestamp_is_none_not_an_error(text: str) -> None:
    parsed = parse_stream_status({"Event": "StopStream", "Timestamp": text})
    assert parsed.timestamp is None
    assert parsed.params["Timestamp"] == text


def test_blank_values_are_not_identifiers() -> None:
    parsed = parse_stream_status({"Event": " ", "StreamID": ""})
    assert parsed.event is None
    assert parsed.stream_id is None


def test_params_are_a_copy() -> None:
    params = {"Event": "StartStream"}
    parsed = parse_stream_status(params)
    params["Event"] = "StopStream"
    assert parsed.params == {"Event": "StartStream"}


def test_event_is_hashable_value() -> None:
    a = parse_stream_status({"Event": "StartStream", "StreamID": STREAM_ID})
    b = parse_stream_status({"Event": "StartStream", "StreamID": STREAM_ID})
    assert a == b
    assert hash(a) == hash(b)
    assert isinstance(a, StreamStatusEvent)
