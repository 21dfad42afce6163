"""Field checks, masking, transcript differences, roles and the metrics format."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hotline.auth.roles import ROLE_PERMISSIONS, Permission, Principal, Role
from hotline.casework import CaseUpdate, audit_details, credit_code_ok
from hotline.corrections import diff, join_texts
from hotline.web.metrics import family
from hotline.web.present import mask_name


def test_unified_social_credit_codes() -> None:
    assert credit_code_ok("91350100M000100Y43")
    assert credit_code_ok("91110000600037341L")
    assert not credit_code_ok("91350100M000100Y44")  # wrong check character
    assert not credit_code_ok("91350100M000100Y4")  # too short
    assert not credit_code_ok("9135010OM000100Y43")  # O is not in the alphabet
    assert CaseUpdate(entity_credit_code="91350100m000100y43").entity_credit_code == (
        "91350100M000100Y43"
    )
    with pytest.raises(ValidationError):
        CaseUpdate(entity_credit_code="91350100M000100Y44")
    with pytest.raises(ValidationError):
        CaseUpdate.model_validate({"operator": "me"})  # not editable


def test_audit_details_keep_personal_data_out() -> None:
    details = audit_details(
        {"reporter_name": "张三", "category": "refusal", "description": "在某地发生"}
    )
    assert details == {
        "fields": ["category", "description", "reporter_name"],
        "values": {"category": "refusal"},
    }


def test_names_are_masked_to_their_first_character() -> None:
    assert mask_name("张三丰") == "张**" and mask_name("") == "" and mask_name("Li") == "L*"


def test_a_diff_shows_what_changed_in_each_segment() -> None:
    old = {"segments": [{"start": 0, "end": 1, "text": "虚报产值", "speaker": "caller"}] * 2}
    new = {
        "segments": [
            {"start": 0, "end": 1, "text": "虚报产值", "speaker": "caller"},
            {"start": 0, "end": 1, "text": "虚报工业产值", "speaker": "operator"},
        ]
    }
    (changed,) = diff(old, new)
    assert changed["index"] == 1 and changed["speaker_after"] == "operator"
    assert changed["ops"] == [["equal", "虚报"], ["insert", "工业"], ["equal", "产值"]]
    assert join_texts(["你好，", "请讲。", "Thank you", "ok"]) == "你好，请讲。 Thank you ok"


def test_roles() -> None:
    # Separation of duties: the admin keeps the installation, not the evidence.
    admin = ROLE_PERMISSIONS[Role.ADMIN]
    assert Permission.ACCOUNTS_MANAGE in admin
    for content in (Permission.CONTENT_READ, Permission.CALLER_UNMASK, Permission.INTAKE_WRITE):
        assert content not in admin
    assert Permission.CASES_READ_ALL in ROLE_PERMISSIONS[Role.HEAD]
    assert Permission.COPIES_APPROVE not in ROLE_PERMISSIONS[Role.SUPERVISOR]
    both = Principal(
        kind="user", id=1, name="a", role=Role.ADMIN, extra_roles=frozenset({Role.HEAD})
    )
    assert both.can(Permission.ACCOUNTS_MANAGE) and both.can(Permission.COPIES_APPROVE)
    assert both.permissions == admin | ROLE_PERMISSIONS[Role.HEAD]
    assert Permission.CONTENT_READ not in ROLE_PERMISSIONS[Role.AUDITOR]
    assert Permission.CONTENT_READ not in ROLE_PERMISSIONS[Role.OPERATOR]
    assert Permission.LIVE_CALLER not in ROLE_PERMISSIONS[Role.SUPERVISOR]


def test_prometheus_text() -> None:
    text = family("x_total", "counter", "Things.", [({"kind": 'a"b'}, 2), ({}, 1.5)])
    assert (
        text
        == '# HELP x_total Things.\n# TYPE x_total counter\nx_total{kind="a\\"b"} 2\nx_total 1.5\n'
    )
