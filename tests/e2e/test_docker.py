"""docker/: the image and the compose stack, as a county's IT office runs them.

On a Docker engine of the test's own (``tests/support/docker_engine.py``): the image is
built from ``docker/Dockerfile`` on a stand-in for ``debian:bookworm-slim``; the stack is
``docker/compose.yaml`` run by Debian's ``docker-compose``, with an override that puts
every service on the host's network on free loopback ports (no bridge networks on these
machines) and PostgreSQL from Debian on the same base in place of the official image.
Skipped where no engine can run; under ``CI=true`` a missing prerequisite fails instead.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml

from tests.e2e.conftest import REPORT_WORDS
from tests.support.docker_engine import (
    Engine,
    Unavailable,
    find_tools,
    running_engine,
    standin_base_image,
)
from tests.support.prerequisites import missing
from transcriber.models import BASE_SHA256

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "docker"
ARTIFACTS = REPO / "test-artifacts" / "docker"
HOTLINE_UID = 10001

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2700)]


def _unavailable(reason: str) -> NoReturn:
    missing(f"a Docker engine that can run here ({reason})")


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with ExitStack() as stack:
        try:
            started = stack.enter_context(running_engine(find_tools()))
        except Unavailable as exc:
            _unavailable(str(exc))
        yield started


@dataclass(frozen=True)
class Images:
    base: str
    hotline: str
    postgres: str
    seconds: float


@pytest.fixture(scope="module")
def images(engine: Engine) -> Images:
    """The stand-in base, hotline's image and the test's PostgreSQL: cached by the engine's
    data root, so each is rebuilt only when what it is built from changed."""
    started = time.monotonic()
    base = standin_base_image(engine)
    args = {"BASE_IMAGE": base}
    dockerfile = REPO / "docker" / "Dockerfile"
    # The build stage gets a name of its own: untagged, it would be pruned with the
    # images of earlier runs below, and its layers (the dependencies) with it.
    engine.build(
        REPO, "hotline-test/hotline-build", dockerfile=dockerfile, build_args=args, target="build"
    )
    engine.build(REPO, "hotline-test/hotline", dockerfile=dockerfile, build_args=args)
    engine.build(
        HERE, "hotline-test/postgres", dockerfile=HERE / "postgres.Dockerfile", build_args=args
    )
    engine.docker("image", "prune", "--force")
    return Images(base, "hotline-test/hotline", "hotline-test/postgres", time.monotonic() - started)


def _inspect(engine: Engine, ref: str) -> dict[str, Any]:
    (found,) = json.loads(engine.docker("image", "inspect", ref).stdout)
    assert isinstance(found, dict)
    return found


def test_the_image_runs_hotline_unprivileged_with_its_model_and_no_compiler(
    engine: Engine, images: Images, capsys: pytest.CaptureFixture[str]
) -> None:
    found = _inspect(engine, images.hotline)
    config = found["Config"]
    assert config["User"] == f"{HOTLINE_UID}:{HOTLINE_UID}"
    assert config["Entrypoint"] == ["hotline"] and config["Cmd"] == ["serve"]
    assert "HOTLINE_DATA_DIR=/var/lib/hotline" in config["Env"]
    assert "HOTLINE_HTTP=0.0.0.0:8080" in config["Env"]
    assert list(config["Volumes"]) == ["/var/lib/hotline"]
    assert {"8080/tcp", "5060/udp", "5060/tcp"} <= set(config["ExposedPorts"])
    assert config["Healthcheck"]["Test"] == ["CMD", "python", "/opt/hotline/healthcheck.py"]

    probe = engine.docker(
        "run", "--rm", "--network", "host", "--entrypoint", "sh", images.hotline, "-c",
        "id -u; id -g; stat -c %u:%a /var/lib/hotline; python --version;"
        " echo compilers: $(command -v gcc cc c++ make);"
        " sha256sum /opt/hotline/models/whisper-base-ct2/model.bin;"
        " python -c 'from hotline.sip.config import default_notice as n; print(n())';"
        " sha256sum /opt/hotline/sounds/hotline-recording-notice-en.wav",
    )  # fmt: skip
    uid, gid, data_dir, python, compiler, model, notice, english = probe.stdout.splitlines()
    assert (uid, gid, data_dir) == (str(HOTLINE_UID), str(HOTLINE_UID), f"{HOTLINE_UID}:750")
    assert python.startswith("Python 3.11.")
    assert compiler == "compilers:"
    assert model.split()[0] == BASE_SHA256  # joined at build time, not at the first start
    # The package plays its own notice: no setting points it to a copy.
    assert not [e for e in config["Env"] if e.startswith("HOTLINE_SIP_NOTICE=")]
    assert notice.startswith("/opt/hotline/venv/lib/python3.11/site-packages/hotline/sounds/")
    shipped = REPO / "dialplan" / "sounds" / "hotline-recording-notice-en.wav"
    assert english.split()[0] == hashlib.sha256(shipped.read_bytes()).hexdigest()

    size = int(found["Size"])
    with capsys.disabled():
        print(
            f"\n[docker] images ready in {images.seconds:.0f} s; "
            f"{images.hotline}: {size / 1e6:.0f} MB ({size / 2**20:.0f} MiB)"
        )
    # Not a budget for each dependency: a guard against a gross mistake, such as the
    # build stage's toolchain or a GPU build of a library in the runtime image.
    assert size < 1_500_000_000


def _free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 for both TCP and UDP."""
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            tcp = socket.socket()
            tcp.bind(("127.0.0.1", 0))
            held.append(tcp)
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                udp.bind(("127.0.0.1", tcp.getsockname()[1]))
            except OSError:
                udp.close()
                continue
            held.append(udp)
            ports.append(tcp.getsockname()[1])
    finally:
        for s in held:
            s.close()
    return ports


