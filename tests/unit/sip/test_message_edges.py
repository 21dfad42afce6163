"""SIP message edge cases, one rule of RFC 3261 at a time: header names and compact
forms, folding, bare LF, Content-Length against the body, start lines, the checks a
UAS makes, what a response copies, and TCP framing at its limits."""

from __future__ import annotations

import pytest

from hotline.errors import SIPProtocolError
from hotline.sip.address import CSeq
from hotline.sip.message import (
    MAX_MESSAGE,
    Headers,
    Request,
    Response,
    StreamFramer,
    canonical,
    parse_message,
    response_to,
)

VIA = "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds"
DIALOG = (
    f"Via: {VIA}\r\n"
    "From: <sip:13800138000@10.0.0.1>;tag=1928301774\r\n"
    "To: <sip:12340@10.0.0.2>\r\n"
    "Call-ID: a84b4c76e66710@10.0.0.1\r\n"
)


def request(
    start: str = "INVITE sip:12340@10.0.0.2 SIP/2.0", extra: str = "", cseq: str = "1 INVITE"
) -> bytes:
    return f"{start}\r\n{DIALOG}CSeq: {cseq}\r\n{extra}\r\n".encode()


def parsed_request(data: bytes) -> Request:
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def error_of(data: bytes) -> SIPProtocolError:
    with pytest.raises(SIPProtocolError) as caught:
        parse_message(data)
    return caught.value


# --- header names --------------------------------------------------------------------


COMPACT = {
    "i": "Call-ID",
    "m": "Contact",
    "f": "From",
    "t": "To",
    "v": "Via",
    "l": "Content-Length",
    "c": "Content-Type",
    "k": "Supported",
    "s": "Subject",
    "e": "Content-Encoding",
    "o": "Event",
    "x": "Session-Expires",
    "r": "Refer-To",
    "u": "Allow-Events",
    "b": "Referred-By",
}


@pytest.mark.parametrize(("short", "name"), sorted(COMPACT.items()))
def test_every_compact_form_expands_in_either_case(short: str, name: str) -> None:
    assert canonical(short) == name
    assert canonical(f" {short.upper()} ") == name


def test_header_names_are_spelled_the_standard_way_or_kept_as_given() -> None:
    assert canonical("call-id") == "Call-ID"
    assert canonical("CONTENT-LENGTH") == "Content-Length"
    assert canonical("www-authenticate") == "WWW-Authenticate"
    assert canonical(" X-Asterisk-Info ") == "X-Asterisk-Info"  # unknown: own spelling
    assert canonical("z") == "z"  # one letter, but no compact form
    assert canonical("ix") == "ix"


def test_headers_keep_order_and_repetitions_and_ignore_case() -> None:
    headers = Headers()
    headers.add("v", "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2")
    headers.add("Subject", "gas leak, urgent")
    headers.add("VIA", "SIP/2.0/TCP c;branch=z9hG4bK3")
    headers.add("x-note", "one")
    assert headers.items[0][0] == "Via" and headers.items[2][0] == "Via"
    assert headers.get("via") == "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2"
    assert headers.get("X-NOTE") == "one"
    assert headers.get("Contact") is None and headers.get("Contact", "none") == "none"
    # List headers split at their commas, across lines; others stay whole.
    assert headers.get_all("Via") == [
        "SIP/2.0/UDP a;branch=z9hG4bK1",
        "SIP/2.0/UDP b;branch=z9hG4bK2",
        "SIP/2.0/TCP c;branch=z9hG4bK3",
    ]
    assert headers.get_all("s") == ["gas leak, urgent"]
    assert headers.get_all("Route") == []


def test_set_replaces_every_value_and_remove_takes_them_all() -> None:
    headers = Headers([("Via", "SIP/2.0/UDP a"), ("To", "<sip:a@b>"), ("via", "SIP/2.0/UDP b")])
    headers.set("v", "SIP/2.0/UDP c")
    assert headers.items == [("To", "<sip:a@b>"), ("Via", "SIP/2.0/UDP c")]
    headers.add("Contact", "<sip:x@y>")
    headers.remove("m")
    assert headers.items == [("To", "<sip:a@b>"), ("Via", "SIP/2.0/UDP c")]
    headers.remove("Contact")  # nothing to remove: no change
    assert headers.items == [("To", "<sip:a@b>"), ("Via", "SIP/2.0/UDP c")]


