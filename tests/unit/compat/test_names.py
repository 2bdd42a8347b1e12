"""The track event table: defaults, name normalisation, overrides from a file and clear config errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from compat.names import load_track_table, normalize
from compat.urls import domain_of, utm_from_url
from schemas.errors import ConfigError


def test_defaults_cover_the_documented_names() -> None:
    table = load_track_table()
    expected = {
        "Demo Requested": ("form_submit", "demo_request"),
        "Form Submitted": ("form_submit", "other"),
        "Signed Up": ("form_submit", "trial"),
        "Trial Started": ("form_submit", "trial"),
    }
    for name, (kind, form_kind) in expected.items():
        rule = table.lookup(name)
        assert rule is not None and (rule.type, rule.form_kind) == (kind, form_kind)
    engagements = [
        ("Webinar Attended", "events", "webinar"),
        ("Event Attended", "events", "event"),
        ("Podcast Played", "podcast", "podcast"),
    ]
    for name, channel, kind in engagements:
        rule = table.lookup(name)
        assert rule is not None and (rule.type, rule.channel, rule.kind) == ("engagement", channel, kind)
    assert table.lookup("Button Clicked") is None


def test_names_match_across_case_and_separators() -> None:
    assert normalize("Demo Requested") == normalize("demo_requested") == normalize("DEMO-REQUESTED")


def test_a_file_replaces_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "events.yaml"
    path.write_text("events:\n  Quote Requested: {type: form_submit, form_kind: contact}\n")
    table = load_track_table(path)
    assert len(table) == 1
    rule = table.lookup("quote requested")
    assert rule is not None and rule.form_kind == "contact"
    assert table.lookup("Demo Requested") is None


@pytest.mark.parametrize(
    "text",
    [
        "events:\n  X: {type: engagement}\n",  # engagement without a channel
        "events:\n  X: {type: crm_stage}\n",
        "events:\n  X: {type: engagement, channel: tv}\n",
        "events: [1, 2\n",
    ],
)
def test_bad_files_raise_config_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "events.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        load_track_table(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_track_table(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("value", "domain"),
    [("https://www.Acme.com/pricing", "acme.com"), ("acme.io", "acme.io"), ("Acme Inc", None),
     ("bo@acme.com", None), (42, None), ("http://[::1", None), ("localhost", None)],
)  # fmt: skip
def test_domain_of(value: object, domain: str | None) -> None:
    assert domain_of(value) == domain


def test_utm_from_url_ignores_other_params() -> None:
    assert utm_from_url("https://a.com/?utm_source=x&utm_term=y&ref=z") == {"source": "x", "term": "y"}
    assert utm_from_url("https://a.com/") == {}
