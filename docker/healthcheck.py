"""The image's HEALTHCHECK: ``GET /api/health`` where this container's hotline listens.

The address comes from the same settings ``hotline serve`` reads (``HOTLINE_HTTP``, or the
TOML file named by ``HOTLINE_CONFIG``); a wildcard address is asked on loopback. Exit 0
when the service answers 200 (``ok`` or ``degraded``), 1 otherwise (``error`` is a 503).
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from hotline.config import load_settings
from hotline.errors import ConfigError


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"health: {exc}", file=sys.stderr)
        return 1
    host = settings.http_host.strip("[]")
    if host in {"", "0.0.0.0"}:
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    url = f"http://{host}:{settings.http_port}/api/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            print(f"health: {resp.status} {resp.read(200).decode(errors='replace')}")
            return 0
    except urllib.error.HTTPError as exc:
        print(f"health: {exc.code} {exc.read(200).decode(errors='replace')}", file=sys.stderr)
    except OSError as exc:
        print(f"health: {url}: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
