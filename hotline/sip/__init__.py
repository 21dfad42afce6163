"""The built-in SIP line: a SIP user agent that answers hotline calls, plays the
recording notice, records each call from answer to hangup, and reports the call facts
(``hotline.calls``) like any other call source.

Owns, sans-I/O (never importing asyncio): SIP messages and header values (``message``,
``address``), SDP offer/answer (``sdp``), digest authentication (``digest``), timers,
server and client transactions, dialogs and registration (``server``, ``client``,
``dialog``, ``register``), and the user agent core that ties them (``agent``, with the
calls it places in ``outgoing``). The asyncio side is thin: ``transport`` (UDP/TCP
sockets), ``line`` (``SIPLine``: runs calls, media and facts), ``bridge`` (rings the
operator and connects the caller), ``spool`` (recordings in progress, and what a
crash left of them). ``config`` holds ``SIPConfig``.

May import: ``hotline.calls``, ``hotline.courier``, ``hotline.errors``, ``hotline.rtp``.
Must not import the store, the evidence store, intake or the web.
"""

from __future__ import annotations

from hotline.sip.config import SIPConfig, default_notice, parse_listen
from hotline.sip.line import SIPLine
from hotline.sip.status import LiveCallStatus, RegistrationStatus, SIPLineStatus

__all__ = [
    "LiveCallStatus",
    "RegistrationStatus",
    "SIPConfig",
    "SIPLine",
    "SIPLineStatus",
    "default_notice",
    "parse_listen",
]
