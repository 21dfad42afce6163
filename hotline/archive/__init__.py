"""Long-term keeping (art. 19-21 of the rule): preservation flags, the retention
report, and disc archives (ISO 9660 images with their stand-alone verifier).

Nothing here deletes or changes evidence: the retention report only informs, and an
archive copies sealed files byte for byte onto new media.

The pure parts (the disc layout, the manifest, the volume plan) take facts and return
bytes or facts and are tested without a database.

May import: ``hotline.cases``, ``hotline.casework``, ``hotline.evidence``,
``hotline.webhooks``, ``hotline.store``, ``hotline.config``, ``hotline.errors``.
"""

from __future__ import annotations
