"""The sans-I/O AMI core against the bytes a real Asterisk 22.10.1 sent."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from hotline.ami.message import Message
from hotline.ami.protocol import (
    ActionResult,
    AMIConnection,
    Banner,
    ConnectionClosed,
    Item,
    NeedData,
)
from hotline.errors import AMIProtocolError
from tests.support.fixtures import AMI

CAPTURES = sorted(
    p.relative_to(AMI).as_posix().removesuffix(".ami.txt")
    for p in [*AMI.glob("*.ami.txt"), *AMI.glob("project-dialplan/*.ami.txt")]
)

# Messages in each capture (the banner not counted), counted by hand from the files;
# series 2: the events its README counts, and the answers to the client's actions.
MESSAGE_COUNTS = {
    "abandoned-during-notice": 32,
    "abandoned-while-ringing": 71,
    "actions": 51,
    "answered-call-stopmixmonitor": 128,
    "answered-call": 124,
    "failed-login": 1,
    "operator-noanswer-record": 91,
    "project-dialplan/blind-transfer": 148 + 5,
    "project-dialplan/concurrent-five": 556 + 4,
    "project-dialplan/hangup-during-notice-twice": 67 + 4,
    "project-dialplan/hangup-during-notice": 34 + 4,
    "project-dialplan/no-mixmonitor": 87 + 5,
    "project-dialplan/operator-unreachable": 64 + 4,
    "project-dialplan/queue-answered-operator-hangs-up": 89 + 4,
    "project-dialplan/queue-answered": 88 + 4,
    "project-dialplan/queue-timeout-message": 70 + 4,
}


def drain(conn: AMIConnection) -> list[Item]:
    items: list[Item] = []
    while True:
        item = conn.next_item()
        if isinstance(item, NeedData):
            return items
        items.append(item)


def feed(chunks: list[bytes], *, actions: Sequence[Message] = ()) -> list[Item]:
    conn = AMIConnection()
    for action in actions:
        conn.send(action)
    items: list[Item] = []
    for chunk in chunks:
        conn.receive_data(chunk)
        items.extend(drain(conn))
    conn.receive_data(b"")
    items.extend(drain(conn))
    return items


def capture(name: str) -> bytes:
    return (AMI / f"{name}.ami.txt").read_bytes()


def timeline_reads(name: str, direction: str = "rx") -> list[bytes]:
    lines = (AMI / f"{name}.timeline.jsonl").read_text().splitlines()
    return [
        json.loads(line)["data"].encode() for line in lines if json.loads(line)["dir"] == direction
    ]


def client_actions(name: str) -> list[Message]:
    frames = (AMI / f"{name}.client.txt").read_bytes().split(b"\r\n\r\n")
    return [Message.parse(frame) for frame in frames if frame]


def rechunk(data: bytes, rng: random.Random) -> list[bytes]:
    chunks, pos = [], 0
    while pos < len(data):
        size = rng.choice((1, 2, 3, 5, 17, 64, 333, 1500, 4096))
        chunks.append(data[pos : pos + size])
        pos += size
    return chunks


def reassemble(items: list[Item]) -> bytes:
    out = b""
    for item in items:
        if isinstance(item, Banner):
            out += item.line.encode() + b"\r\n"
        elif isinstance(item, Message):
            out += bytes(item)
        elif isinstance(item, ActionResult):
            raise AssertionError("no actions registered in this test")
    return out


@pytest.mark.parametrize("name", CAPTURES)
def test_capture_round_trips_byte_for_byte(name: str) -> None:
    items = feed([capture(name)])
    assert isinstance(items[0], Banner)
    assert items[0].version == "11.0.0"
    assert isinstance(items[-1], ConnectionClosed)
    messages = [i for i in items if isinstance(i, Message)]
    assert len(messages) == MESSAGE_COUNTS[name]
    assert reassemble(items) == capture(name)


@pytest.mark.parametrize("name", CAPTURES)
def test_capture_reads_as_the_socket_delivered_them(name: str) -> None:
    reads = timeline_reads(name)
    assert b"".join(reads) == capture(name)
    assert feed(reads) == feed([capture(name)])


@pytest.mark.parametrize("name", CAPTURES)
@pytest.mark.parametrize("seed", range(5))
def test_capture_rechunked_at_random_boundaries(name: str, seed: int) -> None:
    chunks = rechunk(capture(name), random.Random(seed))
    assert feed(chunks) == feed([capture(name)])


@pytest.mark.parametrize("name", CAPTURES)
def test_client_actions_serialise_to_the_captured_bytes(name: str) -> None:
    sent = b"".join(bytes(action) for action in client_actions(name))
    assert sent == (AMI / f"{name}.client.txt").read_bytes()
    assert b"".join(timeline_reads(name, "tx")) == sent


def results(items: list[Item]) -> dict[str, ActionResult]:
    return {i.action_id: i for i in items if isinstance(i, ActionResult)}


@pytest.mark.parametrize("seed", [None, 1, 2])
def test_answered_call_action_responses(seed: int | None) -> None:
    data = capture("answered-call")
    chunks = [data] if seed is None else rechunk(data, random.Random(seed))
    items = feed(chunks, actions=client_actions("answered-call"))
    by_id = results(items)
    assert sorted(by_id) == [f"lab-00{n}" for n in range(1, 9)]
    assert by_id["lab-001"].ok and by_id["lab-001"].message == "Authentication accepted"
    assert by_id["lab-002"].response["Ping"] == "Pong"

    channels = by_id["lab-003"]
    assert channels.action == "CoreShowChannels"
    assert [e["Channel"] for e in channels.items] == [
        "PJSIP/operator-00000001",
        "PJSIP/caller-00000000",
    ]
    assert channels.events[-1]["ListItems"] == "2"

    status = by_id["lab-004"]
    operator, caller = status.items
    # Repeated Variable: headers are all kept, in order.
    assert caller.getall("Variable") == [
        "HOTLINE_CALL=1",
        "HOTLINE_REC=/var/spool/asterisk/monitor/hotline-20261128-001159-1795824714.0.wav",
        "MIXMONITOR_FILENAME=/var/spool/asterisk/monitor/hotline-20261128-001159-1795824714.0.wav",
    ]
    assert caller.variables()["HOTLINE_CALL"] == "1"
    assert operator.variables() == {}  # all three read (null) on the operator leg
    assert caller["Linkedid"] == operator["Linkedid"] == "1795824714.0"
    assert caller.action_id == "lab-004"  # Status puts its ActionID last

    assert by_id["lab-005"].response["Value"].endswith("1795824714.0.wav")
    assert by_id["lab-008"].response.response == "Goodbye"
    # Call events that interleave with the lists are passed through in order.
    events = [i.event for i in items if isinstance(i, Message)]
    assert events.count("Hangup") == 2
    assert "CoreShowChannel" not in events and "Status" not in events


def test_actions_capture_responses() -> None:
    data = capture("actions")
    items = feed(rechunk(data, random.Random(7)), actions=client_actions("actions"))
    by_id = results(items)
    assert len(by_id) == 15
    version = by_id["lab-005"].response
    assert version.getall("Output") == [
        "Asterisk 22.10.1 built by root @ vm on a x86_64 running Linux on 2026-11-27 23:56:43 UTC"
    ]
    endpoints = by_id["lab-006"].response.getall("Output")
    assert len(endpoints) > 10 and endpoints[0] == ""
    assert endpoints[1].startswith(" Endpoint:  <Endpoint/CID")  # leading space kept
    assert by_id["lab-007"].items == () and by_id["lab-007"].events[-1]["ListItems"] == "0"
    assert by_id["lab-009"].response["Value"] == "/var/spool/asterisk/monitor"
    dialplan = by_id["lab-010"].response.getall("Output")
    assert any("MixMonitor" in line for line in dialplan)
    assert by_id["lab-012"].message == "Originate successfully queued"
    assert not by_id["lab-013"].ok and by_id["lab-013"].message == "Originate failed"
    assert not by_id["lab-014"].ok and "NoSuchAction" in by_id["lab-014"].message
    # Events that carry the ActionID of an action already answered are plain events.
    late = {i.event: i for i in items if isinstance(i, Message) and i.action_id}
    assert late["OriginateResponse"].action_id == "lab-012"
    assert late["OriginateResponse"].response is None  # an event, despite Response:
    assert late["OriginateResponse"]["Reason"] == "4"
    assert late["UserEvent"]["UserEvent"] == "HotlineLabPing"


def test_failed_login_capture() -> None:
    items = feed(timeline_reads("failed-login"), actions=client_actions("failed-login"))
    banner, result, closed = items
    assert isinstance(banner, Banner)
    assert isinstance(result, ActionResult) and not result.ok
    assert result.message == "Authentication failed"
    assert closed == ConnectionClosed(())


def test_headers_are_looked_up_case_blind() -> None:
    items = feed([capture("answered-call")])
    cdr = next(i for i in items if isinstance(i, Message) and i.event == "Cdr")
    hangup = next(i for i in items if isinstance(i, Message) and i.event == "Hangup")
    assert cdr["uniqueid"] == cdr["UniqueID"] == "1795824714.0"
    assert hangup["UNIQUEID"] == "1795824719.1"
    assert ("UniqueID", "1795824714.0") in cdr.headers  # wire spelling kept


def test_empty_values_are_kept() -> None:
    items = feed([capture("answered-call")])
    dial_reset = next(
        i
        for i in items
        if isinstance(i, Message) and i.event == "VarSet" and i["Variable"] == "DIALSTATUS"
    )
    assert dial_reset["Value"] == ""
    assert dial_reset.headers[-1] == ("Value", "")


def test_a_malformed_frame_raises_and_the_stream_goes_on() -> None:
    conn = AMIConnection()
    conn.receive_data(
        b"Asterisk Call Manager/11.0.0\r\n"
        b"this line has no colon\r\n\r\n"
        b"Event: FullyBooted\r\nStatus: Fully Booted\r\n\r\n"
    )
    assert isinstance(conn.next_item(), Banner)
    with pytest.raises(AMIProtocolError, match="no ':' separator"):
        conn.next_item()
    event = conn.next_item()
    assert isinstance(event, Message) and event.event == "FullyBooted"


def test_a_frame_that_is_neither_event_nor_response_is_an_error() -> None:
    conn = AMIConnection()
    conn.receive_data(b"Foo: bar\r\n\r\nResponse: Success\r\n\r\n")
    with pytest.raises(AMIProtocolError, match="neither"):
        conn.next_item()
    assert isinstance(conn.next_item(), Message)


def test_an_oversized_frame_is_skipped() -> None:
    conn = AMIConnection(max_frame_size=100)
    conn.receive_data(b"Event: Big\r\nData: " + b"x" * 500)
    with pytest.raises(AMIProtocolError, match="limit"):
        conn.next_item()
    conn.receive_data(b"y" * 300 + b"\r\n\r\nEvent: Small\r\n\r\n")
    event = conn.next_item()
    assert isinstance(event, Message) and event.event == "Small"


def test_connection_closed_inside_a_message() -> None:
    conn = AMIConnection()
    conn.receive_data(b"Event: Cut\r\nHalf")
    conn.receive_data(b"")
    with pytest.raises(AMIProtocolError, match="closed inside"):
        conn.next_item()
    assert isinstance(conn.next_item(), ConnectionClosed)


def test_pending_actions_are_reported_when_the_connection_closes() -> None:
    conn = AMIConnection()
    action_id, data = conn.send(Message.action("Ping"))
    assert data == f"Action: Ping\r\nActionID: {action_id}\r\n\r\n".encode()
    conn.receive_data(b"")
    assert conn.next_item() == ConnectionClosed((action_id,))


def test_no_banner_and_blank_lines_between_messages() -> None:
    conn = AMIConnection()
    conn.receive_data(b"Event: A\r\n\r\n\r\n\r\nEvent: B\r\n\r\n")
    first, second = conn.next_item(), conn.next_item()
    assert isinstance(first, Message) and first.event == "A"
    assert isinstance(second, Message) and second.event == "B"


def test_forgotten_action_answer_is_a_plain_message() -> None:
    conn = AMIConnection()
    action_id, _ = conn.send(Message.action("Ping"))
    conn.forget(action_id)
    conn.receive_data(f"Response: Success\r\nActionID: {action_id}\r\n\r\n".encode())
    item = conn.next_item()
    assert isinstance(item, Message) and item.response == "Success"


def test_header_injection_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        bytes(Message.action("Getvar", Variable="X\r\nAction: Hangup"))


def test_message_parse_round_trip_of_every_capture_message() -> None:
    for name in CAPTURES:
        data = capture(name)
        _, _, rest = data.partition(b"\r\n")
        for frame in rest.split(b"\r\n\r\n"):
            if frame:
                assert bytes(Message.parse(frame)) == frame + b"\r\n\r\n"


@pytest.mark.parametrize(
    "module",
    ["message", "protocol", "tracker", "state", "model", "completeness", "recordings"],
)
def test_the_cores_do_no_io(module: str) -> None:
    """The protocol core and the tracker never import asyncio (nor sockets)."""
    source = (Path(__file__).resolve().parents[3] / "hotline" / "ami" / f"{module}.py").read_text()
    imports = {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.startswith(("import ", "from "))
    }
    assert not imports & {"asyncio", "socket", "selectors", "threading", "os"}
