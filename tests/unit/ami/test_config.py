"""``AMIConfig.from_url``: what HOTLINE_AMI_URL accepts and how it says no."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from hotline.ami.config import AMIConfig
from hotline.errors import ConfigError


def test_from_url() -> None:
    config = AMIConfig.from_url(
        "ami://hotline:hotline-secret@127.0.0.1:5038", recordings_dir="/mnt/rec"
    )
    assert (config.host, config.port, config.username, config.secret) == (
        "127.0.0.1",
        5038,
        "hotline",
        "hotline-secret",
    )
    assert not config.tls and config.auth == "plain"
    assert config.recordings_dir == Path("/mnt/rec")
    # HOTLINE_ASTERISK_RECORDINGS_PBX_PATH unset: the PBX names it as this host does.
    assert config.pbx_recordings_dir == PurePosixPath("/mnt/rec")
    assert "secret" not in repr(config)


def test_the_pbx_path_defaults_to_the_local_one_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = AMIConfig.from_url("ami://a:b@h", recordings_dir="monitor")
    assert relative.pbx_recordings_dir == PurePosixPath(tmp_path / "monitor")
    given = AMIConfig.from_url(
        "ami://a:b@h", recordings_dir="/mnt/rec", pbx_recordings_dir="/var/spool/asterisk/monitor"
    )
    assert given.pbx_recordings_dir == PurePosixPath("/var/spool/asterisk/monitor")
    # Without pick-up, hotline's own MixMonitor writes where Asterisk writes by default.
    bare = AMIConfig.from_url("ami://a:b@h")
    assert bare.pbx_recordings_dir == PurePosixPath("/var/spool/asterisk/monitor")


def test_from_url_options() -> None:
    config = AMIConfig.from_url(
        "amis://us%40er:p%3Ass%40@pbx.example?auth=md5",
        pbx_recordings_dir="/srv/rec",
        mixmonitor_grace=1.5,
    )
    assert config.tls and config.auth == "md5" and config.port == 5038
    assert (config.username, config.secret) == ("us@er", "p:ss@")
    assert config.pbx_recordings_dir == PurePosixPath("/srv/rec")
    assert config.mixmonitor_grace == 1.5


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://a:b@host", "scheme"),
        ("ami://host:5038", "user and secret"),
        ("ami://a:b@host:99999", "valid URL"),
        ("ami://a:b@:5038", "host"),
        ("ami://a:b@host/path", "no path"),
        ("ami://a:b@host?auth=sha", "md5"),
        ("ami://a:b@host?x=1", "unknown"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        AMIConfig.from_url(url)


def test_bad_settings() -> None:
    with pytest.raises(ConfigError, match="absolute"):
        AMIConfig.from_url("ami://a:b@h", pbx_recordings_dir="relative")
    with pytest.raises(ConfigError, match="reconnect"):
        AMIConfig.from_url("ami://a:b@h", reconnect_min=5.0, reconnect_max=1.0)
    with pytest.raises(ConfigError, match="finite"):
        AMIConfig.from_url("ami://a:b@h", action_timeout=float("nan"))
    with pytest.raises(ConfigError, match="no_such_setting"):
        AMIConfig.from_url("ami://a:b@h", no_such_setting=1)
