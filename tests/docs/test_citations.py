"""The repository explains itself: every cited heading of its docs exists, and nothing points
outside it (docs/reference/README.md).

Code, tests, the Makefile and `deploy/` cite a page by path and quoted heading, for example
`docs/reference/contract.md "Quarantine"`, possibly followed by more headings of the same page
(`"The published message", "Logs"`). Each failure names the file and line of the offender.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from tests.support.app import ROOT

TEXT_SUFFIXES = frozenset({".py", ".sh", ".tf", ".md", ".json", ".yaml", ".yml", ".toml"})
TEXT_NAMES = frozenset({"Makefile"})

# A path under docs/, then the first quoted heading; a comment marker may open the next line.
CITATION = re.compile(r'\bdocs/([\w./-]+\.md)(?:\s+#)?\s+"([^"\n]+)"')
# Further headings of the same citation: `, "Logs"`, across a line break too.
MORE_HEADINGS = re.compile(r'\s*,(?:\s+#)?\s+"([^"\n]+)"')
# A quoted heading cut by a line break would escape the check: it is reported instead.
SPLIT_HEADING = re.compile(r'\bdocs/[\w./-]+\.md(?:\s+#)?\s+"[^"\n]*\n')

# Documents the repository does not hold, and internal issue numbers. Written so that this
# file does not match itself (each needs a character class or an escape to).
OUTSIDE = re.compile(
    r"\.\./shared"
    r"|CONTRACT\.md"
    r"|push-events-[c]atalogue"
    r"|[a]nchors\.md"
    r"|[a]nchors (?:[A-Z][0-9]|§)"
    r"|[Cc]atalogue"
    r"|\([Ii]ssue [0-9]+"
    r"|\b[Ii]ssues? [0-9]+"
    r"|[Cc]ontract,? \""
    r"|[Ss]tyle habits? [0-9]+"
)


def tracked_files() -> list[Path]:
    """Every tracked file (what a fresh clone holds), `.git` aside."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return sorted(path for name in listed.split("\0") if name and (path := ROOT / name).is_file())


def is_citing(path: Path) -> bool:
    """The kinds of file that cite the reference: code, scripts, Terraform, docs, data."""
    return path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def citations(text: str) -> Iterator[tuple[int, str, str]]:
    """(line, page, heading) for every heading cited in `text`."""
    for found in CITATION.finditer(text):
        page, heading, end = found.group(1), found.group(2), found.end()
        yield line_of(text, found.start()), page, heading
        while more := MORE_HEADINGS.match(text, end):
            yield line_of(text, more.start(1)), page, more.group(1)
            end = more.end()


@cache
def headings(page: Path) -> frozenset[str]:
    """A page's headings, leading `#`s and spaces stripped; fenced code is not a heading."""
    prose = "".join(page.read_text(encoding="utf-8").split("```")[0::2])
    return frozenset(
        line.lstrip("#").strip() for line in prose.splitlines() if re.match(r"#{1,6} ", line)
    )


def broken_citations(where: str, text: str) -> list[str]:
    """`file:line: problem` for each citation of a missing page or heading."""
    broken = [
        f"{where}:{line_of(text, found.start())}: a cited heading is cut by a line break"
        for found in SPLIT_HEADING.finditer(text)
    ]
    for line, page, heading in citations(text):
        cited = ROOT / "docs" / page
        if not cited.is_file():
            broken.append(f"{where}:{line}: docs/{page} does not exist")
        elif heading not in headings(cited):
            broken.append(f'{where}:{line}: docs/{page} has no heading "{heading}"')
    return broken


def outside_references(where: str, text: str) -> list[str]:
    """`file:line: match` for each reference outside the repository or to an issue."""
    return [
        f"{where}:{line_of(text, found.start())}: {found.group()!r}"
        for found in OUTSIDE.finditer(text)
    ]


def texts(paths: list[Path]) -> Iterator[tuple[str, str]]:
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not text: nothing in it is read as a reference
        yield path.relative_to(ROOT).as_posix(), text


def test_every_cited_heading_exists_in_the_cited_page() -> None:
    citing = [path for path in tracked_files() if is_citing(path)]
    assert [
        problem for where, text in texts(citing) for problem in broken_citations(where, text)
    ] == []


def test_no_file_points_outside_the_repository_or_at_an_issue_number() -> None:
    assert [
        problem
        for where, text in texts(tracked_files())
        for problem in outside_references(where, text)
    ] == []


def test_a_citation_of_a_missing_heading_or_page_is_reported_with_its_line() -> None:
    # Built from pieces, so that this file does not cite them itself.
    missing_page = "docs/reference/none" + '.md "Quarantine"'
    cut_heading = "docs/reference/contract.md" + ' "The published\n# message"'
    text = (
        '# (docs/reference/contract.md\n# "Quarantine"); docs/reference/contract.md "Logs",\n'
        '# "No such heading"\n'
        f"# {missing_page}\n"
        f"# {cut_heading}\n"
    )
    assert broken_citations("sample.py", text) == [
        "sample.py:5: a cited heading is cut by a line break",
        'sample.py:3: docs/reference/contract.md has no heading "No such heading"',
        "sample.py:4: docs/reference/none.md does not exist",
    ]


def test_outside_references_are_reported_with_their_line() -> None:
    text = "fine\nsee the " + "cata" + "logue 3.20\nand (issue" + " 3) and ../" + "shared/x\n"
    assert outside_references("sample.md", text) == [
        "sample.md:2: " + repr("cata" + "logue"),
        "sample.md:3: " + repr("(issue" + " 3"),
        "sample.md:3: " + repr("../" + "shared"),
    ]
