"""The copy request's state machine without a database: every step from every state,
four eyes, the levels that forbid a copy, people only."""

from __future__ import annotations

import pytest

from hotline.auth.roles import Principal, Role
from hotline.custody.requests import TRANSITIONS, CopyState, RequestFacts, Step, next_state
from hotline.errors import CopyRefused


def person(name: str, role: Role, *extra: Role) -> Principal:
    return Principal(kind="user", id=1, name=name, role=role, extra_roles=frozenset(extra))


HEAD = person("boss", Role.HEAD)
HANDLER = person("li", Role.HANDLER)


def facts(state: CopyState, *, by: str = "li", level: str = "personal", full: bool = False):
    return RequestFacts(state=state, requested_by=by, level=level, full=full)


def test_the_happy_path_and_every_step_outside_the_table_is_refused() -> None:
    assert next_state(facts(CopyState.REQUESTED), Step.APPROVE, HEAD) is CopyState.APPROVED
    assert next_state(facts(CopyState.APPROVED), Step.ISSUE, HANDLER) is CopyState.ISSUED
    assert next_state(facts(CopyState.ISSUED), Step.DOWNLOAD, HANDLER) is CopyState.ISSUED
    assert next_state(facts(CopyState.ISSUED), Step.REVOKE, HEAD) is CopyState.REVOKED
    assert next_state(facts(CopyState.REQUESTED), Step.REFUSE, HEAD) is CopyState.REFUSED
    both = person("all", Role.HEAD)  # holds both permissions
    for state in CopyState:
        for step in Step:
            if (state, step) in TRANSITIONS:
                continue
            with pytest.raises(CopyRefused) as refused:
                next_state(facts(state), step, both)
            assert refused.value.status == 409 and state.value in str(refused.value)


def test_an_unapproved_request_cannot_be_issued() -> None:
    with pytest.raises(CopyRefused, match="requested cannot be issued"):
        next_state(facts(CopyState.REQUESTED), Step.ISSUE, HANDLER)
    with pytest.raises(CopyRefused, match="refused cannot be issued"):
        next_state(facts(CopyState.REFUSED), Step.ISSUE, HANDLER)
    with pytest.raises(CopyRefused, match="revoked cannot be downloaded"):
        next_state(facts(CopyState.REVOKED), Step.DOWNLOAD, HANDLER)


def test_four_eyes_whatever_roles_the_requester_holds() -> None:
    with pytest.raises(CopyRefused, match="may not approve"):
        next_state(facts(CopyState.REQUESTED), Step.APPROVE, HANDLER)
    handler_and_head = person("li", Role.HANDLER, Role.HEAD)
    for step in (Step.APPROVE, Step.REFUSE):
        with pytest.raises(CopyRefused, match="four eyes") as refused:
            next_state(facts(CopyState.REQUESTED), step, handler_and_head)
        assert refused.value.status == 403
    # Someone else who is a head may.
    assert next_state(facts(CopyState.REQUESTED, by="wang"), Step.APPROVE, handler_and_head)


def test_levels_that_forbid_a_copy_and_tokens() -> None:
    with pytest.raises(CopyRefused, match="state secrets"):
        next_state(facts(CopyState.REQUESTED, level="state"), Step.APPROVE, HEAD)
    # Refusing is always possible; approval of a full copy of trade secrets is not.
    assert next_state(facts(CopyState.REQUESTED, level="state"), Step.REFUSE, HEAD)
    with pytest.raises(CopyRefused, match="only a redacted copy"):
        next_state(facts(CopyState.REQUESTED, level="commercial", full=True), Step.APPROVE, HEAD)
    assert next_state(facts(CopyState.REQUESTED, level="commercial"), Step.APPROVE, HEAD)
    # A case raised to state after approval cannot be issued any more.
    with pytest.raises(CopyRefused, match="state secrets"):
        next_state(facts(CopyState.APPROVED, level="state"), Step.ISSUE, HANDLER)
    token = Principal(kind="token", id=3, name="case system", role=Role.HEAD)
    with pytest.raises(CopyRefused, match="not an API token"):
        next_state(facts(CopyState.REQUESTED), Step.APPROVE, token)
