"""The AMI core's edges, each written to fail on a one-line change the capture tests
would not notice (see ``make mutation``): ids, the banner, limits, end of stream."""

from __future__ import annotations

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

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def items(conn: AMIConnection, *chunks: bytes) -> list[Item]:
    out: list[Item] = []
    for chunk in chunks:
        conn.receive_data(chunk)
        while not isinstance(item := conn.next_item(), NeedData):
            out.append(item)
    return out


def test_the_frame_limit_has_a_floor() -> None:
    with pytest.raises(ValueError, match="at least 64"):
        AMIConnection(max_frame_size=63)
    AMIConnection(max_frame_size=64)


def test_actions_get_numbered_ids_right_after_the_action_header() -> None:
    conn = AMIConnection(id_prefix="hl-")
    first, data = conn.send(Message([("Action", "Ping"), ("Foo", "1")]))
    second, _ = conn.send(Message([("Action", "Ping")]))
    assert (first, second) == ("hl-1", "hl-2")
    assert data == b"Action: Ping\r\nActionID: hl-1\r\nFoo: 1\r\n\r\n"
    assert conn.pending == ("hl-1", "hl-2")
    own, data = conn.send(Message([("Action", "Status"), ("ActionID", "mine")]))
    assert own == "mine" and data.count(b"ActionID") == 1
    with pytest.raises(ValueError, match="already awaiting"):
        conn.send(Message([("Action", "Status"), ("ActionID", "mine")]))
    with pytest.raises(ValueError, match="'Action' header"):
        conn.send(Message([("Foo", "1")]))
    conn.forget("hl-2")
    assert conn.pending == ("hl-1", "mine")
    conn.receive_data(b"")
    with pytest.raises(ValueError, match="closed"):
        conn.send(Message([("Action", "Ping")]))


def test_the_banner_arrives_in_pieces_and_is_the_line_without_a_colon() -> None:
    conn = AMIConnection()
    got = items(conn, BANNER[:7], BANNER[7:20], BANNER[20:] + b"Event: A\r\n\r\n")
    assert got[0] == Banner("Asterisk Call Manager/11.0.0") and conn.banner == got[0]
    assert got[0].version == "11.0.0" and Banner("no version").version == ""
    (event,) = got[1:]
    assert isinstance(event, Message) and event.get("event") == "A"
    # A peer that starts with a message has no banner, and loses nothing.
    bare = AMIConnection()
    (first,) = items(bare, b"Event: FullyBooted\r\n\r\n")
    assert isinstance(first, Message) and bare.banner is None


def test_a_late_answer_after_forget_is_a_plain_message() -> None:
    conn = AMIConnection()
    action_id, _ = conn.send(Message([("Action", "Ping")]))
    conn.forget(action_id)
    (late,) = items(conn, BANNER, f"Response: Success\r\nActionID: {action_id}\r\n\r\n".encode())[
        1:
    ]
    assert isinstance(late, Message) and late.get("actionid") == action_id
    answered, _ = conn.send(Message([("Action", "Ping")]))
    (result,) = items(conn, f"Response: Success\r\nActionID: {answered}\r\n\r\n".encode())
    assert isinstance(result, ActionResult) and result.ok and result.action == "Ping"


def test_a_frame_over_the_limit_is_refused_and_the_next_one_read() -> None:
    conn = AMIConnection(max_frame_size=64)
    conn.receive_data(BANNER)
    assert isinstance(conn.next_item(), Banner)
    conn.receive_data(b"Event: Big\r\nData: " + b"x" * 80)  # unterminated, over the limit
    with pytest.raises(AMIProtocolError, match="exceeds the 64-byte limit"):
        conn.next_item()
    assert isinstance(conn.next_item(), NeedData)
    (after,) = items(conn, b"x" * 10 + b"\r\n\r\nEvent: Small\r\n\r\n")
    assert isinstance(after, Message) and after.get("event") == "Small"
    # Just within the limit: read.
    fits = b"Event: E\r\nData: " + b"y" * (64 - len(b"Event: E\r\nData: "))
    (ok,) = items(conn, fits + b"\r\n\r\n")
    assert isinstance(ok, Message) and ok.get("data") == "y" * 48


def test_end_of_stream_reports_the_unanswered_once_or_the_cut_message() -> None:
    conn = AMIConnection()
    action_id, _ = conn.send(Message([("Action", "Status")]))
    got = items(conn, BANNER, b"\r\n  \r\n", b"")
    assert got[1:] == [ConnectionClosed((action_id,))]
    assert isinstance(conn.next_item(), NeedData) and conn.pending == ()
    with pytest.raises(ValueError, match="after end of stream"):
        conn.receive_data(b"more")
    cut = AMIConnection()
    items(cut, BANNER)
    cut.receive_data(b"Event: Half\r\nUniq")
    cut.receive_data(b"")
    with pytest.raises(AMIProtocolError, match="17 bytes unterminated"):
        cut.next_item()


def test_forgetting_an_unknown_action_is_harmless() -> None:
    conn = AMIConnection()
    conn.forget("never-sent")  # answered already, or never ours
    assert conn.pending == ()


def test_a_banner_that_is_not_utf8_is_still_read() -> None:
    conn = AMIConnection()
    (banner, event) = items(conn, b"Asterisk \xff Manager/1.0\r\nEvent: A\r\n\r\n")
    assert banner == Banner("Asterisk \ufffd Manager/1.0") and isinstance(event, Message)


def test_skipping_an_oversized_frame_finds_a_terminator_split_across_reads() -> None:
    conn = AMIConnection(max_frame_size=64)
    items(conn, BANNER)
    conn.receive_data(b"Event: Big\r\nData: " + b"x" * 80 + b"\r\n")
    with pytest.raises(AMIProtocolError):
        conn.next_item()
    (after,) = items(conn, b"\r", b"\nEvent: Next\r\n\r\n")
    assert isinstance(after, Message) and after.get("event") == "Next"
