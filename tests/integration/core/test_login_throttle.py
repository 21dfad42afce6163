"""The login throttle: per user name, per address (four times as many), over the last
15 minutes, on both databases. Time is the rows' own: a failure recorded at a given
moment, not a clock moved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete
from sqlmodel import col

from hotline.auth import users
from hotline.errors import LoginRefused, LoginThrottled
from hotline.service import Hotline
from hotline.store.accounts import LoginFailure
from hotline.store.types import utcnow

PASSWORD = "a long enough secret"
LIMIT = 2


async def _wrong(core: Hotline, name: str, ip: str) -> None:
    with pytest.raises(LoginRefused):
        await users.authenticate(core.db, name, "not the password", ip=ip, limit=LIMIT)


async def _sign_in(core: Hotline, name: str, ip: str) -> str:
    user = await users.authenticate(core.db, name, PASSWORD, ip=ip, limit=LIMIT)
    return user.username


async def test_an_address_pauses_after_four_times_the_limit_whatever_the_names(
    core: Hotline,
) -> None:
    await users.add_user(core.db, "clerk", "operator", actor="test", password=PASSWORD)
    desk, other = "10.0.0.7", "10.0.0.8"
    # A shared front desk mistypes for seven different people: one failure per name, so
    # no name pauses, and the address is one short of 4 × 2.
    for n in range(4 * LIMIT - 1):
        await _wrong(core, f"person{n}", desk)
    assert await _sign_in(core, "clerk", desk) == "clerk"
    await _wrong(core, "person-last", desk)
    # The eighth: the address pauses, for every name; another address does not.
    with pytest.raises(LoginThrottled) as throttled:
        await users.authenticate(core.db, "clerk", PASSWORD, ip=desk, limit=LIMIT)
    assert throttled.value.retry_after == 15 * 60
    assert await _sign_in(core, "clerk", other) == "clerk"


async def test_a_name_pauses_after_the_limit_from_any_address(core: Hotline) -> None:
    await users.add_user(core.db, "clerk", "operator", actor="test", password=PASSWORD)
    await _wrong(core, "clerk", "10.0.0.1")
    assert await _sign_in(core, "clerk", "10.0.0.3") == "clerk"
    await _wrong(core, "clerk", "10.0.0.2")
    with pytest.raises(LoginThrottled):
        await users.authenticate(core.db, "clerk", PASSWORD, ip="10.0.0.3", limit=LIMIT)


@pytest.mark.parametrize(
    ("age", "paused"),
    [(timedelta(minutes=14, seconds=50), True), (timedelta(minutes=15, seconds=10), False)],
)
async def test_failures_count_for_fifteen_minutes(
    core: Hotline, age: timedelta, paused: bool
) -> None:
    await users.add_user(core.db, "clerk", "operator", actor="test", password=PASSWORD)
    at = utcnow() - age
    async with core.db.session() as s:
        await s.exec(delete(LoginFailure))
        s.add_all(
            [LoginFailure(username="clerk", ip=f"10.0.1.{n}", at=at) for n in range(LIMIT)]
            + [LoginFailure(username=f"p{n}", ip="10.0.2.1", at=at) for n in range(4 * LIMIT)]
        )
    if paused:
        for ip in ("10.0.9.9", "10.0.2.1"):  # by the name, then by the address
            with pytest.raises(LoginThrottled):
                await users.authenticate(core.db, "clerk", PASSWORD, ip=ip, limit=LIMIT)
            async with core.db.session() as s:
                await s.exec(delete(LoginFailure).where(col(LoginFailure.username) == "clerk"))
    else:
        assert await _sign_in(core, "clerk", "10.0.2.1") == "clerk"


async def test_guesses_sent_all_at_once_get_no_further_than_the_limit(core: Hotline) -> None:
    """Ten wrong passwords at once: each is written down before its (slow) check and
    counted with the others after, so only the limit's worth are checked at all."""
    import asyncio

    await users.add_user(core.db, "target", "operator", actor="test", password=PASSWORD)

    async def guess(n: int) -> str:
        try:
            await users.authenticate(core.db, "target", f"guess {n}", ip="10.0.0.9", limit=LIMIT)
        except LoginThrottled:
            return "throttled"
        except LoginRefused:
            return "refused"
        return "signed in"

    outcomes = await asyncio.gather(*(guess(n) for n in range(10)))
    assert outcomes.count("refused") <= LIMIT, outcomes
    assert outcomes.count("throttled") >= 10 - LIMIT
    # A success leaves no failure behind.
    await users.add_user(core.db, "other", "operator", actor="test", password=PASSWORD)
    assert await _sign_in(core, "other", "10.0.0.10") == "other"
    async with core.db.session() as s:
        from sqlmodel import func, select

        left = (
            await s.exec(
                select(func.count())
                .select_from(LoginFailure)
                .where(col(LoginFailure.username) == "other")
            )
        ).one()
    assert left == 0
