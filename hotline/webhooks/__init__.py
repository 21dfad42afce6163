"""Reaching the case system: the outbox of events, signed delivery with retries, signed
recording links, and callbacks from the case system.

Events follow Standard Webhooks (https://www.standardwebhooks.com/): headers
``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature``, body
``{"type", "timestamp", "data"}``, signed with the endpoint's ``whsec_`` secret by the
``standardwebhooks`` package. An event is written to the outbox in the transaction of
the change that causes it; a ``deliver`` job per endpoint carries it out, in order per
case, retrying on a schedule until the receiver answers 2xx.

May import: ``hotline.cases``, ``hotline.evidence``, ``hotline.jobs``, ``hotline.store``,
``hotline.config``, ``hotline.errors``.
"""

from __future__ import annotations

from hotline.webhooks.outbox import EventType, Outbox

__all__ = ["EventType", "Outbox"]
