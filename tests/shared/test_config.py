"""Configuration: read once at start, validated, a bad value refused with one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sonoran_receiver.config import EVENT_TARGET, WORKER_TARGET, ConfigError, load_settings
from sonoran_receiver.runtime import start
from tests.support.app import ROOT, TEST_KEY


def refusal(environ: dict[str, str]) -> str:
    with pytest.raises(SystemExit) as refused:
        start(environ)
    return str(refused.value.code)


def test_http_function_refuses_to_start_without_a_key() -> None:
    line = refusal({"FUNCTION_TARGET": EVENT_TARGET})
    assert line.startswith("configuration error: SONORAN_API_KEYS:")
    assert "\n" not in line


def test_worker_starts_without_a_key() -> None:
    settings = load_settings({}, WORKER_TARGET)
    assert settings.api_keys == ()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SONORAN_MAX_BODY_BYTES", "lots"),
        ("SONORAN_MAX_BODY_BYTES", "0"),
        ("SONORAN_STRICT_TYPES", "maybe"),
        ("PUBSUB_PUBLISH_TIMEOUT_S", "-1"),
        ("SONORAN_EVENT_PATH", "no-leading-slash"),
        ("SONORAN_ROUTES", "EVENT_911=teleport"),
        ("SONORAN_ROUTES", "EVENT_NOPE=publish"),
        ("SONORAN_ROUTES", "EVENT_911"),
        ("SONORAN_ROUTES", "EVENT_911=drop+publish"),
        ("SONORAN_HANDLERS", "EVENT_NOPE=log"),
        ("SONORAN_HANDLERS", "*=no_such_handler"),
        ("PUBSUB_TOPIC", "a b"),
        ("DISCORD_WEBHOOK_URL", "not a url"),
        ("FORWARD_SECRET", "plain-secret"),
    ],
)
def test_bad_value_refuses_the_start_with_one_line_naming_it(variable: str, value: str) -> None:
    line = refusal({"SONORAN_API_KEYS": TEST_KEY, variable: value})
    assert line.startswith(f"configuration error: {variable}:")
    assert "\n" not in line


def test_bare_topic_id_needs_a_project() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"SONORAN_API_KEYS": TEST_KEY, "PUBSUB_TOPIC": "cad-events"}, EVENT_TARGET)
    assert refused.value.variable == "GOOGLE_CLOUD_PROJECT"


def test_topic_id_with_project_and_full_path_name_the_same_topic() -> None:
    by_id = load_settings(
        {"SONORAN_API_KEYS": "k", "PUBSUB_TOPIC": "cad-events", "GOOGLE_CLOUD_PROJECT": "my-proj"},
        EVENT_TARGET,
    )
    by_path = load_settings(
        {"SONORAN_API_KEYS": "k", "PUBSUB_TOPIC": "projects/my-proj/topics/cad-events"},
        EVENT_TARGET,
    )
    assert by_id.topic_path == by_path.topic_path == "projects/my-proj/topics/cad-events"


def test_handler_without_its_configuration_refuses_the_start() -> None:
    line = refusal({"SONORAN_API_KEYS": TEST_KEY, "SONORAN_HANDLERS": "*=discord"})
    assert line.startswith("configuration error: DISCORD_WEBHOOK_URL:")


def test_empty_variables_mean_unset() -> None:
    settings = load_settings(
        {"SONORAN_API_KEYS": "k", "PUBSUB_TOPIC": "", "SONORAN_MAX_BODY_BYTES": " "}, EVENT_TARGET
    )
    assert settings.pubsub_topic is None
    assert settings.max_body_bytes == 1_048_576


def test_defaults_are_the_contracts() -> None:
    settings = load_settings({"SONORAN_API_KEYS": "k"}, EVENT_TARGET)
    assert settings.event_path == "/sonorancad/event"
    assert settings.routes.lookup("EVENT_911") == ("publish",)
    assert settings.routes.lookup("GET_LOGS") == ("drop",)
    assert settings.routes.lookup("UNKNOWN") == ("publish",)
    assert settings.handlers.lookup("EVENT_911") == ("log",)
    assert settings.strict_types is False
    assert settings.max_body_bytes == 1_048_576
    assert settings.publish_timeout_s == 10
    assert settings.topic_path is None


def test_key_file_that_cannot_be_read_refuses_the_start(tmp_path: Path) -> None:
    line = refusal({"SONORAN_API_KEYS_FILE": str(tmp_path / "missing")})
    assert line.startswith("configuration error: SONORAN_API_KEYS_FILE:")


def test_empty_key_file_refuses_the_start(tmp_path: Path) -> None:
    empty = tmp_path / "keys"
    empty.write_text("\n  \n")
    line = refusal({"SONORAN_API_KEYS_FILE": str(empty)})
    assert line.startswith("configuration error: SONORAN_API_KEYS_FILE:")


def test_refused_start_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    """As functions-framework imports main.py: one stderr line, a non-zero exit."""
    env = {"PATH": "/usr/bin:/bin", "FUNCTION_TARGET": EVENT_TARGET, "SONORAN_MAX_BODY_BYTES": "x"}
    result = subprocess.run(
        [sys.executable, "-c", "import main"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "configuration error: SONORAN_MAX_BODY_BYTES: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]
    assert "Traceback" not in result.stderr


def test_body_limit_above_what_pubsub_takes_refuses_the_start() -> None:
    line = refusal(
        {
            "SONORAN_API_KEYS": TEST_KEY,
            "PUBSUB_TOPIC": "projects/my-proj/topics/cad-events",
            "SONORAN_MAX_BODY_BYTES": str(20 * 1024 * 1024),
        }
    )
    assert line.startswith("configuration error: SONORAN_MAX_BODY_BYTES:")
