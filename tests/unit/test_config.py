from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config import load_settings, unknown_variables
from hotline.errors import ConfigError


def test_defaults_match_the_contract() -> None:
    s = load_settings(environ={})
    assert s.http == "127.0.0.1:8080"
    assert s.sip == "127.0.0.1:5060"
    assert s.language == "zh"
    assert s.ami_url is None
    assert s.db_url.startswith("sqlite+aiosqlite:///")
    assert s.db_url.endswith("hotline-data/hotline.db")
    assert s.embedded_database
    assert s.base_url == "http://127.0.0.1:8080"


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "hotline.toml"
    cfg.write_text('http = "0.0.0.0:9000"\nlanguage = "en"\ncase_prefix = "TJ"\n')
    s = load_settings(cfg, environ={"HOTLINE_LANGUAGE": "auto"})
    assert s.http_port == 9000  # from the file
    assert s.language == "auto"  # the environment wins
    assert s.case_prefix == "TJ"


def test_config_file_from_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "x.toml"
    cfg.write_text('sip = "off"\n')
    assert load_settings(environ={"HOTLINE_CONFIG": str(cfg)}).sip == "off"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HOTLINE_HTTP": "localhost"}, "HOTLINE_HTTP: expected HOST:PORT, got 'localhost'"),
        ({"HOTLINE_HTTP": "127.0.0.1:99999"}, "HOTLINE_HTTP: expected HOST:PORT"),
        ({"HOTLINE_SIP": "nonsense"}, "HOTLINE_SIP: expected HOST:PORT"),
        ({"HOTLINE_DATABASE_URL": "mysql://x/y"}, "HOTLINE_DATABASE_URL: expected sqlite"),
        ({"HOTLINE_JOB_LEASE_SECONDS": "soon"}, "HOTLINE_JOB_LEASE_SECONDS: Input should be"),
        ({"HOTLINE_JOB_LEASE_SECONDS": "-1"}, "HOTLINE_JOB_LEASE_SECONDS: Input should be"),
        ({"HOTLINE_WEBHOOK_SECRET": "hunter2"}, "HOTLINE_WEBHOOK_SECRET: expected whsec_"),
        ({"HOTLINE_AMI_URL": "tcp://pbx"}, "HOTLINE_AMI_URL: expected ami://"),
        ({"HOTLINE_TIMEZONE": "Mars/Olympus"}, "HOTLINE_TIMEZONE: unknown time zone"),
        ({"HOTLINE_LANGUAGE": "mandarin!"}, "HOTLINE_LANGUAGE: expected a language code"),
        ({"HOTLINE_LANGUAGE": "zz"}, "HOTLINE_LANGUAGE: expected a language code Whisper"),
    ],
)
def test_a_bad_value_names_the_setting_on_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ=env)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_bad_file_values_name_the_file_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "hotline.toml"
    cfg.write_text('http = "nowhere"\n')
    with pytest.raises(ConfigError, match=r"hotline.toml: http: expected HOST:PORT"):
        load_settings(cfg, environ={})
    cfg.write_text('colour = "blue"\n')
    with pytest.raises(ConfigError, match=r"hotline.toml: colour: unknown setting"):
        load_settings(cfg, environ={})
    cfg.write_text("http = \n")
    with pytest.raises(ConfigError, match=r"hotline.toml"):
        load_settings(cfg, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_settings_are_frozen() -> None:
    s = load_settings(environ={})
    with pytest.raises(ValueError, match="frozen"):
        s.http = "0.0.0.0:1"  # type: ignore[misc]


def test_retention_per_category_and_the_longest() -> None:
    settings = load_settings(
        environ={
            "HOTLINE_RETENTION_YEARS": "30",
            "HOTLINE_RETENTION_CATEGORIES": "迟报=10，其他=50",
        }
    )
    assert settings.retention_years_for("迟报") == 10
    assert settings.retention_years_for("拒报") == 30
    assert settings.longest_retention_years == 50
    with pytest.raises(ConfigError, match="HOTLINE_RETENTION_CATEGORIES"):
        load_settings(environ={"HOTLINE_RETENTION_CATEGORIES": "迟报"})


def test_unknown_hotline_variables_are_named_with_a_suggestion() -> None:
    env = {
        "HOTLINE_LANGUGE": "en",
        "HOTLINE_LANGUAGE": "en",
        "HOTLINE_CONFIG": "hotline.toml",
        "HOTLINE_FROBNICATE": "1",
        "PATH": "/usr/bin",
    }
    assert unknown_variables(env) == [
        "HOTLINE_FROBNICATE is not a setting of this hotline and is ignored",
        "HOTLINE_LANGUGE is not a setting of this hotline and is ignored "
        "(did you mean HOTLINE_LANGUAGE?)",
    ]
    assert unknown_variables({"HOTLINE_DATA_DIR": "/srv", "HOTLINE_CONFIG": ""}) == []


def test_a_timestamp_authority_needs_its_certificate() -> None:
    assert load_settings(environ={}).checkpoint_interval_seconds == 600
    with pytest.raises(ConfigError, match="HOTLINE_TSA_CERT: HOTLINE_TSA_URL is set"):
        load_settings(environ={"HOTLINE_TSA_URL": "http://tsa.example/"})
    with pytest.raises(ConfigError, match="HOTLINE_TSA_URL: expected the timestamp"):
        load_settings(environ={"HOTLINE_TSA_URL": "tsa.example", "HOTLINE_TSA_CERT": "c.pem"})
    with pytest.raises(ConfigError, match="HOTLINE_CHECKPOINT_INTERVAL_SECONDS"):
        load_settings(environ={"HOTLINE_CHECKPOINT_INTERVAL_SECONDS": "-1"})
    ok = load_settings(
        environ={"HOTLINE_TSA_URL": "https://tsa.example/", "HOTLINE_TSA_CERT": "c.pem"}
    )
    assert ok.tsa_url == "https://tsa.example/" and str(ok.tsa_cert) == "c.pem"
