"""``dialplan/``: the files parse as Asterisk configuration, and the hotline context
records before it plays the notice (checked against the lab dialplan, which does not)."""

from __future__ import annotations

import re
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.fixtures import ASTERISK_CONFIG

DIALPLAN = Path(__file__).resolve().parents[3] / "dialplan"

# Applications and functions of Asterisk 20/22 the files may use (a typo is an error).
APPS = {
    "Answer", "ExecIf", "Gosub", "Goto", "GotoIf", "Hangup", "MixMonitor", "NoOp",
    "Playback", "Queue", "Record", "Return", "Set", "StopMixMonitor", "UserEvent", "Dial",
    "Wait",
}  # fmt: skip
FUNCTIONS = {"CALLERID", "CDR", "CHANNEL", "STRFTIME", "IF"}


@dataclass(frozen=True)
class Step:
    context: str
    exten: str
    priority: int
    label: str
    app: str
    args: str
    line: int


def sections(path: Path) -> list[tuple[str, list[tuple[int, str, str, str]]]]:
    """``[(section, [(line, key, operator, value)])]``; raises on a malformed line."""
    result: list[tuple[str, list[tuple[int, str, str, str]]]] = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = re.sub(r"(?<!\\);.*", "", raw).strip()
        if not line or line.startswith("#include"):
            continue
        header = re.fullmatch(r"\[([A-Za-z0-9_.-]+)\](\(.*\))?", line)
        if header:
            result.append((header[1], []))
            continue
        pair = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(=>|=)\s*(.*)", line)
        assert pair, f"{path.name}:{number}: not 'key = value': {raw!r}"
        assert result, f"{path.name}:{number}: setting outside a section"
        result[-1][1].append((number, pair[1], pair[2], pair[3]))
    return result


def balanced(text: str) -> bool:
    depth = {"(": 0, "{": 0, "[": 0}
    closing = {")": "(", "}": "{", "]": "["}
    for char in text:
        if char in depth:
            depth[char] += 1
        elif char in closing:
            depth[closing[char]] -= 1
            if depth[closing[char]] < 0:
                return False
    return not any(depth.values())


def dialplan(path: Path) -> list[Step]:
    steps: list[Step] = []
    for context, items in sections(path):
        if context in ("general", "globals"):
            continue
        exten, priority = "", 0
        for number, key, operator, value in items:
            where = f"{path.name}:{number}"
            assert key in ("exten", "same") and operator == "=>", where
            if key == "exten":
                exten, _, value = value.partition(",")
                priority = 0
            prio, _, app = value.partition(",")
            match = re.fullmatch(r"(\d+|n)(?:\(([A-Za-z0-9_]+)\))?", prio.strip())
            assert match, f"{where}: bad priority {prio!r}"
            if match[1] == "n":
                assert priority > 0, f"{where}: 'n' before priority 1"
                priority += 1
            else:
                assert int(match[1]) == priority + 1, f"{where}: priority {match[1]} out of order"
                priority = int(match[1])
            call = re.fullmatch(r"([A-Za-z]+)\((.*)\)", app.strip())
            assert call, f"{where}: not App(args): {app!r}"
            assert call[1] in APPS, f"{where}: unknown application {call[1]}"
            assert balanced(call[2]), f"{where}: unbalanced brackets in {call[2]!r}"
            for function in re.findall(r"\$\{([A-Z_]+)\(", call[2]):
                assert function in FUNCTIONS, f"{where}: unknown function {function}"
            steps.append(Step(context, exten, priority, match[2] or "", call[1], call[2], number))
    for step in steps:  # every Goto/GotoIf label exists in its extension
        for target in (
            re.findall(r"[?:]([A-Za-z_][A-Za-z0-9_]*)\)?$", step.args)
            if step.app == "GotoIf"
            else ()
        ):
            labels = {s.label for s in steps if (s.context, s.exten) == (step.context, step.exten)}
            assert target in labels, f"{path.name}:{step.line}: no label {target!r}"
    return steps


def hotline_steps(path: Path) -> list[Step]:
    steps = dialplan(path)
    setting = next(s for s in steps if s.app == "Set" and s.args == "HOTLINE_CALL=1")
    return [s for s in steps if (s.context, s.exten) == (setting.context, setting.exten)]


