"""The rules file schema: the shipped file is valid, mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alerts.errors import AlertRulesError
from alerts.rules import DEFAULT_RULES, load_rules
from schemas.errors import ConfigError


def test_shipped_rules_load() -> None:
    rules = load_rules()
    assert rules.intake.fire_below < rules.intake.resolve_above
    assert rules.velocity.window_days == 90
    assert rules.intake.for_s == rules.intake.for_minutes * 60


def write(tmp_path: Path, change: dict[str, dict[str, object]]) -> Path:
    raw = yaml.safe_load(DEFAULT_RULES.read_text())
    for section, values in change.items():
        raw[section].update(values)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_override_file_is_used(tmp_path: Path) -> None:
    assert load_rules(write(tmp_path, {"intake": {"window_minutes": 15}})).intake.window_minutes == 15


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"intake": {"resolve_above": 0.4}}, "resolve_above must be greater than fire_below"),
        ({"lag": {"resolve_below": 20_000}}, "resolve_below must not exceed fire_above"),
        ({"velocity": {"segments": ["region"]}}, "velocity.segments.0"),
        ({"intake": {"treshold": 3}}, "intake.treshold"),
        ({"intake": {"min_history_weeks": 9}}, "min_history_weeks cannot exceed"),
    ],
)
def test_bad_rules_are_named(tmp_path: Path, change: dict[str, dict[str, object]], needle: str) -> None:
    with pytest.raises(AlertRulesError, match=needle) as err:
        load_rules(write(tmp_path, change))
    assert isinstance(err.value, ConfigError)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AlertRulesError, match="cannot read"):
        load_rules(tmp_path / "nope.yaml")