def _free_udp_range(size: int) -> tuple[int, int]:
    for _ in range(50):
        low = random.randrange(40000, 50000 - size)
        held = []
        try:
            for port in range(low, low + size):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                held.append(s)
                s.bind(("127.0.0.1", port))
            return low, low + size - 1
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise AssertionError("no free UDP range for RTP")


def _http(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _api(base: str, path: str, token: str) -> Any:
    status, body = _http(base + path, token)
    assert status == 200, (path, status, body[:300])
    return json.loads(body)


def _wait(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(1.0)


@dataclass
class Stack:
    """One compose project: docker/compose.yaml with the test's override."""

    engine: Engine
    project: str
    file: Path
    http: str

    def compose(self, *args: str, **kwargs: Any) -> Any:
        return self.engine.compose([self.file], self.project, *args, **kwargs)

    def containers(self, service: str) -> list[str]:
        return self.compose("ps", "-q", service).stdout.split()

    def state(self, container: str) -> dict[str, Any]:
        found = json.loads(
            self.engine.docker("inspect", "--format", "{{json .State}}", container).stdout
        )
        assert isinstance(found, dict)
        return found

    def up(self) -> None:
        self.compose("up", "--detach", timeout=600)
        (hotline,) = self.containers("hotline")
        # The image's HEALTHCHECK: GET /api/health inside the container.
        healthy = lambda: self.state(hotline).get("Health", {}).get("Status") == "healthy"  # noqa: E731
        _wait("hotline healthy", healthy, 240)
        assert _http(self.http + "/api/health")[0] == 200

    def exec(self, service: str, *args: str, timeout: float = 120) -> Any:
        return self.compose("exec", "-T", service, *args, timeout=timeout, check=False)

    def uid_of_pid_1(self, container: str) -> int:
        status = self.engine.docker("exec", container, "cat", "/proc/1/status").stdout
        match = re.search(r"^Uid:\s+(\d+)\s+(\d+)", status, re.M)
        assert match is not None and match[1] == match[2]
        return int(match[1])


def _on_host_network(
    engine: Engine, project: str, files: list[Path], env_file: Path, out: Path
) -> str:
    """The stack's configuration as docker-compose merges it, minus the published ports
    of the services on the host's network: docker-compose 1.29 refuses to create such a
    container (Docker would discard them), and an override cannot remove a list entry."""
    merged = engine.compose(
        files, project, "config", env={"HOTLINE_ENV_FILE": str(env_file)}, env_file=env_file
    ).stdout
    config = yaml.safe_load(merged)
    for service in config["services"].values():
        if service.get("network_mode") == "host":
            service.pop("ports", None)
    out.write_text(yaml.safe_dump(config, sort_keys=False))
    return merged


@pytest.fixture
def stack(engine: Engine, images: Images, tmp_path: Path) -> Iterator[Stack]:
    http, sip, pg = _free_ports(3)
    low, high = _free_udp_range(10)
    password = secrets.token_hex(16)
    settings = {
        "HOTLINE_IMAGE": images.hotline,
        "BASE_IMAGE": images.base,
        "POSTGRES_PASSWORD": password,
        "HOTLINE_WORKERS": "2",
        "HTTP_PORT": str(http),
        "SIP_PORT": str(sip),
        "HOTLINE_SIP_RTP_PORTS": f"{low}-{high}",
        "HOTLINE_PUBLIC_URL": f"http://127.0.0.1:{http}",
        "HOTLINE_LANGUAGE": "en",
        # A nearly full test disk must not turn health "degraded".
        "HOTLINE_EVIDENCE_MIN_FREE_MB": "16",
    }
    # The example as shipped, with what this machine needs changed.
    lines = []
    for line in (REPO / "docker" / ".env.example").read_text().splitlines():
        name = line.partition("=")[0]
        lines.append(f"{name}={settings.pop(name)}" if name in settings else line)
    lines += [f"{k}={v}" for k, v in settings.items()]
    env_file = tmp_path / "hotline.env"
    env_file.write_text("\n".join(lines) + "\n")

    database = f"postgresql+asyncpg://hotline:{password}@127.0.0.1:{pg}/hotline"
    on_host = {
        "network_mode": "host",
        "build": {"network": "host"},
        "environment": {"HOTLINE_DATABASE_URL": database},
    }
    override = {
        "services": {
            "migrate": on_host,
            "worker": on_host,
            "hotline": {
                "network_mode": "host",
                "build": {"network": "host"},
                "environment": {
                    "HOTLINE_DATABASE_URL": database,
                    "HOTLINE_HTTP": f"127.0.0.1:{http}",
                    "HOTLINE_SIP": f"127.0.0.1:{sip}",
                },
                # The image's check, asked more often than in production.
                "healthcheck": {"interval": "2s"},
            },
            "db": {
                "image": images.postgres,
                "network_mode": "host",
                "environment": {"PGPORT": str(pg)},
                "command": ["postgres", "-c", "listen_addresses=127.0.0.1"],
            },
        }
    }
    override_file = tmp_path / "compose.test.yaml"
    override_file.write_text(json.dumps(override, indent=2))  # JSON is YAML

    project = f"hotline-test-{uuid.uuid4().hex[:8]}"
    resolved = tmp_path / "compose.resolved.yaml"
    merged = _on_host_network(
        engine, project, [REPO / "docker" / "compose.yaml", override_file], env_file, resolved
    )
    assert "service_completed_successfully" in merged and "replicas: 2" in merged
    made = Stack(engine, project, resolved, f"http://127.0.0.1:{http}")
    try:
        yield made
    finally:
        logs = made.compose("logs", "--no-color", "--timestamps", check=False, timeout=120)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "compose.log").write_text(logs.stdout + logs.stderr)
        made.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", check=False)


def test_the_stack_turns_a_report_into_a_case_that_survives_a_restart(
    stack: Stack, engine: Engine, images: Images, english_report: Path
) -> None:
    # What `docker compose build` makes from the compose file is the image built above.
    built = _inspect(engine, images.hotline)["Id"]
    stack.compose("build", timeout=900)
    assert _inspect(engine, images.hotline)["Id"] == built

    stack.up()
    (hotline,) = stack.containers("hotline")
    workers = stack.containers("worker")
    assert len(workers) == 2  # HOTLINE_WORKERS
    (migrate,) = stack.compose("ps", "-q", "--all", "migrate").stdout.split()
    exited = stack.state(migrate)
    assert exited["Status"] == "exited" and exited["ExitCode"] == 0
    for container in (hotline, *workers):
        assert stack.uid_of_pid_1(container) == HOTLINE_UID
    logs = stack.compose("logs", "--no-color", "hotline").stdout
    assert re.search(r"created the administrator 'admin' with password \S{10,}", logs), logs[-3000:]

    made = stack.exec(
        "hotline", "hotline", "tokens", "create", "--role", "handler", "--name", "docker", "--json"
    )
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["token"]

    stack.engine.docker("cp", str(english_report), f"{hotline}:/tmp/report.wav")
    ingest = stack.exec(
        "hotline", "hotline", "ingest", "/tmp/report.wav",
        "--caller", "13800138000", "--wait", "--json",
        timeout=600,
    )  # fmt: skip
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    (entry,) = json.loads(ingest.stdout)
    number = entry["case"]["number"]
    sha = hashlib.sha256(english_report.read_bytes()).hexdigest()
    assert entry["case"]["recording"]["sha256"] == sha

    def the_case() -> dict[str, Any]:
        listed = _api(stack.http, "/api/cases?status=draft", token)["cases"]
        assert [c["number"] for c in listed] == [number]
        case = _api(stack.http, f"/api/cases/{number}", token)
        assert case["status"] == "draft"
        text = case["transcript"]["text"].lower()
        assert all(word in text for word in REPORT_WORDS), text
        status, audio = _http(f"{stack.http}/api/cases/{case['id']}/recording", token)
        assert status == 200 and hashlib.sha256(audio).hexdigest() == sha
        return case

    before = the_case()

    # Containers gone, volumes kept: what an upgrade does.
    stack.compose("down", "--timeout", "20")
    assert stack.containers("hotline") == []
    stack.up()
    assert the_case() == before
    logs = stack.compose("logs", "--no-color", "hotline").stdout
    assert "created the administrator" not in logs  # the users are in the database volume
    verify = stack.exec("hotline", "hotline", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "1 recordings re-hashed" in verify.stdout and "ok: all evidence intact" in verify.stdout