def test_a_copy_of_the_headers_is_independent() -> None:
    headers = Headers([("To", "<sip:a@b>")])
    copied = headers.copy()
    copied.add("From", "<sip:c@d>")
    copied.set("To", "<sip:e@f>")
    assert headers.items == [("To", "<sip:a@b>")]
    assert copied.items == [("From", "<sip:c@d>"), ("To", "<sip:e@f>")]


# --- parsing -------------------------------------------------------------------------


def test_folded_lines_join_the_header_above_with_one_space() -> None:
    message = parse_message(
        b"OPTIONS sip:a@b SIP/2.0\r\n"
        b"Subject: the gas\r\n   pipe\r\n\tis broken\r\n"
        b"To: <sip:a@b>\r\n\r\n"
    )
    assert message.headers.items == [("Subject", "the gas pipe is broken"), ("To", "<sip:a@b>")]


def test_a_folded_first_line_is_a_header_of_its_own() -> None:
    # Nothing above it to continue: read as a header line like any other.
    message = parse_message(b"OPTIONS sip:a@b SIP/2.0\r\n Subject: x\r\n\r\n")
    assert message.headers.items == [("Subject", "x")]


def test_compact_headers_are_stored_under_their_full_names() -> None:
    message = parse_message(request(extra="l: 0\r\nc: application/sdp\r\nm: <sip:a@b>\r\n"))
    assert ("Content-Length", "0") in message.headers.items
    assert message.headers.get("Content-Type") == "application/sdp"
    assert message.headers.get_all("Contact") == ["<sip:a@b>"]


def test_bare_lf_line_ends_are_read_too() -> None:
    text = request().decode().replace("\r\n", "\n") + "v=0\n"
    data = text.replace("CSeq: 1 INVITE\n", "CSeq: 1 INVITE\nContent-Length: 4\n").encode()
    message = parsed_request(data)
    message.check()
    assert message.call_id == "a84b4c76e66710@10.0.0.1" and message.body == b"v=0\n"


def test_with_bare_lf_the_first_blank_line_ends_the_headers_too() -> None:
    body = b"v=0\n\no=- 1 1 IN IP4 10.0.0.1\n"
    data = b"OPTIONS sip:a@b SIP/2.0\nTo: <sip:a@b>\nl: " + str(len(body)).encode() + b"\n\n"
    message = parse_message(data + body)
    assert message.body == body and message.headers.get("To") == "<sip:a@b>"


@pytest.mark.parametrize("data", [b"\r\n\r\n\xff\xfe", b"\n\n\xff\xfe", b"\r\n\r\n"])
def test_a_datagram_that_starts_with_a_blank_line_has_no_start_line(data: bytes) -> None:
    # The blank line ends an empty header section: what follows is body, never read
    # as headers (it need not even be UTF-8).
    assert str(error_of(data)) == "malformed request line ''"


def test_the_first_blank_line_ends_the_headers_whatever_the_body_holds() -> None:
    body = b"v=0\n\no=- 1 1 IN IP4 10.0.0.1\r\n\r\nend"
    data = request(extra=f"Content-Length: {len(body)}\r\n") + body
    assert parse_message(data).body == body


def test_a_message_without_a_blank_line_has_no_body() -> None:
    message = parse_message(b"OPTIONS sip:a@b SIP/2.0\r\nTo: <sip:a@b>")
    assert message.headers.items == [("To", "<sip:a@b>")] and message.body == b""


def test_without_content_length_the_body_is_the_rest_of_the_datagram() -> None:
    assert parse_message(request() + b"v=0\r\n").body == b"v=0\r\n"


@pytest.mark.parametrize(
    ("length", "body"),
    [("4", b"v=0\r\n"), (" 5 ", b"v=0\r\n"), ("0", b""), ("3", b"v=0")],
)
def test_content_length_cuts_the_body(length: str, body: bytes) -> None:
    assert (
        parse_message(request(extra=f"Content-Length:{length}\r\n") + b"v=0\r\nXYZ").body
        == (b"v=0\r\nXYZ"[: int(length)])
    )
    assert parse_message(request(extra=f"l: {len(body)}\r\n") + body).body == body


