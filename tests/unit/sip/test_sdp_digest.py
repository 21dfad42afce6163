"""SDP offer/answer for G.711 and holds; HTTP digest against the RFCs' own examples."""

from __future__ import annotations

import pytest

from hotline.errors import SIPProtocolError
from hotline.sip import sdp
from hotline.sip.digest import Challenge, authorization

OFFER = (
    "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n"
    "m=video 5000 RTP/AVP 96\r\n"
    "m=audio 4000 RTP/AVP 18 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
    "a={direction}\r\n"
)


def test_answer_takes_the_offerers_first_g711_and_dtmf() -> None:
    offer = sdp.SessionDescription.parse(OFFER.format(direction="sendrecv").encode())
    ours, negotiated = sdp.answer(offer, address="127.0.0.1", port=9000, session_id=5, version=0)
    assert (negotiated.codec, negotiated.payload_type, negotiated.event_payload_type) == (
        "PCMA",
        8,
        101,
    )
    assert negotiated.remote == ("10.0.0.5", 4000) and negotiated.sending and negotiated.receiving
    assert [m.port for m in ours.media] == [0, 9000]  # one answer line per offer line
    assert b"a=rtpmap:8 PCMA/8000" in bytes(ours) and b"a=fmtp:101 0-15" in bytes(ours)
    assert sdp.SessionDescription.parse(bytes(ours)).media[1].formats == ("8", "101")


@pytest.mark.parametrize(
    ("direction", "ours", "receiving", "sending"),
    [
        ("sendonly", "recvonly", True, False),
        ("recvonly", "sendonly", False, True),
        ("inactive", "inactive", False, False),
    ],
)
def test_holds(direction: str, ours: str, receiving: bool, sending: bool) -> None:
    offer = sdp.SessionDescription.parse(OFFER.format(direction=direction).encode())
    answer, negotiated = sdp.answer(offer, address="127.0.0.1", port=9000, session_id=5, version=1)
    assert answer.media[1].direction == ours
    assert (negotiated.receiving, negotiated.sending) == (receiving, sending)


def test_rfc2543_hold_and_no_codec() -> None:
    held = sdp.SessionDescription.parse(
        OFFER.format(direction="sendrecv").replace("10.0.0.5", "0.0.0.0").encode()
    )
    _, negotiated = sdp.answer(held, address="127.0.0.1", port=9000, session_id=5, version=1)
    assert negotiated.remote is None and not negotiated.sending
    g729 = sdp.SessionDescription.parse(
        OFFER.format(direction="sendrecv").replace("18 8 0 101", "18").encode()
    )
    with pytest.raises(SIPProtocolError) as caught:
        sdp.answer(g729, address="127.0.0.1", port=9000, session_id=5, version=1)
    assert caught.value.status == 488


def test_our_offer_and_their_answer() -> None:
    offer = sdp.offer(address="127.0.0.1", port=7000, session_id=1, version=0)
    answer = sdp.SessionDescription.parse(
        b"v=0\r\no=- 2 2 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n"
        b"m=audio 6000 RTP/AVP 0\r\n"
    )
    negotiated = sdp.accept_answer(offer, answer)
    assert (negotiated.codec, negotiated.remote) == ("PCMU", ("10.1.1.1", 6000))


def test_digest_rfc2617_example() -> None:
    challenge = Challenge.parse(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    value = authorization(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        nc=1,
        cnonce="0a4f113b",
    )
    assert 'response="6629fae49393a05397450978507c4ef1"' in value and "nc=00000001" in value


def test_digest_rfc7616_sha256_example() -> None:
    challenge = Challenge.parse(
        'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )
    value = authorization(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle of Life",
        nc=1,
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert 'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"' in value


def test_unusable_challenges() -> None:
    for bad in (
        'Basic realm="x"',
        'Digest realm="x"',
        'Digest nonce="1", algorithm=MD4',
        'Digest nonce="1", qop="auth-int"',
    ):
        with pytest.raises(SIPProtocolError):
            Challenge.parse(bad)
