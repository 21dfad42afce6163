"""Mutation run over the pure cores: each module with its own unit tests, one at a time.

    .venv/bin/python scripts/mutation.py            # every module below
    .venv/bin/python scripts/mutation.py g711 jobs  # some of them

For each module, mutmut (3.x) mutates that one file, runs the listed tests against each
mutant (only the tests that reach the mutated function), and the counts go to
``mutation-report/<name>.txt`` with the surviving mutants' diffs. The configuration
lives in a ``setup.cfg`` written for the run and removed after it; mutmut's working
copy (``mutants/``) is wiped before each module (the last one stays, to look into).
Slow by nature: run it under ``nice``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = [sys.executable, "-m", "mutmut"]
PYTEST = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]

# name -> (the file to mutate, the unit tests that are meant to protect it)
MODULES: dict[str, tuple[str, list[str]]] = {
    "chain": ("hotline/evidence/chain.py", ["tests/unit/test_chain.py"]),
    # The queue's schedule and the throttle live on the database: their integration
    # tests, on SQLite only.
    "jobs": ("hotline/jobs.py", ["tests/integration/core/test_jobs.py", "-k", "sqlite"]),
    "throttle": (
        "hotline/auth/users.py",
        ["tests/integration/core/test_login_throttle.py", "-k", "sqlite"],
    ),
    "dispatch": ("hotline/webhooks/dispatch.py", ["tests/unit/test_links.py"]),
    "links": ("hotline/webhooks/links.py", ["tests/unit/test_links.py"]),
    "ami_protocol": (
        "hotline/ami/protocol.py",
        ["tests/unit/ami/test_protocol.py", "tests/unit/ami/test_protocol_edges.py"],
    ),
    "sip_message": (
        "hotline/sip/message.py",
        ["tests/unit/sip/test_message.py", "tests/unit/sip/test_message_edges.py"],
    ),
    "g711": ("transcriber/g711.py", ["tests/unit/rtp/test_rtp.py", "tests/unit/test_g711.py"]),
    "rtp_g711": ("hotline/rtp/g711.py", ["tests/unit/rtp/test_rtp.py", "tests/unit/test_g711.py"]),
    "guards": ("transcriber/guards.py", ["tests/unit/transcriber/test_guards.py"]),
}

SETUP_CFG = """\
[mutmut]
source_paths =
    hotline
    transcriber
only_mutate =
    {target}
pytest_add_cli_args =
    -q
    -p
    no:cacheprovider
    -p
    no:randomly
pytest_add_cli_args_test_selection =
{tests}
timeout_constant = 2
"""

# Where only part of a module is the pure core: the mutants to run (fnmatch patterns on
# mutmut's names, ``module.xǁClassǁmethod__mutmut_N``); the rest are left unchecked.
ONLY: dict[str, list[str]] = {
    "jobs": ["hotline.jobs.xǁJobQueueǁfail__mutmut_*"],
    "throttle": ["hotline.auth.users.x_authenticate__mutmut_*"],
    "dispatch": ["hotline.webhooks.dispatch.x_event_body__mutmut_*"],
    "links": ["hotline.webhooks.links.xǁLinkSignerǁ*"],
}

# Modules that build tables from their own functions at import time: each mutant needs a
# fresh interpreter that imports the module with the mutant active (slower per mutant).
FRESH_IMPORT = {"g711", "rtp_g711"}


def run(name: str) -> str:
    target, listed = MODULES[name]
    # Test files not written yet drop out (a run on an older tree); options stay.
    tests = [t for t in listed if not t.startswith("tests/") or (ROOT / t).exists()]
    cfg = ROOT / "setup.cfg"
    if cfg.exists():
        raise SystemExit("setup.cfg exists: the run writes its own and would overwrite it")
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    cfg.write_text(
        SETUP_CFG.format(
            target=target,
            tests="\n".join(f"    {t}" for t in tests),
        ),
        encoding="utf-8",
    )
    try:
        subprocess.run(
            [*MUTMUT, "run", "--max-children", "1", *ONLY.get(name, [])], cwd=ROOT, check=False
        )
        verdicts: dict[str, list[str]] = {}
        for line in _mutmut("results", "--all", "true").splitlines():
            mutant, sep, verdict = line.strip().rpartition(": ")
            if sep and "__mutmut_" in mutant and verdict != "not checked":
                verdicts.setdefault(verdict, []).append(mutant)
        if name in FRESH_IMPORT:
            verdicts = _recheck_fresh(verdicts, tests)
        diffs = [_mutmut("show", mutant) for mutant in verdicts.get("survived", [])]
    finally:
        cfg.unlink()
    total = sum(len(v) for v in verdicts.values())
    summary = f"{name} ({target}): {total} mutants, " + ", ".join(
        f"{len(v)} {k}" for k, v in sorted(verdicts.items())
    )
    out = ROOT / "mutation-report" / f"{name}.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(summary + "\n\n" + "\n".join(diffs), encoding="utf-8")
    return summary


def _recheck_fresh(verdicts: dict[str, list[str]], tests: list[str]) -> dict[str, list[str]]:
    """mutmut forks its workers from a process that imported the module with the
    original code, so a mutant in a function the module calls at import time (a table
    it builds) looks like a survivor. Run each such mutant in a new interpreter."""
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")  # plain tests: no plugins
    rechecked: dict[str, list[str]] = {}
    for verdict, mutants in verdicts.items():
        for mutant in mutants:
            if verdict in ("survived", "timeout"):
                try:
                    done = subprocess.run(
                        [*PYTEST, *tests],
                        cwd=ROOT / "mutants",
                        env=env | {"MUTANT_UNDER_TEST": mutant},
                        capture_output=True,
                        timeout=300,
                        check=False,
                    )
                    verdict = "survived" if done.returncode == 0 else "killed"
                except subprocess.TimeoutExpired:
                    verdict = "timeout"
            rechecked.setdefault(verdict, []).append(mutant)
    return rechecked


def _mutmut(*args: str) -> str:
    done = subprocess.run([*MUTMUT, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def main() -> None:
    names = sys.argv[1:] or list(MODULES)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        raise SystemExit(f"unknown module {unknown}: one of {', '.join(MODULES)}")
    summaries = [run(name) for name in names]
    print("\n".join(summaries))


if __name__ == "__main__":
    main()