def test_a_body_shorter_than_its_content_length_is_refused() -> None:
    error = error_of(request(extra="Content-Length: 6\r\n") + b"v=0\r\n")
    assert (error.status, error.reason) == (400, "Truncated Body")
    assert str(error) == "body shorter than Content-Length"
    exact = request(extra="Content-Length: 5\r\n") + b"v=0\r\n"
    assert parse_message(exact).body == b"v=0\r\n"


@pytest.mark.parametrize("length", ["-1", "4.0", "four", "", "0x10"])
def test_a_content_length_that_is_not_a_number_is_refused(length: str) -> None:
    error = error_of(request(extra=f"Content-Length: {length}\r\n") + b"v=0\r\n")
    assert (error.status, error.reason, str(error)) == (
        400,
        "Bad Content-Length",
        "bad Content-Length",
    )


def test_a_message_up_to_the_size_limit_is_read_and_one_byte_more_refused() -> None:
    head = request()
    fits = head + b"x" * (MAX_MESSAGE - len(head))
    assert len(parse_message(fits).body) == MAX_MESSAGE - len(head)
    error = error_of(fits + b"x")
    assert (error.status, error.reason, str(error)) == (
        513,
        "Message Too Large",
        "message too large",
    )


def test_header_bytes_that_are_not_utf8_are_refused() -> None:
    error = error_of(request(extra="Subject: caf\xe9\r\n").replace(b"\xc3\xa9", b"\xe9"))
    assert (error.status, error.reason, str(error)) == (
        400,
        "Bad Request",
        "header bytes are not UTF-8",
    )
    # The body may hold anything.
    assert parse_message(request() + b"\xff\xfe").body == b"\xff\xfe"


@pytest.mark.parametrize(
    "line",
    ["no colon here", ": no name", "Bad Name: x", "Bad\tName: x"],
)
def test_a_malformed_header_line_is_refused_and_named(line: str) -> None:
    error = error_of(request(extra=f"{line}\r\n"))
    assert (error.status, error.reason) == (400, "Bad Request")
    assert str(error) == f"malformed header line {line[:40]!r}"


def test_a_blank_header_name_on_the_first_line_is_refused() -> None:
    # Indented, but with no header above it to continue.
    error = error_of(b"OPTIONS sip:a@b SIP/2.0\r\n  : blank name\r\n\r\n")
    assert str(error) == f"malformed header line {'  : blank name'!r}"


def test_a_malformed_header_line_is_named_up_to_40_characters() -> None:
    line = "A" * 60
    assert str(error_of(request(extra=f"{line}\r\n"))) == f"malformed header line {'A' * 40!r}"


def test_extension_headers_keep_their_names() -> None:
    message = parse_message(request(extra="X-Call-Tag: 42\r\nP-Asserted-Identity: <sip:a@b>\r\n"))
    assert message.headers.get("X-Call-Tag") == "42"
    assert ("P-Asserted-Identity", "<sip:a@b>") in message.headers.items


def test_header_values_lose_surrounding_space_and_keep_inner_colons() -> None:
    message = parse_message(request(extra="Contact:   <sip:a@10.0.0.1:5070>  \r\n"))
    assert message.headers.get("Contact") == "<sip:a@10.0.0.1:5070>"


# --- start lines ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "status", "reason"),
    [
        ("SIP/2.0 200 OK", 200, "OK"),
        ("SIP/2.0 183 Session Progress", 183, "Session Progress"),
        ("SIP/2.0 486", 486, ""),
        ("SIP/2.0 100 ", 100, ""),
    ],
)
def test_status_lines(line: str, status: int, reason: str) -> None:
    message = parse_message(f"{line}\r\nTo: <sip:a@b>\r\n\r\n".encode())
    assert isinstance(message, Response)
    assert (message.status, message.reason) == (status, reason)
    assert message.body == b""


def test_a_response_keeps_its_body() -> None:
    message = parse_message(b"SIP/2.0 200 OK\r\nContent-Length: 4\r\n\r\nv=0\nextra")
    assert isinstance(message, Response) and message.body == b"v=0\n"