def first(steps: list[Step], app: str, args: str = "") -> Step:
    return next(s for s in steps if s.app == app and args in s.args)


def records_before_notice(path: Path) -> bool:
    steps = hotline_steps(path)
    notice = first(steps, "Playback", "hotline-recording-notice")
    return first(steps, "MixMonitor").priority < notice.priority


def test_the_shipped_dialplan_parses_and_records_before_the_notice() -> None:
    path = DIALPLAN / "extensions_hotline.conf"
    steps = hotline_steps(path)
    assert records_before_notice(path)
    mark, answer, monitor = (
        first(steps, "Set", "HOTLINE_CALL=1"),
        first(steps, "Answer"),
        first(steps, "MixMonitor"),
    )
    assert mark.priority < answer.priority < monitor.priority
    for leg in ("HOTLINE_REC_CALLER", "HOTLINE_REC_OPERATOR"):
        assert first(steps, "Set", f"{leg}=").priority < monitor.priority
    assert (
        "r(${HOTLINE_REC_CALLER})" in monitor.args and "t(${HOTLINE_REC_OPERATOR})" in monitor.args
    )
    assert first(steps, "Queue").priority > first(steps, "Playback", "notice-en").priority
    record = first(steps, "Record")
    assert first(steps, "Set", "HOTLINE_MESSAGE=").priority < record.priority
    names = [s.args for s in steps if s.app == "Set" and s.args.startswith("HOTLINE_REC")]
    assert all("hotline-${HOTLINE_STAMP}-${UNIQUEID}" in name for name in names)


def test_the_lab_dialplan_fails_the_same_check() -> None:
    """The captured lab dialplan plays the notice first: the check must see it."""
    assert not records_before_notice(ASTERISK_CONFIG / "extensions.conf")


def test_the_notice_prompts_exist_in_telephone_format() -> None:
    text = (DIALPLAN / "extensions_hotline.conf").read_text()
    for prompt in sorted(set(re.findall(r"custom/(hotline-recording-notice-\w+)", text))):
        with wave.open(str(DIALPLAN / "sounds" / f"{prompt}.wav")) as audio:
            assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (
                8000,
                1,
                2,
            )
            assert audio.getnframes() / 8000 > 3


def test_the_manager_user_is_least_privilege() -> None:
    ((name, items),) = sections(DIALPLAN / "manager_hotline.conf")
    settings = {key: value for _, key, _, value in items}
    assert name == "hotline"
    read = set(settings["read"].split(","))
    write = set(settings["write"].split(","))
    assert read == {"system", "call", "dialplan", "user", "cdr"}
    assert write == {"system", "call", "reporting"}  # system: the MixMonitor action
    assert "all" not in read | write and "command" not in write and "originate" not in write
    assert settings["deny"] == "0.0.0.0/0.0.0.0" and settings["permit"]
    assert settings["secret"].startswith("CHANGE-ME")


def test_the_queue_parses() -> None:
    ((name, items),) = sections(DIALPLAN / "queues_hotline.conf")
    assert name == "hotline-operators"
    keys = [key for _, key, _, _ in items]
    assert "member" in keys and "joinempty" in keys


def test_the_queue_serves_waiting_callers_at_once() -> None:
    """On Asterisk 22, 20 callers waiting: without autofill 7 reached an operator;
    autofill with ringall still answered them one after another; with rrmemory, all."""
    ((_, items),) = sections(DIALPLAN / "queues_hotline.conf")
    settings = {key: value for _, key, _, value in items if key != "member"}
    assert settings["autofill"] == "yes" and settings["ringinuse"] == "no"
    assert settings["strategy"] == "rrmemory"
    readme = (DIALPLAN / "README.md").read_text()
    assert "autofill = yes" in readme and "rrmemory" in readme


def test_the_install_steps_fill_silence_and_name_the_asterisk_user() -> None:
    readme = (DIALPLAN / "README.md").read_text()
    assert "transmit_silence = yes" in readme
    assert "Transmit silence during rec" in readme  # how to check it
    assert "User name and group" in readme  # whom `install -o` must name


@pytest.mark.parametrize(
    "name", ["extensions_hotline.conf", "queues_hotline.conf", "manager_hotline.conf"]
)
def test_the_readme_installs_every_file(name: str) -> None:
    readme = (DIALPLAN / "README.md").read_text()
    assert f"#include {name}" in readme
