"""docker/: the compose file, its settings example and the lab's Asterisk files agree with
each other and with the settings hotline knows (the stack itself runs in
tests/e2e/test_docker.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotline.config import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
# The compose file's own variables that start like settings: not hotline's.
COMPOSE_ONLY = {"HOTLINE_IMAGE", "HOTLINE_WORKERS", "HOTLINE_ENV_FILE"}


def _example() -> tuple[dict[str, str], set[str]]:
    """The example's assignments, and every variable it names (commented out or not)."""
    active: dict[str, str] = {}
    named: set[str] = set()
    for line in (DOCKER / ".env.example").read_text().splitlines():
        match = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match is None:
            continue
        named.add(match[2])
        if match[1] is None:
            active[match[2]] = match[3]
    return active, named


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_example_names_only_settings_hotline_knows() -> None:
    _, named = _example()
    settings = {"HOTLINE_" + name.upper() for name in Settings.model_fields}
    unknown = {n for n in named if n.startswith("HOTLINE_")} - settings - COMPOSE_ONLY
    assert unknown == set()


def test_the_example_as_it_is_loads_as_settings() -> None:
    active, _ = _example()
    env = {k: v for k, v in active.items() if k.startswith("HOTLINE_") and k not in COMPOSE_ONLY}
    assert "HOTLINE_PUBLIC_URL" in env
    settings = load_settings(environ=env)
    assert settings.language == "zh" and settings.sip_rtp_ports == "10000-10099"


def test_every_variable_of_the_compose_file_is_in_the_example() -> None:
    _, named = _example()
    text = (DOCKER / "compose.yaml").read_text()
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    assert used, "the compose file reads its settings from .env"
    assert used - named - {"HOTLINE_ENV_FILE"} == set()


def test_secrets_are_marked_and_left_empty() -> None:
    lines = (DOCKER / ".env.example").read_text().splitlines()
    active, _ = _example()
    assert active["POSTGRES_PASSWORD"] == ""
    for secret in ("POSTGRES_PASSWORD", "HOTLINE_WEBHOOK_SECRET", "HOTLINE_SIP_PASSWORD"):
        at = next(i for i, line in enumerate(lines) if re.match(rf"^(# )?{secret}=", line))
        before = "\n".join(lines[max(0, at - 3) : at])
        assert "SECRET" in before, f"{secret} is not marked SECRET"


def test_services_wait_for_the_migration_and_share_the_evidence_volume() -> None:
    services = _compose()["services"]
    assert set(services) >= {"hotline", "worker", "db", "migrate", "asterisk"}
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("hotline", "worker"):
        waits = services[name]["depends_on"]["migrate"]["condition"]
        assert waits == "service_completed_successfully"
    for name in ("hotline", "worker", "migrate"):
        assert "hotline-data:/var/lib/hotline" in services[name]["volumes"]
    assert str(services["worker"]["deploy"]["replicas"]).startswith("${HOTLINE_WORKERS")
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])


def test_the_database_is_postgresql_15_or_later() -> None:
    image = _compose()["services"]["db"]["image"]
    default = re.fullmatch(r"\$\{POSTGRES_IMAGE:-(.+)\}", image)
    assert default is not None
    active, _ = _example()
    for ref in (default[1], active["POSTGRES_IMAGE"]):
        name, _, tag = ref.partition(":")
        assert name == "postgres" and int(tag.split("-")[0].split(".")[0]) >= 15


def test_published_ports_cover_http_sip_and_rtp() -> None:
    ports = _compose()["services"]["hotline"]["ports"]
    assert any(p.endswith(":8080/tcp") for p in ports)
    assert any("SIP_PORT" in p and p.endswith("/udp") for p in ports)
    assert any("HOTLINE_SIP_RTP_PORTS" in p and p.endswith("/udp") for p in ports)


@pytest.mark.parametrize("mount", _compose()["services"]["asterisk"]["volumes"])
def test_the_lab_pbx_mounts_files_that_exist(mount: str) -> None:
    source = mount.split(":")[0]
    if source.startswith("."):
        assert (DOCKER / source).exists(), source


def test_the_lab_pbx_includes_the_projects_dialplan_files() -> None:
    assert _compose()["services"]["asterisk"]["profiles"] == ["pbx"]
    included = set()
    for conf in (DOCKER / "asterisk").glob("*.conf"):
        included |= set(re.findall(r"^#include hotline/(\S+)$", conf.read_text(), re.M))
    assert included == {"extensions_hotline.conf", "manager_hotline.conf", "queues_hotline.conf"}
    assert all((REPO / "dialplan" / name).is_file() for name in included)


def test_the_lab_pbx_writes_silence_rather_than_gaps() -> None:
    """A phone that stops sending audio would otherwise shorten the recording."""
    mounts = {
        m.split(":")[1]: m.split(":")[0] for m in _compose()["services"]["asterisk"]["volumes"]
    }
    conf = (DOCKER / mounts["/etc/asterisk/asterisk.conf"]).read_text()
    options = conf.split("[options]", 1)[1].split("\n[", 1)[0]
    assert re.search(r"^transmit_silence\s*=\s*yes\s*$", options, re.M)
