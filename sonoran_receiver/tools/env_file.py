"""Read `.env` files the way other dotenv readers do, for every local command that needs them.

    python -m sonoran_receiver.tools.env_file .env .env.example   # `export NAME='value'` lines

The rules (those of python-dotenv, docker compose and the shells' `source`, where they agree):

- blank lines and lines starting with `#` are skipped; `export ` before a name is allowed;
- `NAME=value`, with spaces around the name and the `=` ignored;
- a value in single quotes is taken as written; in double quotes, `\\"`, `\\\\`, `\\n` and
  `\\t` are unescaped; either way the quotes are not part of the value, and a ` #` comment
  may follow the closing quote;
- an unquoted value ends at ` #` (a comment) and loses its surrounding spaces.

A line that is none of these (no `=`, a name that is not an identifier, an unclosed quote) is
refused with its file and line number and never its text, which may hold a key: a value
read wrong would fail in a way that says nothing (every request `401`, for a key kept with
its quotes).

`environment(files, base)` merges: `base` (the shell's own variables) wins, then the files in
order. The command prints the result for `eval` in a shell, for what a Makefile target
starts; `make run` (`sonoran_receiver.tools.run_local`) calls the functions directly.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

_LINE: Final = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*")
_DOUBLE_ESCAPES: Final = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


class EnvFileError(ValueError):
    """A line no dotenv reader would read the same way; the text names file and line only."""


def read_env_file(path: Path) -> dict[str, str]:
    """The file's variables, in order; EnvFileError for a line that cannot be read."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        matched = _LINE.fullmatch(line)
        if matched is None:
            raise EnvFileError(f"{path}, line {number}: not NAME=value (the line is not shown)")
        name, raw = matched.groups()
        try:
            values[name] = _value(raw)
        except ValueError as problem:
            raise EnvFileError(f"{path}, line {number} ({name}): {problem}") from None
    return values


def environment(files: Iterable[Path], base: Mapping[str, str]) -> dict[str, str]:
    """`base` with every variable of `files` it lacks; the first file to set one wins."""
    merged = dict(base)
    for path in files:
        if path.is_file():
            for name, value in read_env_file(path).items():
                merged.setdefault(name, value)
    return merged


def _value(raw: str) -> str:
    if raw[:1] == "'":
        end = raw.find("'", 1)
        if end == -1:
            raise ValueError("the single quote is not closed")
        _only_comment_after(raw[end + 1 :])
        return raw[1:end]
    if raw[:1] == '"':
        return _double_quoted(raw)
    # An unquoted value ends where a comment starts: a # after a space.
    return re.split(r"\s+#", raw, maxsplit=1)[0].strip()


def _double_quoted(raw: str) -> str:
    value: list[str] = []
    index = 1
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw) and raw[index + 1] in _DOUBLE_ESCAPES:
            value.append(_DOUBLE_ESCAPES[raw[index + 1]])
            index += 2
            continue
        if char == '"':
            _only_comment_after(raw[index + 1 :])
            return "".join(value)
        value.append(char)
        index += 1
    raise ValueError("the double quote is not closed")


def _only_comment_after(rest: str) -> None:
    rest = rest.strip()
    if rest and not rest.startswith("#"):
        raise ValueError("text after the closing quote")


def main(argv: Sequence[str] | None = None) -> int:
    files = [Path(name) for name in (sys.argv[1:] if argv is None else argv)]
    try:
        merged = environment(files, {})
    except EnvFileError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    for name, value in merged.items():
        if name not in os.environ:
            print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
