"""API keys: several for rotation, a file re-read on change and on a timer, constant-time
comparison, ASCII-only case folding (docs/reference/contract.md "Step 5: key")."""

from __future__ import annotations

import hmac
import json
import os
import time
from pathlib import Path

import pytest

from sonoran_receiver.config import EVENT_TARGET, load_settings
from sonoran_receiver.keys import KeyRing

UNREADABLE = "api key file unreadable, keeping the keys loaded before"
NO_KEY = "api key file holds no key, keeping the keys loaded before"
# Bounds on polling, not claims about speed.
POLL_LIMIT_S = 10.0


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def messages(lines: list[dict[str, object]]) -> list[object]:
    return [line["message"] for line in lines]


def key_file_holding(tmp_path: Path, text: str) -> Path:
    key_file = tmp_path / "keys"
    key_file.write_text(text)
    return key_file


def error_line(lines: list[dict[str, object]], message: str) -> dict[str, object]:
    """The one line of `message`, which must be an error."""
    [error] = [line for line in lines if line["message"] == message]
    assert error["severity"] == "ERROR"
    return error


def replace(key_file: Path, text: str | bytes, step: int) -> None:
    """Write a new version with an mtime of its own (file systems may keep a coarse mtime)."""
    if isinstance(text, bytes):
        key_file.write_bytes(text)
    else:
        key_file.write_text(text)
    os.utime(key_file, ns=(1, (2_000_000_000 + step) * 1_000_000_000))


def test_comparison_is_case_insensitive() -> None:
    assert KeyRing(["abcDEF-123"]).matches("ABCdef-123")


@pytest.mark.parametrize(
    ("key", "candidate"),
    [("straße", "STRASSE"), ("STRASSE", "straße"), ("\u0131d", "ID"), ("\ufb01le", "FILE")],
    ids=["sharp-s-to-ss", "ss-to-sharp-s", "dotless-i", "fi-ligature"],
)
def test_case_folding_is_for_ascii_letters_only(key: str, candidate: str) -> None:
    assert not KeyRing([key]).matches(candidate)


def test_non_ascii_letters_still_match_themselves_next_to_folded_ascii() -> None:
    assert KeyRing(["straße-key"]).matches("STRAßE-KEY")


@pytest.mark.parametrize("candidate", ["äbc\u0000\U0001f600", "abc\ud800"])
def test_non_ascii_candidate_is_a_mismatch_not_an_error(candidate: str) -> None:
    assert not KeyRing(["abc"]).matches(candidate)


def test_every_key_is_compared_whatever_matched(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[bytes] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    ring = KeyRing(["first", "second", "third"])
    assert ring.matches("first")
    assert len(compared) == 3


def test_key_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    key_file = key_file_holding(tmp_path, "old-key\n")
    ring = KeyRing((), key_file)
    assert ring.matches("old-key")
    replace(key_file, "old-key\nnew-key\n", 1)
    assert ring.matches("new-key")
    replace(key_file, "new-key\n", 2)
    assert not ring.matches("old-key")


def test_key_file_is_reread_on_a_timer_when_mtime_and_size_stay_the_same(tmp_path: Path) -> None:
    # A new secret version of the same length may show with the same mtime.
    key_file = key_file_holding(tmp_path, "key-aaaa\n")
    period_s = 1.0
    ring = KeyRing((), key_file, reload_period_s=period_s)
    before = key_file.stat()
    key_file.write_text("key-bbbb\n")
    os.utime(key_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (key_file.stat().st_mtime_ns, key_file.stat().st_size) == (
        before.st_mtime_ns,
        before.st_size,
    )
    started = time.monotonic()
    while not ring.matches("key-bbbb"):
        assert time.monotonic() - started < POLL_LIMIT_S
        time.sleep(0.05)
    # Not before the period: within it, the unchanged stamp is trusted.
    assert time.monotonic() - started >= period_s * 0.5
    assert not ring.matches("key-aaaa")


def test_env_keys_and_file_keys_both_match(tmp_path: Path) -> None:
    key_file = key_file_holding(tmp_path, "from-file")
    ring = KeyRing(["from-env"], key_file)
    assert ring.matches("from-file")
    assert ring.matches("from-env")


def test_byte_order_mark_at_the_start_of_the_key_file_is_dropped(tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_bytes("\ufeffkey-one\r\nkey-two\r\n".encode())
    ring = KeyRing((), key_file)
    assert ring.matches("key-one")
    assert ring.matches("key-two")


def test_byte_order_mark_at_the_start_of_a_key_in_sonoran_api_keys_is_dropped() -> None:
    settings = load_settings({"SONORAN_API_KEYS": "\ufeffkey-one,\ufeff key-two"}, EVENT_TARGET)
    ring = KeyRing(settings.api_keys)
    assert ring.matches("key-one")
    assert ring.matches("key-two")


def test_unreadable_key_file_keeps_the_keys_loaded_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = key_file_holding(tmp_path, "kept-key")
    ring = KeyRing((), key_file)
    key_file.unlink()
    assert ring.matches("kept-key")
    lines = log_lines(capsys)
    assert error_line(lines, UNREADABLE)["error"] == "FileNotFoundError"
    assert "kept-key" not in json.dumps(lines).lower()


def test_key_file_that_is_not_utf8_keeps_the_keys_loaded_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = key_file_holding(tmp_path, "kept-key")
    ring = KeyRing((), key_file)
    replace(key_file, b"\xff\xfenew-key", 1)
    assert ring.matches("kept-key")
    assert not ring.matches("new-key")
    assert UNREADABLE in messages(log_lines(capsys))


def test_empty_new_key_file_keeps_the_keys_loaded_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = key_file_holding(tmp_path, "kept-key")
    ring = KeyRing((), key_file)
    replace(key_file, "\n \n", 1)
    assert ring.matches("kept-key")
    lines = log_lines(capsys)
    assert error_line(lines, NO_KEY)["keys_kept"] == 1
    assert "kept-key" not in json.dumps(lines).lower()


def test_bad_key_file_is_reported_again_each_period_until_fixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = key_file_holding(tmp_path, "kept-key")
    report_period_s = 1.0
    # Re-read on every request, so only the report period paces the lines.
    ring = KeyRing((), key_file, reload_period_s=0.0, report_period_s=report_period_s)
    replace(key_file, "", 1)
    for _ in range(20):
        assert ring.matches("kept-key")
    assert messages(log_lines(capsys)).count(NO_KEY) == 1
    time.sleep(report_period_s * 1.1)
    for _ in range(20):
        assert ring.matches("kept-key")
    assert messages(log_lines(capsys)).count(NO_KEY) == 1
    replace(key_file, "new-key", 2)
    assert ring.matches("new-key")
    assert not ring.matches("kept-key")
    assert messages(log_lines(capsys)) == ["api keys loaded from file"]
