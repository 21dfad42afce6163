"""SIPConfig, HOTLINE_SIP parsing and the recording notice: bad settings say what to fix."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from hotline.errors import ConfigError
from hotline.sip.config import SIPConfig, default_notice, load_notice, parse_listen


def test_parse_listen() -> None:
    assert parse_listen("127.0.0.1:5060") == ("127.0.0.1", 5060)
    assert parse_listen("0.0.0.0") == ("0.0.0.0", 5060)
    assert parse_listen("[::1]:5070") == ("::1", 5070)
    assert parse_listen("off") is None
    with pytest.raises(ConfigError, match="HOTLINE_SIP"):
        parse_listen("localhost:http")


def test_config_checks_its_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HOTLINE_SIP_TRANSPORTS"):
        SIPConfig(recordings_dir=tmp_path, transports=("sctp",))
    with pytest.raises(ConfigError, match="HOTLINE_SIP_CODECS"):
        SIPConfig(recordings_dir=tmp_path, codecs=("G729",))
    with pytest.raises(ConfigError, match="HOTLINE_SIP_REGISTRAR"):
        SIPConfig(recordings_dir=tmp_path, registrar="http://pbx")
    assert (
        SIPConfig(recordings_dir=tmp_path, registrar="pbx.example.org:5080").registrar_uri().port
        == 5080
    )
    with pytest.raises(ConfigError, match="HOTLINE_SIP_RTP_PORTS"):
        SIPConfig(recordings_dir=tmp_path, rtp_port_range=(20000, 10000))
    with pytest.raises(ConfigError, match="HOTLINE_SIP_OPERATOR"):
        SIPConfig(recordings_dir=tmp_path, operator="http://desk")
    with pytest.raises(ConfigError, match="HOTLINE_SIP_OPERATOR"):
        SIPConfig(recordings_dir=tmp_path, operator="sip:desk@")
    desk = SIPConfig(recordings_dir=tmp_path, operator="desk1@10.0.0.5:5070;transport=tcp")
    uri = desk.operator_uri()
    assert (uri.user, uri.host, uri.port, uri.params) == (
        "desk1",
        "10.0.0.5",
        5070,
        {"transport": "tcp"},
    )


def test_shipped_notices_load() -> None:
    assert SIPConfig(recordings_dir=Path(".")).notice_path == default_notice("zh")
    for language in ("zh", "en"):
        notice = load_notice(default_notice(language))
        assert 3 < notice.seconds < 15 and len(notice.samples) % 160 == 0


def test_unusable_notices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_notice(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"not a wav")
    with pytest.raises(ConfigError, match="not a readable WAV"):
        load_notice(tmp_path / "junk.wav")
    with wave.open(str(tmp_path / "cd.wav"), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(44100)
        wav.writeframes(b"\0" * 4000)
    with pytest.raises(ConfigError, match="8000 Hz mono 16-bit"):
        load_notice(tmp_path / "cd.wav")
