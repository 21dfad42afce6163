"""Custody of the records (art. 17, 18, 21 of the rule): confidentiality levels and who
may see a case; copy requests and their four-eyes state machine; redaction of personal
data in text and audio; the signed copy bundle and its offline check.

The pure parts (``levels``, ``requests``, ``redact_text``, ``redact_audio``,
``bundle``) take values, bytes or streams and return facts; they do no I/O of their own
and are tested without a database. ``access`` and ``copies`` apply them to the store.

May import: ``hotline.store``, ``hotline.evidence``, ``hotline.cases``,
``hotline.auth.roles``, ``hotline.casework`` (what follows a change to a case),
``hotline.webhooks.outbox``, ``hotline.phone``, ``hotline.config``, ``hotline.errors``.
"""
