"""hotline: every report call to the hotline recorded in full, sealed as evidence,
transcribed, and forwarded as a draft case to the agency's case system.

Packages, top to bottom (imports only go downward):

    cli, service          composition: settings -> components -> run
    web, webhooks         people and integrators
    calls, intake, jobs   call lifecycle, recording -> sealed draft case, job queue
    ami, sip, rtp         call sources (never import the store)
    store, evidence       database and write-once evidence files
    config, errors        settings and the error tree

``transcriber`` (a sibling package) imports nothing from here.
"""

from __future__ import annotations

__version__ = "0.1.0"
