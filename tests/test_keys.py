"""API keys: several for rotation, a file re-read on change, constant-time comparison."""

from __future__ import annotations

import hmac
import os
from pathlib import Path

import pytest

from sonoran_receiver.keys import KeyRing


def test_comparison_is_case_insensitive() -> None:
    assert KeyRing(["abcDEF-123"]).matches("ABCdef-123")


def test_non_ascii_candidate_is_a_mismatch_not_an_error() -> None:
    assert not KeyRing(["abc"]).matches("äbc\u0000\U0001f600")


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
    key_file = tmp_path / "keys"
    key_file.write_text("old-key\n")
    ring = KeyRing((), key_file)
    assert ring.matches("old-key")
    key_file.write_text("old-key\nnew-key\n")
    os.utime(key_file, ns=(1, 2_000_000_000_000_000_000))
    assert ring.matches("new-key")
    key_file.write_text("new-key\n")
    os.utime(key_file, ns=(1, 3_000_000_000_000_000_000))
    assert not ring.matches("old-key")


def test_env_keys_and_file_keys_both_match(tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text("from-file")
    ring = KeyRing(["from-env"], key_file)
    assert ring.matches("from-file")
    assert ring.matches("from-env")


def test_unreadable_key_file_keeps_the_keys_loaded_before(tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text("kept-key")
    ring = KeyRing((), key_file)
    key_file.unlink()
    assert ring.matches("kept-key")