@pytest.mark.parametrize(
    "line",
    [
        "SIP/2.0",
        "SIP/2.0  200 OK",
        "SIP/2.0\t200 OK",
        "SIP/1.0 200 OK",
        "SIP/2.0 20 OK",
        "SIP/2.0 2000 OK",
        "SIP/2.0 2x0 OK",
        "SIP/",
    ],
)
def test_malformed_status_lines_are_refused_and_named(line: str) -> None:
    error = error_of(f"{line}\r\n\r\n".encode())
    assert (error.status, error.reason) == (400, "Bad Request")
    assert str(error) == f"malformed status line {line!r}"


@pytest.mark.parametrize(
    ("line", "method", "uri", "version"),
    [
        ("INVITE sip:12340@10.0.0.2 SIP/2.0", "INVITE", "sip:12340@10.0.0.2", "SIP/2.0"),
        ("OPTIONS sip:a@b SIP/3.0", "OPTIONS", "sip:a@b", "SIP/3.0"),  # check() answers 505
        ("BYE tel:+8612340 SIP/2.0 extra", "BYE", "tel:+8612340", "SIP/2.0 extra"),
    ],
)
def test_request_lines(line: str, method: str, uri: str, version: str) -> None:
    message = parsed_request(f"{line}\r\n\r\n".encode())
    assert (message.method, message.uri, message.version) == (method, uri, version)


@pytest.mark.parametrize(
    "line",
    [
        "INVITE sip:a@b",
        "invite sip:a@b SIP/2.0",
        "INV1TE sip:a@b SIP/2.0",
        "INVITE  SIP/2.0",
        "INVITE sip:a@b HTTP/1.1",
        "INVITE sip:a@b  SIP/2.0",  # one space between the parts, no more
        "INVITE\tsip:a@b\tSIP/2.0",
        " sip:a@b SIP/2.0",
        "",
    ],
)
def test_malformed_request_lines_are_refused_and_named(line: str) -> None:
    error = error_of(f"{line}\r\nTo: <sip:a@b>\r\n\r\n".encode())
    assert (error.status, error.reason) == (400, "Bad Request")
    assert str(error) == f"malformed request line {line!r}"


def test_a_long_start_line_is_named_up_to_60_characters() -> None:
    line = "SIP/2.0 " + "9" * 80
    assert str(error_of(f"{line}\r\n\r\n".encode())) == f"malformed status line {line[:60]!r}"
    for line in ("invite sip:" + "a" * 80 + " SIP/2.0", "INVITE sip:" + "a" * 80 + " HTTP/1.1"):
        assert str(error_of(f"{line}\r\n\r\n".encode())) == (
            f"malformed request line {line[:60]!r}"
        )


# --- the structured values -----------------------------------------------------------


