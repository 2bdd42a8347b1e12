"""The user's guide stays true: every setting documented, the two commands given, every link resolves."""

from __future__ import annotations

import re
from pathlib import Path

from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text()
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_every_setting_is_documented() -> None:
    missing = [
        f"TOUCHSTREAM_{n.upper()}"
        for n in Settings.model_fields
        if f"`TOUCHSTREAM_{n.upper()}`" not in CONFIGURATION
    ]
    assert not missing, f"add these to the table in docs/configuration.md: {missing}"


def test_readme_gives_the_two_commands_and_the_configuration() -> None:
    assert "make run" in README and "make test" in README
    assert "(docs/configuration.md)" in README


def test_relative_links_resolve() -> None:
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in LINK.findall(page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, f"links to missing files: {broken}"


def test_readme_anchors_exist() -> None:
    headings = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", README, flags=re.M)
    }
    anchors = set(re.findall(r"\]\(#([^)]+)\)", README))
    assert anchors - headings == set(), f"README links to missing headings: {anchors - headings}"
