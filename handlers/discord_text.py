"""Event text made inert for Discord: escaped so nothing in it renders, then cut to a limit.

Event text is whatever a community member typed into the CAD (a caller's name, a call's
description), and Discord renders markdown in message content, embed titles, descriptions and
field names and values: a caller named `[Verify](https://evil.example/login)` would be a
clickable link, `||...||` a spoiler, `# ...` a heading, `<t:...>` a timestamp, `<#id>` a
channel link, `<@id>` a mention. So, in every piece of event text:

- a backslash goes before every ASCII punctuation character. Discord shows `\\*` as `*` (its
  "Markdown Text 101" help article: a backslash before markdown escapes it, the CommonMark
  rule that any ASCII punctuation may be backslash-escaped); escaping all of it, not a list of
  today's syntax, also covers lists (`-`, `*`, `1.`), subtext (`-#`), quotes, code, masked
  links and every `<...>` form, and whatever Discord adds with the same characters;
- `://` becomes `[:]//` first, the "defanged URL" convention of security reports, so an
  address in the text is shown but is neither linked nor previewed (escaping alone leaves
  `https://` looking like a link to a reader, and link detection is not documented).

Embed footers are not here: Discord shows them as plain text, so a backslash would show.

Lengths are counted after escaping (an escaped text can be twice as long), and a cut never
splits a backslash from the character it escapes.
"""

from __future__ import annotations

import re
import string

_PUNCTUATION = re.compile("[" + re.escape(string.punctuation) + "]")
# One shown character: an escape pair, or any single character.
_SHOWN = re.compile(r"\\.|.", re.DOTALL)
_ELLIPSIS = "…"


def escape_markdown(text: str) -> str:
    """`text` with nothing in it that Discord would render as markdown, a link or a mention."""
    return _PUNCTUATION.sub(r"\\\g<0>", text.replace("://", "[:]//"))


def units(*texts: str) -> int:
    """Length as Discord's limits count it, the stricter way: UTF-16 code units.

    Discord does not say how it counts; UTF-16 units are never fewer than code points, so a
    text cut by them fits whichever way Discord counts.
    """
    return sum(len(text.encode("utf-16-le", "surrogatepass")) // 2 for text in texts)


def cut(text: str, limit: int) -> str:
    """`text` if it fits, else its start and `…` within `limit` UTF-16 units.

    Works on escaped text: an escape pair is kept or dropped whole, so the cut never leaves a
    backslash that would escape the `…` (or nothing).
    """
    if units(text) <= limit:
        return text
    if limit <= 0:
        return ""
    kept: list[str] = []
    used = 0
    for shown in _SHOWN.findall(text):
        size = units(shown)
        if used + size > limit - units(_ELLIPSIS):
            break
        kept.append(shown)
        used += size
    return "".join(kept) + _ELLIPSIS
