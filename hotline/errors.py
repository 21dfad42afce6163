"""The error tree. Every error hotline raises on purpose is a ``HotlineError``.

    HotlineError
     ├── ConfigError          a setting is missing or malformed
 │    └── StartupError         a setting names what cannot be used: a port taken, a
 │                             directory not writable, a database that does not answer
     ├── InputError           a user's input (a file, an argument) cannot be used
     │    └── RecordingRejected   the file is not a usable recording
     ├── StorageError         the database or the evidence store failed
     │    ├── EvidenceError        write-once evidence store
     │    ├── NotMigrated          the database schema is older than the code
     │    └── NotFound             a row asked for by id does not exist
     ├── PBXError             the Asterisk link (AMI)
     │    ├── AMIProtocolError     a frame from Asterisk that cannot be parsed
     │    └── AMILoginError        Asterisk refused our credentials (not retried)
     ├── SIPError             the built-in SIP line
     │    ├── SIPProtocolError     a SIP message or SDP body that cannot be used
     │    └── RTPError             a datagram that is not a usable RTP packet
     ├── TranscriptionError   speech to text (wraps ``transcriber.TranscriptionError``)
     ├── DeliveryError        webhook delivery to the case system
     └── AccessError          sign-in, sessions, API tokens
          ├── LoginRefused         wrong user name or password, or a disabled account
          ├── CopyRefused          a copy request's step this person or state does not allow
          └── LoginThrottled       too many wrong passwords lately: wait, then try again

A user-facing message says what was wrong and what to do; the CLI prints it on one
line and exits 2 (bad input) or 1 (a failed check); it never shows a traceback.
"""

from __future__ import annotations


class HotlineError(Exception):
    """Root of every error hotline raises on purpose."""


class ConfigError(HotlineError):
    """A setting is missing or malformed; the message names the setting."""


class StartupError(ConfigError):
    """The service cannot start on what a setting names: its port is taken, its
    directory cannot be written, its database does not answer. The message names the
    setting; the CLI exits 2."""


class InputError(HotlineError):
    """Input from a user cannot be used (missing file, bad argument)."""


class RecordingRejected(InputError):
    """A file offered as a recording is not one we can seal (empty, truncated, not audio)."""


class StorageError(HotlineError):
    """The database or the evidence store failed."""


class EvidenceError(StorageError):
    """The write-once evidence store could not take or give a file."""


class NotMigrated(StorageError):
    """The database schema is older than this version of hotline."""


class NotFound(StorageError):
    """No row with the id asked for."""


class PBXError(HotlineError):
    """The link to the Asterisk PBX failed."""


class AMIProtocolError(PBXError):
    """Asterisk (or whatever answered) sent bytes that are not a valid AMI message."""


class AMILoginError(PBXError):
    """Asterisk refused the AMI credentials. Retrying will not help."""


class SIPError(HotlineError):
    """The built-in SIP line failed."""


class SIPProtocolError(SIPError):
    """A peer sent a SIP message (or SDP body) that cannot be parsed or used.

    ``status`` and ``reason`` are the response a user agent answers a request with
    (400 Bad Request unless a more precise 4xx/5xx applies).
    """

    def __init__(self, message: str, status: int = 400, reason: str = "Bad Request") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class RTPError(SIPError):
    """A datagram on a media port that is not a usable RTP packet."""


class TranscriptionError(HotlineError):
    """Speech to text failed for a recording."""


class DeliveryError(HotlineError):
    """A webhook could not be delivered to the case system."""


class AccessError(HotlineError):
    """Signing in or using a session or an API token failed."""


class LoginRefused(AccessError):
    """Wrong user name or password, or a disabled account (deliberately not told apart)."""


class CopyRefused(AccessError):
    """A step of a copy request that this person may not take, or not in its state
    (art. 17: approval by the head, never by the requester). ``status``: the HTTP
    answer it stands for (403 not this person, 409 not in this state)."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


class LoginThrottled(AccessError):
    """Too many wrong passwords for this user name or address lately."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
