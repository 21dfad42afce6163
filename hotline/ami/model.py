"""What the call tracker remembers, and the commands it gives its I/O wrapper.

The tracker (``hotline.ami.tracker``) is pure: it never touches the network, the disk or
the clock. When it needs something done it returns a *command*:

* ``SendAction``: send this AMI action; report the answer back with its ``tag``;
* ``WatchFile``: wait until this recording file is closed, then report its size and
  header (or that it never appeared);
* ``ScanDirectory``: list the recordings directory and report the finished files.

Everything else it returns is a call fact from ``hotline.calls``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TypeAlias

from hotline.ami.config import DEFAULT_PBX_RECORDINGS, AMIConfig
from hotline.ami.message import Message
from hotline.ami.recordings import WavHeader
from hotline.calls import CallFact

__all__ = [
    "Command",
    "FileReport",
    "Output",
    "ScanDirectory",
    "SendAction",
    "TrackerConfig",
    "WatchFile",
]


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """The part of ``AMIConfig`` the tracker uses."""

    pbx_recordings_dir: PurePosixPath = DEFAULT_PBX_RECORDINGS
    recordings_dir: Path | None = None
    hotline_variable: str = "HOTLINE_CALL"
    hotline_value: str = "1"
    mixmonitor_grace: float = 3.0
    mixmonitor_legs: bool = True
    source: str = "asterisk"

    @classmethod
    def from_ami(cls, config: AMIConfig) -> TrackerConfig:
        return cls(
            pbx_recordings_dir=config.pbx_recordings_dir,
            recordings_dir=config.recordings_dir,
            hotline_variable=config.hotline_variable,
            hotline_value=config.hotline_value,
            mixmonitor_grace=config.mixmonitor_grace,
            mixmonitor_legs=config.mixmonitor_legs,
        )


@dataclass(frozen=True, slots=True)
class SendAction:
    tag: str
    action: Message


@dataclass(frozen=True, slots=True)
class WatchFile:
    key: str
    """The recording's path as the PBX names it (the tracker's key for it)."""
    path: Path
    """Where this process reads it."""


@dataclass(frozen=True, slots=True)
class ScanDirectory:
    """List the recordings directory and call ``Tracker.scan_result`` with what is there."""


Command: TypeAlias = SendAction | WatchFile | ScanDirectory
Output: TypeAlias = CallFact | Command


@dataclass(frozen=True, slots=True)
class FileReport:
    """What the wrapper found on disk for one recording file."""

    name: str
    """File name within the recordings directory."""
    path: Path
    size: int
    mtime: float
    header: WavHeader | None
    closed: bool
    """Header final and size stable (``False`` when the wait timed out first)."""

    @property
    def duration(self) -> float | None:
        return None if self.header is None else self.header.duration(self.size)


# -- the tracker's memory (mutable, private to the tracker) -----------------------------


@dataclass(slots=True, eq=False)
class Channel:
    uniqueid: str
    linkedid: str
    name: str
    caller: str
    caller_name: str
    exten: str
    created_at: float
    answered_at: float | None = None
    hotline: bool = False
    hanging_up: bool = False
    mixmon_file: str | None = None
    """Last ``MIXMONITOR_FILENAME`` set on the channel, not yet claimed by a recording."""
    leg_files: dict[str, str] | None = None
    """``HOTLINE_REC_CALLER``/``HOTLINE_REC_OPERATOR`` announced by the dialplan."""
    running: list[Group] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class File:
    key: str
    leg: str
    local: Path | None
    state: str = "running"
    """``running`` → ``watching`` (waiting for close) → ``done``."""


@dataclass(slots=True, eq=False)
class Group:
    """One recording session: a MixMonitor with its legs, or a Record() message."""

    channel: str
    origin: str
    """``dialplan``, ``hotline`` (our MixMonitor action), ``adopted`` (found running on
    reconnect), ``found`` (on disk, of a known call), ``orphan``, ``message``."""
    started_at: float | None
    stamp: datetime | None = None
    files: list[File] = field(default_factory=list)
    call: Call | None = None
    sequence: int = 0
    stopped_at: float | None = None
    stopped: bool = False
    late_reported: bool = False
    """The incident for a recording that began late has been raised."""


@dataclass(slots=True, eq=False)
class Call:
    call_id: str
    started_at: float
    caller: str = ""
    caller_name: str = ""
    callee: str = ""
    live: set[str] = field(default_factory=set)
    """Uniqueids of the hotline channels still up."""
    uids: set[str] = field(default_factory=set)
    """Uniqueids of every hotline channel the call had."""
    answered_at: float | None = None
    answer_estimated: bool = False
    ended_at: float | None = None
    ended_in_outage: bool = False
    groups: list[Group] = field(default_factory=list)
    guard_at: float | None = None
    guard_plan: tuple[str, dict[str, str]] | None = None
    """Files of the MixMonitor action in flight: (mix path, {leg: path})."""
    guard_count: int = 0
    unrecorded: bool = False
    """``call.unrecorded`` already raised."""
    check_unrecorded_after_scan: bool = False
    orphan: bool = False
    cdr_answer: datetime | None = None
    cdr_end: datetime | None = None
    cdr_billsec: int = 0
    cdr_disposition: str = ""
    dial_status: str = ""
    hangup_cause: str = ""

    def running_groups(self) -> list[Group]:
        return [g for g in self.groups if not g.stopped and g.origin != "message"]

    def has_recording(self) -> bool:
        return any(g.origin != "message" for g in self.groups)

    def pending_files(self) -> bool:
        return any(f.state != "done" for g in self.groups for f in g.files)
