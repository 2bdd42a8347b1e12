"""The README's configuration table lists every setting (so the docs cannot drift from the code)."""

from __future__ import annotations

from pathlib import Path

from schemas.settings import Settings

README = (Path(__file__).resolve().parents[3] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [
        f"TOUCHSTREAM_{n.upper()}" for n in Settings.model_fields if f"TOUCHSTREAM_{n.upper()}" not in README
    ]
    assert not missing, f"add these to the README configuration table: {missing}"


def test_readme_gives_the_two_commands() -> None:
    assert "make run" in README and "make test" in README
