"""The repository explains its own rules: README and code point to docs/, every link between
them leads somewhere, and nothing points outside the repository."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "docs").glob("*.md")))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE_REFERENCE = re.compile(r"docs/([\w-]+\.md)(?:#([\w-]+))?")


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    suffixes = {".py", ".md", ".toml", ".yml", ".html", ".js", ".css", ".json", ".txt", ""}
    return [ROOT / name for name in listed if Path(name).suffix in suffixes and "seeds" not in name]


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


def test_docs_exist():
    assert {"docs/methodology.md", "docs/data-dictionary.md", "docs/contributing-data.md"} <= set(
        DOCS
    )


@pytest.mark.parametrize("name", DOCS)
def test_every_relative_link_leads_to_a_file_and_heading(name):
    page = ROOT / name
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://")):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        assert linked.exists(), f"{name}: {target}"
        if anchor:
            assert anchor in anchors(linked), f"{name}: {target}"


def test_code_points_to_headings_that_exist():
    for path in tracked_text_files():
        if path.suffix != ".py":
            continue
        for page, anchor in CODE_REFERENCE.findall(path.read_text(encoding="utf-8")):
            assert (ROOT / "docs" / page).exists(), f"{path}: docs/{page}"
            if anchor:
                assert anchor in anchors(ROOT / "docs" / page), f"{path}: docs/{page}#{anchor}"


def test_nothing_points_outside_the_repository():
    outside = re.compile(r"\.\./shared|/work/share[d]|SPE[C](?:\.md| §)")
    offenders = [
        str(path.relative_to(ROOT))
        for path in tracked_text_files()
        if path.is_file() and outside.search(path.read_text(encoding="utf-8", errors="ignore"))
    ]
    assert offenders == []
