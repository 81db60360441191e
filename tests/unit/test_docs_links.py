"""The documentation's relative links resolve: every file exists and every ``#anchor`` names a heading.

Checks the Markdown files of the repository root, ``docs/``, ``calibration/`` and ``models/``: for each
relative link (``[text](path)``, ``![alt](path)``, ``[ref]: path``) outside code, the target exists, and an
anchor (``path#anchor`` or ``#anchor``) matches a heading of the target Markdown file by GitHub's slug
rules (lowercase; punctuation dropped except ``-`` and ``_``; each space a ``-``; repeats get ``-1``,
``-2``, ...). Headings and links inside fenced code blocks and inline code do not count.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC_DIRS = ("", "docs", "calibration", "models")

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.S)
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.M)
_EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading's text.

    Parameters
    ----------
    heading : str
        The heading's text (Markdown, without the leading ``#``).

    Output
    ------
    str
        Lowercase; inline-code backticks, links' brackets and every character other than letters,
        digits, ``_``, ``-`` and spaces dropped; each space replaced by ``-``.
    """
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _unfenced(text: str) -> list[str]:
    """The text's lines with fenced code blocks (their fences too) blanked: line numbers kept."""
    lines, fenced = [], False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            lines.append("")
            continue
        lines.append("" if fenced else line)
    return lines


def _prose(text: str) -> str:
    """The text with fenced code blocks blanked (line count kept) and inline code removed."""
    return _INLINE_CODE.sub(lambda m: "\n" * m.group(0).count("\n"), "\n".join(_unfenced(text)))


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, repeats numbered as GitHub does.

    Parameters
    ----------
    path : Path
        A Markdown file.

    Output
    ------
    set of str
        The anchors (``the-phy``, ``measured``, ``measured-1``, ...).
    """
    seen: dict[str, int] = {}
    out = set()
    for line in _unfenced(path.read_text(encoding="utf-8")):
        m = _HEADING.match(line)
        if m:
            base = github_slug(m.group(2))
            n = seen.get(base, 0)
            out.add(base if n == 0 else f"{base}-{n}")
            seen[base] = n + 1
    return out


def links(path: Path) -> list[tuple[int, str]]:
    """The relative link targets of a Markdown file, with their line numbers.

    Parameters
    ----------
    path : Path
        A Markdown file.

    Output
    ------
    list of (int, str)
        ``(line, target)`` for every link that is not external (``http:``, ``mailto:``, ...).
    """
    text = path.read_text(encoding="utf-8")
    fenced = _prose(text)
    found = [(m.start(), m.group(1)) for m in _LINK.finditer(fenced)]
    found += [(m.start(), m.group(1)) for m in _REF_DEF.finditer(fenced)]
    return [(fenced.count("\n", 0, pos) + 1, target) for pos, target in sorted(found)
            if not _EXTERNAL.match(target)]


def broken_links(root: Path, files: list[Path]) -> list[str]:
    """What does not resolve: ``file:line: target (why)`` per broken link.

    Parameters
    ----------
    root : Path
        The repository root (a link may not leave it).
    files : list of Path
        The Markdown files to check.

    Output
    ------
    list of str
        One line per broken link; empty when all resolve.
    """
    problems, cache = [], {}
    for md in files:
        for line, target in links(md):
            path_part, _, anchor = target.partition("#")
            dest = (md.parent / unquote(path_part)).resolve() if path_part else md.resolve()
            where = f"{md.relative_to(root)}:{line}: {target}"
            if root.resolve() not in (dest, *dest.parents):
                problems.append(f"{where} (outside the repository)")
            elif not dest.exists():
                problems.append(f"{where} (no such file)")
            elif anchor and dest.suffix == ".md":
                if dest not in cache:
                    cache[dest] = anchors(dest)
                if unquote(anchor) not in cache[dest]:
                    problems.append(f"{where} (no heading with anchor #{anchor})")
    return problems


def doc_files(root: Path) -> list[Path]:
    """The Markdown files checked: the root's, ``docs/``'s, ``calibration/``'s and ``models/``'s."""
    return sorted(p for d in DOC_DIRS for p in (root / d).glob("*.md"))


def test_every_relative_link_resolves():
    files = doc_files(ROOT)
    assert ROOT / "README.md" in files and ROOT / "docs" / "eval.md" in files
    problems = broken_links(ROOT, files)
    assert not problems, "broken links:\n" + "\n".join(problems)


@pytest.mark.parametrize("heading, slug", [
    ("The paper's claims, measured (`make eval`, or `sdr-semcom eval`)",
     "the-papers-claims-measured-make-eval-or-sdr-semcom-eval"),
    ("Fading channels (Sionna: `sdr-semcom channel --engine sionna`)",
     "fading-channels-sionna-sdr-semcom-channel---engine-sionna"),
    ("The codecs (`sdr_semcom/semantic/`)", "the-codecs-sdr_semcomsemantic"),
    ("Face words on a landmark frame, and the words in the face prior (2026-11-30, 04:10-05:30 UTC)",
     "face-words-on-a-landmark-frame-and-the-words-in-the-face-prior-2026-11-30-0410-0530-utc"),
])
def test_github_slug(heading, slug):
    assert github_slug(heading) == slug


def test_checker_finds_broken_links(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "fig.png").write_bytes(b"")
    (tmp_path / "README.md").write_text(
        "# Top\n\n## The PHY (`phy/`)\n\n## Measured\n\n## Measured\n\n"
        "[ok](docs/page.md#a-section) [ok](#the-phy-phy) [ok](#measured-1) ![ok](docs/fig.png)\n"
        "[gone](docs/missing.md) [bad anchor](docs/page.md#nowhere) [bad](#measured-2)\n"
        "```\n[in code](nothing.md)\n# not a heading\n```\n`[inline](nothing.md)` [up](../x.md)\n"
        "[ref]: docs/none.png\n", encoding="utf-8")
    (tmp_path / "docs" / "page.md").write_text(
        "# Page\n\n## A section\n\n[back](../README.md#top) [wrong](fig.png#x) [moved](../README.md#not-a-heading)\n",
        encoding="utf-8")
    problems = broken_links(tmp_path, doc_files(tmp_path))
    assert problems == [
        "README.md:10: docs/missing.md (no such file)",
        "README.md:10: docs/page.md#nowhere (no heading with anchor #nowhere)",
        "README.md:10: #measured-2 (no heading with anchor #measured-2)",
        "README.md:15: ../x.md (outside the repository)",
        "README.md:16: docs/none.png (no such file)",
        "docs/page.md:5: ../README.md#not-a-heading (no heading with anchor #not-a-heading)",
    ], problems
