"""`.env` is read as every other dotenv reader reads it, or refused with a line that says where.

`SONORAN_API_KEYS="my-key"` kept its quotes before, and every request was a `401` with no
hint. The reader is `sonoran_receiver.tools.env_file`, shared by the local commands.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sonoran_receiver.tools.env_file import EnvFileError, environment, read_env_file
from tests.support.app import ROOT


def read(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return read_env_file(path)


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ('SONORAN_API_KEYS="my-key"', "my-key"),
        ("SONORAN_API_KEYS='my-key'", "my-key"),
        ("SONORAN_API_KEYS=my-key", "my-key"),
        ("export SONORAN_API_KEYS=my-key", "my-key"),
        ('export SONORAN_API_KEYS="my-key"  # the dev key', "my-key"),
        ("SONORAN_API_KEYS = my-key   # spaces around, a comment after", "my-key"),
        ("SONORAN_API_KEYS=a#b", "a#b"),  # a # inside a value is not a comment
        ("SONORAN_API_KEYS='a # b'", "a # b"),
        ('SONORAN_API_KEYS="a \\"quoted\\" key"', 'a "quoted" key'),
        ("SONORAN_API_KEYS='no \\n escapes'", "no \\n escapes"),
        ("SONORAN_API_KEYS=", ""),
        ('SONORAN_API_KEYS=""', ""),
    ],
)
def test_values_are_read_as_dotenv_readers_read_them(tmp_path: Path, line: str, value: str) -> None:
    assert read(tmp_path, f"# a comment\n\n{line}\n") == {"SONORAN_API_KEYS": value}


@pytest.mark.parametrize(
    "line",
    [
        "SONORAN_API_KEYS",
        "1NAME=value",
        'SONORAN_API_KEYS="unclosed-secret',
        "SONORAN_API_KEYS='unclosed-secret",
        'SONORAN_API_KEYS="secret" trailing',
    ],
)
def test_a_line_no_reader_reads_the_same_is_refused_with_where_and_never_its_text(
    tmp_path: Path, line: str
) -> None:
    with pytest.raises(EnvFileError) as refused:
        read(tmp_path, f"PORT_OK=1\n{line}\n")
    assert "line 2" in str(refused.value)
    assert "secret" not in str(refused.value)


def test_the_shell_wins_then_the_first_file(tmp_path: Path) -> None:
    first = tmp_path / ".env"
    first.write_text("A=from-env\nB=from-env\n", encoding="utf-8")
    second = tmp_path / ".env.example"
    second.write_text("A=example\nB=example\nC=example\n", encoding="utf-8")
    merged = environment([first, second, tmp_path / "missing"], {"A": "shell"})
    assert merged == {"A": "shell", "B": "from-env", "C": "example"}


def test_the_command_prints_export_lines_a_shell_reads_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text('ODD="it\'s \\"quoted\\" $HOME"\nPLAIN=x\n', encoding="utf-8")
    shell = subprocess.run(
        [
            "bash",
            "-c",
            f'eval "$("{sys.executable}" -m sonoran_receiver.tools.env_file "{path}")" && '
            'printf "%s|%s" "$ODD" "$PLAIN"',
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "PLAIN": "from-shell"},
    )
    assert shell.stdout == 'it\'s "quoted" $HOME|from-shell'


def test_env_example_reads_as_the_receiver_expects() -> None:
    values = read_env_file(ROOT / ".env.example")
    assert values["SONORAN_API_KEYS"] == "dev-key-change-me"
    assert values["SONORAN_ROUTES"] == "*=publish,GET_LOGS=drop"