def test_a_message_without_its_headers_reads_empty_or_says_so() -> None:
    message = parse_message(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n")
    assert message.call_id == "" and message.content_type == "" and message.vias == []
    with pytest.raises(SIPProtocolError, match=r"^no Via header$"):
        message.top_via  # noqa: B018
    for read in ("cseq", "from_", "to"):
        with pytest.raises(SIPProtocolError):
            getattr(message, read)


def test_the_content_type_is_the_bare_media_type_in_lower_case() -> None:
    message = parse_message(request(extra="Content-Type: Application/SDP ; charset=utf-8\r\n"))
    assert message.content_type == "application/sdp"


def test_the_top_via_is_the_first_of_many() -> None:
    data = request().replace(
        f"Via: {VIA}\r\n".encode(),
        f"Via: {VIA}, SIP/2.0/TCP proxy:5070;branch=z9hG4bK2\r\nv: SIP/2.0/TLS edge\r\n".encode(),
    )
    message = parse_message(data)
    assert message.top_via.host == "10.0.0.1"
    assert [(v.transport, v.host) for v in message.vias] == [
        ("UDP", "10.0.0.1"),
        ("TCP", "proxy"),
        ("TLS", "edge"),
    ]


# --- serialising ---------------------------------------------------------------------


def test_a_request_is_written_with_crlf_and_its_real_content_length() -> None:
    headers = Headers([("Via", VIA), ("Content-Length", "999"), ("l", "7"), ("To", "<sip:a@b>")])
    written = bytes(Request(headers=headers, body=b"v=0\r\n", method="INFO", uri="sip:a@b"))
    assert (
        written
        == (
            f"INFO sip:a@b SIP/2.0\r\nVia: {VIA}\r\nl: 7\r\nTo: <sip:a@b>\r\n"
            "Content-Length: 5\r\n\r\nv=0\r\n"
        ).encode()
    )


def test_a_response_is_written_with_its_status_line() -> None:
    written = bytes(
        Response(headers=Headers([("To", "<sip:a@b>")]), body=b"", status=486, reason="Busy Here")
    )
    assert written == b"SIP/2.0 486 Busy Here\r\nTo: <sip:a@b>\r\nContent-Length: 0\r\n\r\n"


def test_parse_and_write_round_trip_a_folded_compact_message() -> None:
    data = request(extra="s: a\r\n b\r\nl: 5\r\n") + b"v=0\r\n"
    message = parse_message(data)
    again = parse_message(bytes(message))
    assert again == message
    assert bytes(again) == bytes(message)


# --- the checks a UAS makes ----------------------------------------------------------


def test_a_well_formed_request_passes_the_checks() -> None:
    for scheme in ("sip:12340@10.0.0.2", "sips:12340@10.0.0.2", "SIP:12340@h", "tel:+8612340"):
        parsed_request(request(f"INVITE {scheme} SIP/2.0", "Max-Forwards: 70\r\n")).check()


@pytest.mark.parametrize("name", ["Via", "From", "To", "Call-ID", "CSeq"])
def test_each_required_header_is_checked_for(name: str) -> None:
    data = request()
    kept = [line for line in data.split(b"\r\n") if not line.startswith(f"{name}:".encode())]
    message = parsed_request(b"\r\n".join(kept))
    with pytest.raises(SIPProtocolError) as caught:
        message.check()
    assert (caught.value.status, caught.value.reason) == (400, f"Missing {name}")
    assert str(caught.value) == f"missing {name} header"


def test_an_empty_required_header_counts_as_missing() -> None:
    message = parsed_request(request().replace(b"Call-ID: a84b4c76e66710@10.0.0.1", b"Call-ID:"))
    with pytest.raises(SIPProtocolError, match="missing Call-ID header"):
        message.check()


def test_the_version_is_checked_first_and_named() -> None:
    message = parsed_request(b"OPTIONS sip:a@b SIP/2.1\r\n\r\n")
    with pytest.raises(SIPProtocolError) as caught:
        message.check()
    assert (caught.value.status, caught.value.reason) == (505, "Version Not Supported")
    assert str(caught.value) == "SIP version 'SIP/2.1'"
    long = parsed_request(("OPTIONS sip:a@b SIP/" + "9" * 40 + "\r\n\r\n").encode())
    with pytest.raises(SIPProtocolError) as caught:
        long.check()
    assert str(caught.value) == f"SIP version {('SIP/' + '9' * 40)[:20]!r}"


def test_the_cseq_method_must_be_the_request_s() -> None:
    message = parsed_request(request(cseq="1 BYE"))
    with pytest.raises(SIPProtocolError) as caught:
        message.check()
    assert (caught.value.status, caught.value.reason) == (400, "CSeq Mismatch")
    assert str(caught.value) == "CSeq method differs from the request's"
    assert parsed_request(request(cseq="4711 INVITE")).cseq == CSeq(4711, "INVITE")


@pytest.mark.parametrize(
    ("header", "value"),
    [("From", "<sip:a@b"), ("To", "mailto:a@b"), ("Via", "HTTP/1.1 h")],
)
def test_malformed_addresses_and_vias_fail_the_checks(header: str, value: str) -> None:
    lines = [
        f"{header}: {value}".encode() if line.startswith(f"{header}:".encode()) else line
        for line in request().split(b"\r\n")
    ]
    with pytest.raises(SIPProtocolError):
        parsed_request(b"\r\n".join(lines)).check()


@pytest.mark.parametrize("forwards", ["x", "-1", "", "1.5"])
def test_max_forwards_must_be_a_number(forwards: str) -> None:
    message = parsed_request(request(extra=f"Max-Forwards: {forwards}\r\n"))
    with pytest.raises(SIPProtocolError) as caught:
        message.check()
    assert (caught.value.status, caught.value.reason, str(caught.value)) == (
        400,
        "Bad Max-Forwards",
        "bad Max-Forwards",
    )


@pytest.mark.parametrize(
    ("method", "forwards", "status"),
    [
        ("INVITE", "0", 483),
        ("BYE", " 00 ", 483),
        ("INVITE", "1", None),
        ("OPTIONS", "0", None),  # answered, to say the hop count ran out here
        ("ACK", "0", None),  # never answered
    ],
)
def test_max_forwards_zero_is_too_many_hops_but_for_options_and_ack(
    method: str, forwards: str, status: int | None
) -> None:
    data = request(f"{method} sip:12340@10.0.0.2 SIP/2.0", f"Max-Forwards: {forwards}\r\n")
    message = parsed_request(data.replace(b"1 INVITE", f"1 {method}".encode()))
    if status is None:
        message.check()
        return
    with pytest.raises(SIPProtocolError) as caught:
        message.check()
    assert (caught.value.status, caught.value.reason) == (483, "Too Many Hops")
    assert str(caught.value) == "Max-Forwards is 0"


@pytest.mark.parametrize(
    ("uri", "scheme"), [("mailto:a@b", "mailto"), ("HTTP://x", "http"), ("x", "x")]
)
def test_a_request_uri_of_another_scheme_is_refused_and_named(uri: str, scheme: str) -> None:
    message = parsed_request(request(f"INVITE {uri} SIP/2.0"))
    with pytest.raises(SIPProtocolError) as caught:
        message.check()
    assert (caught.value.status, caught.value.reason) == (416, "Unsupported URI Scheme")
    assert str(caught.value) == f"Request-URI scheme {scheme!r}"


# --- responses -----------------------------------------------------------------------


def invite_through_proxies() -> Request:
    return parsed_request(
        request(
            extra=(
                "Via: SIP/2.0/UDP proxy1;branch=z9hG4bK2, SIP/2.0/UDP proxy2;branch=z9hG4bK3\r\n"
                "Record-Route: <sip:proxy1;lr>, <sip:proxy2;lr>\r\n"
                "Record-Route: <sip:proxy3;lr>\r\n"
                "Max-Forwards: 70\r\nSubject: not copied\r\n"
            )
        )
    )


def test_a_response_copies_the_vias_dialog_and_record_route_in_order() -> None:
    invite = invite_through_proxies()
    response = response_to(
        invite, 200, "OK", to_tag="as7d", headers=[("Contact", "<sip:h@10.0.0.2>")], body=b"v=0"
    )
    assert (response.status, response.reason, response.body) == (200, "OK", b"v=0")
    assert response.headers.items == [
        ("Via", VIA),
        ("Via", "SIP/2.0/UDP proxy1;branch=z9hG4bK2"),
        ("Via", "SIP/2.0/UDP proxy2;branch=z9hG4bK3"),
        ("From", "<sip:13800138000@10.0.0.1>;tag=1928301774"),
        ("To", "<sip:12340@10.0.0.2>;tag=as7d"),
        ("Call-ID", "a84b4c76e66710@10.0.0.1"),
        ("CSeq", "1 INVITE"),
        ("Record-Route", "<sip:proxy1;lr>"),
        ("Record-Route", "<sip:proxy2;lr>"),
        ("Record-Route", "<sip:proxy3;lr>"),
        ("Contact", "<sip:h@10.0.0.2>"),
    ]


@pytest.mark.parametrize(
    ("status", "record_route"), [(100, False), (101, True), (180, True), (299, True), (300, False)]
)
def test_record_route_is_copied_only_into_provisional_and_success_answers_to_invite(
    status: int, record_route: bool
) -> None:
    response = response_to(invite_through_proxies(), status, "x")
    assert bool(response.headers.get_all("Record-Route")) is record_route


def test_record_route_is_not_copied_for_other_methods() -> None:
    bye = parsed_request(
        request("BYE sip:12340@10.0.0.2 SIP/2.0", "Record-Route: <sip:p;lr>\r\n", cseq="2 BYE")
    )
    assert response_to(bye, 200, "OK").headers.get("Record-Route") is None


def test_the_to_tag_is_added_once_and_never_to_100_trying() -> None:
    invite = invite_through_proxies()
    assert response_to(invite, 100, "Trying", to_tag="x").headers.get("To") == (
        "<sip:12340@10.0.0.2>"
    )
    assert response_to(invite, 101, "x", to_tag="x").headers.get("To") == (
        "<sip:12340@10.0.0.2>;tag=x"
    )
    assert response_to(invite, 180, "Ringing").headers.get("To") == "<sip:12340@10.0.0.2>"
    assert response_to(invite, 180, "Ringing", to_tag="").headers.get("To") == (
        "<sip:12340@10.0.0.2>"
    )
    tagged = parsed_request(request().replace(b"To: <sip:12340@10.0.0.2>", b"t: <sip:b@c> ; TAG=9"))
    assert response_to(tagged, 486, "Busy", to_tag="x").headers.get("To") == "<sip:b@c> ; TAG=9"


def test_a_response_to_a_request_missing_headers_still_has_them_empty() -> None:
    bare = parsed_request(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n")
    response = response_to(bare, 400, "Bad Request")
    assert response.headers.items == [("From", ""), ("To", ""), ("Call-ID", ""), ("CSeq", "")]


# --- TCP framing ---------------------------------------------------------------------


def message_with_body(body: bytes, name: str = "Content-Length") -> bytes:
    return request(extra=f"{name}: {len(body)}\r\n") + body


def test_the_framer_cuts_by_content_length_in_any_spelling() -> None:
    one = message_with_body(b"v=0\r\n")
    two = message_with_body(b"o=-\r\ns=-\r\n", "l")
    three = message_with_body(b"abc", "content-length ")
    four = request()  # no Content-Length: no body
    framer = StreamFramer()
    assert framer.feed(one + two + three + four) == [one, two, three, four]
    assert framer.feed(b"") == []


def test_the_framer_waits_for_the_whole_body() -> None:
    one = message_with_body(b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\n")
    framer = StreamFramer()
    cut = one.index(b"\r\n\r\n") + 4
    assert framer.feed(one[: cut - 1]) == []  # the blank line is not there yet
    assert framer.feed(one[cut - 1 : cut + 3]) == []  # headers, part of the body
    assert framer.feed(one[cut + 3 : -1]) == []
    assert framer.feed(one[-1:] + one[:5]) == [one]
    assert framer.feed(one[5:]) == [one]


def test_keepalives_between_messages_are_skipped() -> None:
    one = message_with_body(b"x")
    framer = StreamFramer()
    assert framer.feed(b"\r\n\r\n\r\n") == []
    assert framer.feed(b"\r\n" + one + b"\r\n\r\n" + one + b"\r\n") == [one, one]
    assert framer.feed(one) == [one]  # the trailing keepalive left nothing behind


@pytest.mark.parametrize("length", ["x", "-1", "", "1 0", "5:7"])
def test_a_stream_with_a_bad_content_length_is_unusable(length: str) -> None:
    with pytest.raises(SIPProtocolError) as caught:
        StreamFramer().feed(request(extra=f"Content-Length: {length}\r\n"))
    assert (caught.value.status, str(caught.value)) == (400, "bad Content-Length on a stream")


def test_the_last_content_length_of_a_message_counts() -> None:
    one = request(extra="Content-Length: 9\r\nl: 2\r\n") + b"ab"
    assert StreamFramer().feed(one + one) == [one, one]


def test_a_stream_message_may_be_as_large_as_the_limit_and_no_larger() -> None:
    head = request(extra="Content-Length: 00000\r\n")
    length = MAX_MESSAGE - len(head)
    fits = head.replace(b"00000", str(length).encode()) + b"x" * length
    assert len(fits) == MAX_MESSAGE
    assert StreamFramer().feed(fits) == [fits]
    over = head.replace(b"00000", str(length + 1).encode())
    with pytest.raises(SIPProtocolError) as caught:
        StreamFramer().feed(over)  # refused on the header alone, before the body comes
    assert (caught.value.status, caught.value.reason, str(caught.value)) == (
        513,
        "Message Too Large",
        "message too large",
    )


def test_a_header_section_that_never_ends_is_refused_past_the_limit() -> None:
    framer = StreamFramer()
    start = b"INVITE sip:a@b SIP/2.0\r\nSubject: "
    assert framer.feed(start + b"x" * (MAX_MESSAGE - len(start))) == []  # at the limit: wait
    with pytest.raises(SIPProtocolError) as caught:
        framer.feed(b"x")
    assert (caught.value.status, caught.value.reason, str(caught.value)) == (
        513,
        "Message Too Large",
        "header section too large",
    )
