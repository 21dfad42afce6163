"""A Docker engine of the tests' own, and a Debian base image made on this machine.

The machines that run the suite reach no image registry and must not get bridge networks
or iptables rules. So the tests start Debian's ``dockerd`` themselves: its socket, run
directory and pid file under a temporary directory, ``--bridge=none --iptables=false
--ip-masq=false``; containers and builds use the host's network. The stand-in for
``debian:bookworm-slim`` is made as the official image is: ``debootstrap --variant=minbase
bookworm``, then ``docker import``; the host's CA bundle is added under
``/usr/local/share/ca-certificates/`` so that ``apt`` and ``pip`` inside builds trust
what the host trusts.

What is slow to make is kept under ``~/.cache/hotline-tests/docker/``
(``$HOTLINE_TEST_CACHE``): the debootstrap tree as a tarball, keyed by what it is made
from, and the engine's data root, keyed by the engine's version, so that images and build
layers survive between runs and an unchanged build takes seconds. Only one engine at a
time may use a data root: a lock file serialises runs on one machine. Whatever the outcome,
``running_engine`` stops the engine, and with it every process and mount it made.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("HOTLINE_TEST_CACHE") or Path.home() / ".cache" / "hotline-tests")
DOCKER_CACHE = CACHE / "docker"
MIRROR = os.environ.get("HOTLINE_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
STANDIN_REVISION = "1"
"""Bumped when the way the stand-in base is made changes, so cached ones are remade."""

# Like debian:*-slim: no manuals, no documentation but the copyright files, no locales.
_SLIM_DPKG_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
"""


class Unavailable(Exception):
    """No Docker engine can run here: a program is missing, or the engine cannot start."""


@dataclass(frozen=True, slots=True)
class Tools:
    dockerd: str
    docker: str
    compose: str
    debootstrap: str


def find_tools() -> Tools:
    """The engine, its client, Debian's docker-compose and debootstrap, or ``Unavailable``."""
    if os.geteuid() != 0:
        raise Unavailable("dockerd and debootstrap need root")
    found = {name: shutil.which(name) for name in ("dockerd", "docker-compose", "debootstrap")}
    missing = [name for name, path in found.items() if path is None]
    docker = _client_beside(found["dockerd"]) if found["dockerd"] else shutil.which("docker")
    if docker is None:
        missing.append("docker")
    if missing:
        raise Unavailable(
            f"not installed: {', '.join(missing)} (scripts/system-deps.sh installs them)"
        )
    assert found["dockerd"] and found["docker-compose"] and found["debootstrap"] and docker
    return Tools(found["dockerd"], docker, found["docker-compose"], found["debootstrap"])


