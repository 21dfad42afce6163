"""Property tests: no byte sequence makes the AMI core fail other than with
``AMIProtocolError``, and good messages survive garbage around them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.ami.message import Message
from hotline.ami.protocol import AMIConnection, Item, NeedData
from hotline.errors import AMIProtocolError

KEY = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=":"),
    min_size=1,
    max_size=20,
)
VALUE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=40,
)


def drain_all(conn: AMIConnection) -> tuple[list[Item], int]:
    items: list[Item] = []
    errors = 0
    for _ in range(10_000):
        try:
            item = conn.next_item()
        except AMIProtocolError:
            errors += 1
            continue
        if isinstance(item, NeedData):
            return items, errors
        items.append(item)
    raise AssertionError("next_item never asked for more data")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=12))
def test_arbitrary_bytes_only_raise_protocol_errors(chunks: list[bytes]) -> None:
    conn = AMIConnection(max_frame_size=256)
    for chunk in chunks:
        if chunk:
            conn.receive_data(chunk)
            drain_all(conn)
    conn.receive_data(b"")
    drain_all(conn)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(KEY, VALUE), min_size=1, max_size=8),
    st.binary(max_size=200),
)
def test_a_message_after_garbage_is_parsed_intact(
    headers: list[tuple[str, str]], garbage: bytes
) -> None:
    message = Message([("Event", "Probe"), *headers])
    conn = AMIConnection(max_frame_size=4096)
    # Garbage then a blank line: the framing resynchronises on the blank line.
    conn.receive_data(b"Event: Start\r\n\r\n" + garbage + b"\r\n\r\n" + bytes(message))
    items, _ = drain_all(conn)
    assert items[-1] == message


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(KEY, VALUE), min_size=1, max_size=10))
def test_serialise_then_parse_is_identity(headers: list[tuple[str, str]]) -> None:
    message = Message(headers)
    frame = bytes(message)
    assert frame.endswith(b"\r\n\r\n")
    assert Message.parse(frame[:-4]) == message
