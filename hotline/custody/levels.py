"""Confidentiality levels of a case (art. 18) and what each one decides.

- ``normal``: nothing beyond the usual masking of the caller and the reporter.
- ``personal`` (个人隐私): the default for every report, since the reporter is to be
  protected; copies for a party are redacted unless a full copy is approved with a reason.
- ``commercial`` (商业秘密): the reported entity's trade secrets are in it; a copy for a
  party can only be a redacted one.
- ``state`` (国家秘密): visible only to the head and the handlers the head assigns; no
  copy can be approved for a party.
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    NORMAL = "normal"
    PERSONAL = "personal"
    COMMERCIAL = "commercial"
    STATE = "state"


DEFAULT = Level.PERSONAL
LEVELS: tuple[str, ...] = tuple(level.value for level in Level)


def level_of(value: str) -> Level:
    """The level a stored value names; anything unknown is treated as ``personal``."""
    try:
        return Level(value)
    except ValueError:
        return DEFAULT


def restricted(value: str) -> bool:
    """Whether only the head and the assigned handlers may see a case of this level."""
    return level_of(value) is Level.STATE


def visible(value: str, *, reads_all: bool, assigned: bool) -> bool:
    """May someone see a case of this level? ``reads_all``: the head's permission;
    ``assigned``: the head named them for this case."""
    return not restricted(value) or reads_all or assigned


def copy_blockers(value: str, *, full: bool) -> list[str]:
    """Why a copy of a case at this level cannot be approved (empty: it can be)."""
    level = level_of(value)
    if level is Level.STATE:
        return ["the case holds state secrets (level state): no copy goes to a party"]
    if level is Level.COMMERCIAL and full:
        return ["the case holds trade secrets (level commercial): only a redacted copy"]
    return []