def _client_beside(dockerd: str) -> str | None:
    """The ``docker`` client of the engine's own package (``/usr/sbin/dockerd`` ->
    ``/usr/bin/docker``), before any other ``docker`` on the PATH."""
    here = Path(dockerd).resolve().parent
    for candidate in (here / "docker", here.parent / "bin" / "docker"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("docker")


def _version(program: str, *args: str) -> str:
    return subprocess.run(
        [program, *args], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()


@contextmanager
def _exclusive(lock_path: Path, wait: float, on_busy: Callable[[], None]) -> Iterator[int]:
    """Hold ``lock_path``; yield its descriptor (an engine inherits it, so the lock lasts
    as long as the engine, even when the test process is killed)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as fh:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                on_busy()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{lock_path} stayed locked for {wait:.0f} s") from None
                time.sleep(1.0)
        try:
            yield fh.fileno()
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


class Engine:
    """One ``dockerd``: ``docker`` and ``docker-compose`` commands against its socket."""

    def __init__(
        self, tools: Tools, data_root: Path, run_dir: Path, *, pid: int | None = None
    ) -> None:
        self.tools = tools
        self.data_root = data_root
        self.run_dir = run_dir
        self.exec_root = run_dir / "exec"
        self.socket = run_dir / "docker.sock"
        self.log = run_dir / "dockerd.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self.pid = pid
        """dockerd's process id (one of an earlier run's, to stop it)."""

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_"))}
        env["DOCKER_HOST"] = self.host
        # docker-compose runs `docker` for `exec`: the engine's own client, first.
        env["PATH"] = os.pathsep.join([str(Path(self.tools.docker).parent), env.get("PATH", "")])
        env.update(extra or {})
        return env

    def remove_leftovers(self) -> None:
        """Containers and volumes a killed run left in the cached data root: containers
        with a restart policy would otherwise come back with the engine."""
        ids = self.docker("ps", "--all", "--quiet").stdout.split()
        if ids:
            self.docker("rm", "--force", "--volumes", *ids, timeout=300)
        self.docker("volume", "prune", "--force")
        self.docker("network", "prune", "--force")

    def start(self, timeout: float = 90.0, keep_fds: Sequence[int] = ()) -> None:
        config = self.run_dir / "daemon.json"
        config.write_text("{}\n")  # nothing from /etc/docker/daemon.json
        self.data_root.mkdir(parents=True, exist_ok=True)
        args = [
            self.tools.dockerd,
            "--config-file", str(config),
            "--data-root", str(self.data_root),
            "--exec-root", str(self.exec_root),
            "--pidfile", str(self.run_dir / "dockerd.pid"),
            "--host", self.host,
            "--bridge=none",
            "--iptables=false",
            "--ip-masq=false",
            "--ip-forward=false",
            "--userland-proxy=false",
            # Apart from any containerd the machine runs for someone else.
            "--containerd-namespace", "hotline-tests",
            "--containerd-plugins-namespace", "hotline-tests-plugins",
            "--log-level", "warn",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                pass_fds=tuple(keep_fds),
            )
        self.pid = self._proc.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise Unavailable(f"dockerd exited {self._proc.returncode}: {self.log_tail()}")
            probe = self.docker("version", "--format", "{{.Server.Version}}", check=False)
            if probe.returncode == 0:
                return
            time.sleep(0.5)
        raise Unavailable(f"dockerd did not answer within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 60.0) -> None:
        """Stop dockerd; then end what it left behind (shims, containerd) and unmount."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=30)
        elif self._proc is None and self.pid is not None and _alive(self.pid):
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.5)
            if _alive(self.pid):
                os.kill(self.pid, signal.SIGKILL)
        for pid in self._leftover_processes():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for point in self._leftover_mounts():
            subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)

    def _leftover_processes(self) -> list[int]:
        """Processes started by this engine: their command lines name its run directory."""
        mine = str(self.run_dir).encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            if mine in _cmdline(int(entry.name)):
                found.append(int(entry.name))
        return found

    def _leftover_mounts(self) -> list[str]:
        roots = (str(self.data_root), str(self.run_dir))
        points = []
        for line in Path("/proc/self/mounts").read_text().splitlines():
            point = line.split(" ")[1].replace("\\040", " ")
            if any(point == root or point.startswith(root + "/") for root in roots):
                points.append(point)
        return sorted(points, key=lambda p: p.count("/"), reverse=True)

    def docker(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 120,
        input: bytes | None = None,
        nice: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        prefix = ["nice", "-n", "10"] if nice else []
        return _run([*prefix, self.tools.docker, *args], self.env(), check, timeout, input)

    def image_exists(self, ref: str) -> bool:
        return self.docker("image", "inspect", ref, check=False).returncode == 0

    def build(
        self,
        context: Path,
        tag: str,
        *,
        dockerfile: Path | None = None,
        build_args: Mapping[str, str] | None = None,
        target: str | None = None,
        timeout: float = 1500,
    ) -> subprocess.CompletedProcess[str]:
        args = ["build", "--network", "host", "--tag", tag]
        if dockerfile is not None:
            args += ["--file", str(dockerfile)]
        if target is not None:
            args += ["--target", target]
        for key, value in (build_args or {}).items():
            args += ["--build-arg", f"{key}={value}"]
        return self.docker(*args, str(context), timeout=timeout, nice=True)

    def compose(
        self,
        files: Sequence[Path],
        project: str,
        *args: str,
        env: Mapping[str, str] | None = None,
        env_file: Path | None = None,
        check: bool = True,
        timeout: float = 300,
        input: bytes | None = None,
    ) -> subprocess.CompletedProcess[str]:
        command = [self.tools.compose, "--ansi", "never", "--project-name", project]
        for f in files:
            command += ["--file", str(f)]
        if env_file is not None:
            command += ["--env-file", str(env_file)]
        return _run([*command, *args], self.env(env), check, timeout, input)


def _run(
    args: Sequence[str],
    env: Mapping[str, str],
    check: bool,
    timeout: float,
    input: bytes | None,
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        list(args), env=dict(env), capture_output=True, timeout=timeout, input=input, check=False
    )
    result = subprocess.CompletedProcess(
        done.args,
        done.returncode,
        done.stdout.decode(errors="replace"),
        done.stderr.decode(errors="replace"),
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"
        )
    return result


@contextmanager
def running_engine(tools: Tools, *, lock_wait: float = 1200.0) -> Iterator[Engine]:
    """Start an engine on the cached data root (one run at a time); always stop it."""
    version = _version(tools.dockerd, "--version")
    key = hashlib.sha256(version.encode()).hexdigest()[:12]
    data_root = DOCKER_CACHE / f"engine-{key}"
    state = DOCKER_CACHE / f"engine-{key}.json"
    with _exclusive(
        DOCKER_CACHE / f"engine-{key}.lock", lock_wait, lambda: _end_orphan(tools, state)
    ) as lock_fd:
        # Short: a unix socket's path must fit in 108 bytes.
        run_dir = Path(tempfile.mkdtemp(prefix="hl-dockerd-", dir="/tmp"))
        engine = Engine(tools, data_root, run_dir)
        try:
            try:
                engine.start(keep_fds=[lock_fd])
            except Unavailable:
                # A data root left broken by a killed run: start once more on a fresh one.
                engine.stop()
                shutil.rmtree(data_root, ignore_errors=True)
                engine.start(keep_fds=[lock_fd])
            state.write_text(
                json.dumps({"owner": os.getpid(), "dockerd": engine.pid, "run_dir": str(run_dir)})
            )
            engine.remove_leftovers()
            yield engine
        finally:
            engine.stop()
            state.unlink(missing_ok=True)
            shutil.rmtree(run_dir, ignore_errors=True)


def _end_orphan(tools: Tools, state: Path) -> None:
    """Stop the engine of a test process that is gone (killed): it holds the lock still."""
    try:
        recorded = json.loads(state.read_text())
        owner, pid, run_dir = int(recorded["owner"]), int(recorded["dockerd"]), recorded["run_dir"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    if _alive(owner) or str(run_dir).encode() not in _cmdline(pid):
        return  # a run in progress, or an engine that is not the recorded one
    data_root = state.with_suffix("")
    Engine(tools, data_root, Path(run_dir), pid=pid).stop()
    shutil.rmtree(run_dir, ignore_errors=True)
    state.unlink(missing_ok=True)


def standin_base_image(engine: Engine) -> str:
    """The stand-in for ``debian:bookworm-slim``, imported once per cache key."""
    ca = CA_BUNDLE.read_bytes() if CA_BUNDLE.is_file() else b""
    recipe = json.dumps(
        {
            "debootstrap": _version(engine.tools.debootstrap, "--version"),
            "suite": SUITE,
            "variant": "minbase",
            "mirror": MIRROR,
            "arch": _version("dpkg", "--print-architecture"),
            "ca": hashlib.sha256(ca).hexdigest(),
            "revision": STANDIN_REVISION,
        },
        sort_keys=True,
    )
    key = hashlib.sha256(recipe.encode()).hexdigest()[:16]
    tag = f"hotline-test/{SUITE}-slim:{key}"
    if engine.image_exists(tag):
        return tag
    tarball = DOCKER_CACHE / f"{SUITE}-minbase-{key}.tar"
    if not tarball.is_file():
        _debootstrap(engine.tools.debootstrap, tarball, ca)
        (DOCKER_CACHE / f"{SUITE}-minbase-{key}.json").write_text(recipe + "\n")
    with tarball.open("rb") as fh:
        imported = subprocess.run(
            [engine.tools.docker, "import", "--change", 'CMD ["bash"]', "-", tag],
            stdin=fh,
            env=engine.env(),
            capture_output=True,
            timeout=600,
            check=False,
        )
    if imported.returncode != 0:
        raise AssertionError(f"docker import failed: {imported.stderr.decode(errors='replace')}")
    return tag


def _debootstrap(debootstrap: str, tarball: Path, ca: bytes) -> None:
    tarball.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="debootstrap-", dir=tarball.parent))
    root = work / "root"
    try:
        made = subprocess.run(
            ["nice", "-n", "10", debootstrap, "--variant=minbase", SUITE, str(root), MIRROR],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        if made.returncode != 0:
            raise AssertionError(f"debootstrap failed:\n{made.stdout[-3000:]}{made.stderr[-3000:]}")
        (root / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True, exist_ok=True)
        (root / "etc/dpkg/dpkg.cfg.d/docker-slim").write_text(_SLIM_DPKG_EXCLUDES)
        if ca:
            certs = root / "usr/local/share/ca-certificates"
            certs.mkdir(parents=True, exist_ok=True)
            (certs / "host-ca-bundle.crt").write_bytes(ca)
        # The engine provides these to each container; the package caches stay out.
        for name in ("etc/resolv.conf", "etc/hostname"):
            (root / name).unlink(missing_ok=True)
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (root / cache).glob("*"):
                if item.is_file():
                    item.unlink()
        partial = tarball.with_suffix(".partial")
        subprocess.run(
            ["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-cf", str(partial), "."],
            check=True,
            capture_output=True,
            timeout=600,
        )
        partial.replace(tarball)
    finally:
        shutil.rmtree(work, ignore_errors=True)
