"""The AMI simulator answers as the captured Asterisk did at the same moment."""

from __future__ import annotations

from hotline.ami.message import Message
from tests.support.ami_captures import action_results, client_actions, events
from tests.support.ami_simulator_state import PBXState


def state_at(name: str, t: float) -> PBXState:
    state = PBXState()
    for when, message in events(name, end=t):
        state.apply(message, when)
    return state


def parse(data: bytes) -> list[Message]:
    return [Message.parse(f) for f in data.split(b"\r\n\r\n") if f]


IGNORED = {"Seconds", "Duration", "DNID", "EffectiveConnectedLineNum", "EffectiveConnectedLineName"}


def comparable(message: Message) -> list[tuple[str, str]]:
    return [(k, v) for k, v in message.headers if k not in IGNORED]


def test_status_and_coreshowchannels_match_the_capture() -> None:
    for name in ("answered-call", "answered-call-stopmixmonitor"):
        state = state_at(name, 9.64)
        captured = action_results(name)
        actions = {a.action_id: a for a in client_actions(name)}
        for lab in ("lab-003", "lab-004"):
            kind = (actions[lab].action_name or "").lower()
            reply = parse(state.list_reply(kind, actions[lab], lab, 9.65))
            expected = [captured[lab].response, *captured[lab].events]
            assert [comparable(m) for m in reply] == [comparable(m) for m in expected]
        caller = [m for m in parse(state.list_reply("status", actions["lab-004"], "x", 9.65))][2]
        assert caller["Seconds"] == "8"


def test_getvar_matches_the_capture() -> None:
    state = state_at("answered-call", 9.64)
    captured = action_results("answered-call")
    for action in client_actions("answered-call"):
        if action.action_name == "Getvar":
            lab = action.action_id or ""
            assert parse(state.getvar_reply(action, lab)) == [captured[lab].response]


def test_empty_pbx_matches_the_actions_capture() -> None:
    state = PBXState()
    captured = action_results("actions")
    for lab, kind in (("lab-007", "coreshowchannels"), ("lab-008", "status")):
        action = Message.action(kind)
        reply = parse(state.list_reply(kind, action, lab, 0.0))
        assert reply == [captured[lab].response, *captured[lab].events]
