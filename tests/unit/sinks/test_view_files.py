"""The view files: one definition per view in sinks/, dependency order, cycles refused (no ClickHouse)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from sinks.errors import MigrationError
from sinks.migrate import available_migrations
from sinks.view_files import available_views, parse_view, view_order

SINKS = Path(__file__).resolve().parents[3] / "sinks"
DEFINITION = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(MATERIALIZED\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?\{db\}\.(\w+)",
    re.I | re.M,
)


def definitions() -> Counter[str]:
    return Counter(m.group(2) for p in SINKS.rglob("*.sql") for m in DEFINITION.finditer(p.read_text()))


def test_every_view_is_defined_once_in_sinks() -> None:
    counts = definitions()
    assert {name for name, n in counts.items() if n != 1} == set()
    names = {v.name for v in available_views()}
    assert {"rule_credits", "rule_credits_between", "lead_gen_kpis", "account_journeys"} <= names
    # The materialized view carries data: it stays in its migration, not among the view files.
    assert "touch_devices_mv" in counts and "touch_devices_mv" not in names


def test_numbered_migrations_hold_no_plain_view() -> None:
    for migration in available_migrations():
        for statement in migration.statements:
            match = DEFINITION.match(statement)
            assert match is None or match.group(1), f"{migration.name}: {statement[:60]}"


def test_each_file_defines_its_own_name() -> None:
    for path in (SINKS / "views").glob("*.sql"):
        assert parse_view(path.stem, path.read_text()).sql.startswith(
            f"CREATE OR REPLACE VIEW {{db}}.{path.stem} AS"
        )
        assert path.read_text().startswith("-- "), f"{path.name} needs its header comment"


def test_views_come_after_the_views_they_read() -> None:
    order = [v.name for v in view_order(available_views())]
    assert order.index("rule_credits_between") < order.index("rule_credits")
    for dep in ("shared_devices", "device_links", "person_accounts"):
        assert order.index(dep) < order.index("account_first_touches")
    assert order.index("device_links") < order.index("device_people")
    assert order.index("account_first_touches") < order.index("funnel_by_first_touch")
    assert sorted(order) == sorted(v.name for v in available_views())


def view(name: str, reads: str) -> str:
    return f"-- {name}\nCREATE OR REPLACE VIEW {{db}}.{name} AS SELECT * FROM {{db}}.{reads};\n"


def test_a_cycle_raises_migration_error_naming_it() -> None:
    views = [
        parse_view("a", view("a", "b")),
        parse_view("b", view("b", "c")),
        parse_view("c", view("c", "a")),
    ]
    with pytest.raises(MigrationError, match=r"a -> b -> c -> a"):
        view_order(views)


def test_tables_are_not_dependencies() -> None:
    views = [parse_view("late", view("late", "early")), parse_view("early", view("early", "touchpoints"))]
    assert [v.name for v in view_order(views)] == ["early", "late"]
    assert parse_view("early", view("early", "touchpoints")).reads == {"touchpoints"}


def test_a_file_must_hold_one_view_of_its_name() -> None:
    with pytest.raises(MigrationError, match="views/x.sql"):
        parse_view("x", view("y", "touchpoints"))
    with pytest.raises(MigrationError, match="views/x.sql"):
        parse_view("x", view("x", "a") + view("x", "b"))


def test_every_view_renders_with_the_guard_numbers() -> None:
    """The identity guards' numbers are baked in (sinks.view_files.render); no token is left over."""
    from schemas.guards import IdentityGuards, load_guards
    from sinks.view_files import render

    guards = IdentityGuards(shared_max_people=4, shared_window_s=2 * 86_400.0, person_max_accounts=5)
    for v in available_views():
        sql = render(v, "db1", guards)
        assert re.search(r"\{[a-z_]+\}", sql) is None, v.name
    shared = {v.name: v for v in available_views()}["shared_devices"]
    assert "> 4" in render(shared, "db1", guards) and "<= 172800000" in render(shared, "db1", guards)
    assert "> 3" in render(shared, "db1", load_guards())  # the bundled file: more than 3 people


def test_an_unknown_token_is_refused() -> None:
    from schemas.guards import IdentityGuards
    from sinks.view_files import render

    with pytest.raises(MigrationError, match="unknown token"):
        render(
            parse_view("v", "-- v\nCREATE OR REPLACE VIEW {db}.v AS SELECT {nope};\n"), "db", IdentityGuards()
        )
