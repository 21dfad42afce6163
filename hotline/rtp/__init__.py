"""RTP media for the built-in SIP line.

Owns the wire format of RTP packets and RFC 4733 telephone events (``packet``), G.711
µ-law/A-law (``g711``), the jitter buffer that puts packets back in order and counts
what was lost (``jitterbuffer``), the mapping of RTP timestamps onto the recording's
timeline (``timeline``), the two-channel call recording file (``recording``), and the
asyncio media session of one call (``session``: one datagram endpoint per RTP port).

Everything except ``session`` is pure and never imports asyncio.
May import: ``hotline.errors``, ``transcriber.g711`` (the one G.711 codec, pure), numpy.
Must not import the store, the web or ``hotline.sip``.
"""
