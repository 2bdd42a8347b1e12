"""The analyst views, one ``sinks/views/<name>.sql`` file each, re-applied in dependency order.

Like Flyway's repeatable migrations (or dbt models): a view holds no data, so its file is its one
current definition (``CREATE OR REPLACE VIEW {db}.<name> AS ...``) and every ``apply_migrations`` call
applies all of them again, after the numbered migrations. A view that reads another view is created
after it: the ``{db}.<name>`` tokens naming other view files are its dependencies.

Besides ``{db}``, a view may name the identity guards' numbers (``schemas/identity_guards.yaml``,
``TOUCHSTREAM_IDENTITY_GUARDS``) as ``{shared_max_people}``, ``{shared_window_ms}`` and
``{person_max_accounts}``: they are baked in when the views are applied, so the SQL applies the
same guards as the stream workers (:mod:`schemas.guards`). Re-applying (every start, ``touchstream
migrate``) picks up a changed file.

Views that resolve a touch's person and account as the stream does share two SQL fragments
(:data:`FRAGMENTS`): ``{void_stamp}`` (over a touch ``t`` and its ``device_links`` row ``d``: the
touch's person stamp no longer holds — a shared device, a revoked device edge) and
``{revoked_account}`` (over a resolved row ``r``: its person's edge to its stamped account is revoked).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as ClickHouseError

from schemas.guards import IdentityGuards, load_guards
from sinks.errors import MigrationError

__all__ = [
    "View",
    "apply_views",
    "available_views",
    "guard_values",
    "render",
    "split_statements",
    "view_order",
]

_FILE = re.compile(r"^([a-z][a-z0-9_]*)\.sql$")
_REF = re.compile(r"\{db\}\.([A-Za-z_][A-Za-z0-9_]*)")
# A substitution token: {name} without the ':Type' of a ClickHouse query parameter.
_TOKEN = re.compile(r"\{([a-z_]+)\}")


def _revoked(kind: str, columns: str) -> str:
    return f"SELECT {columns} FROM {{db}}.identity_revocations FINAL WHERE kind = '{kind}' AND revoked = 1"


# The stream's resolution rules, written once (the count() guards skip the IN when nothing is revoked).
FRAGMENTS = {
    "void_stamp": f"t.anonymous_id != '' AND (d.shared OR (({_revoked('device', 'count()')}) > 0"
    f" AND t.person_id != '' AND (t.anonymous_id, t.person_id) IN ({_revoked('device', 'child, parent')})))",
    "revoked_account": f"({_revoked('account', 'count()')}) > 0"
    f" AND (r.person, r.account_id) IN ({_revoked('account', 'child, parent')})",
}


@dataclass(frozen=True, slots=True)
class View:
    name: str
    sql: str
    reads: frozenset[str]  # every {db}.<name> the SQL names besides itself (tables and views)


def split_statements(sql: str) -> tuple[str, ...]:
    """Statements end with ';' at the end of a line; comment lines are dropped so they never count as one."""
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return tuple(s.strip() for s in re.split(r";\s*(?:\n|$)", body) if s.strip())


def parse_view(name: str, text: str) -> View:
    statements = split_statements(text)
    head = f"CREATE OR REPLACE VIEW {{db}}.{name} AS"
    if len(statements) != 1 or not statements[0].startswith(head):
        raise MigrationError(f"views/{name}.sql must hold one statement starting {head!r}")
    return View(name, statements[0], frozenset(_REF.findall(statements[0])) - {name})


def available_views() -> list[View]:
    out = []
    for entry in resources.files("sinks.views").iterdir():
        match = _FILE.match(entry.name)
        if match:
            out.append(parse_view(match.group(1), entry.read_text()))
    return sorted(out, key=lambda v: v.name)


def view_order(views: Iterable[View]) -> list[View]:
    """Views before the views that read them (ties by name); MigrationError naming a cycle."""
    by_name = {v.name: v for v in views}
    done: dict[str, View] = {}

    def visit(name: str, path: list[str]) -> None:
        if name in done:
            return
        if name in path:
            cycle = [*path[path.index(name) :], name]
            raise MigrationError("views read each other in a cycle: " + " -> ".join(cycle))
        view = by_name[name]
        for dep in sorted(view.reads & by_name.keys()):
            visit(dep, [*path, name])
        done[name] = view

    for name in sorted(by_name):
        visit(name, [])
    return list(done.values())


def guard_values(guards: IdentityGuards) -> dict[str, int]:
    """The guard numbers a view may name (``{shared_max_people}`` ...), as integers to inline."""
    return {
        "shared_max_people": max(0, guards.shared_max_people),
        "shared_window_ms": round(guards.shared_window_s * 1000),
        "person_max_accounts": max(0, guards.person_max_accounts),
    }


def render(view: View, database: str, guards: IdentityGuards) -> str:
    """The view SQL for ``database`` with the guard numbers inlined; MigrationError on an unknown token."""
    values: dict[str, object] = {"db": database, **guard_values(guards)}
    sql = _TOKEN.sub(lambda m: FRAGMENTS.get(m.group(1), m.group(0)), view.sql)

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise MigrationError(f"views/{view.name}.sql names an unknown token {match.group(0)}")
        return str(values[match.group(1)])

    return _TOKEN.sub(fill, sql)


def apply_views(client: Client, database: str, guards: IdentityGuards | None = None) -> list[str]:
    """(Re)create every view of ``sinks/views`` in ``database``; returns their names in the order applied.

    ``guards``: the identity guards the views apply (default: the bundled ``schemas/identity_guards.yaml``).
    """
    rules = guards if guards is not None else load_guards()
    applied = []
    for view in view_order(available_views()):
        sql = render(view, database, rules)
        try:
            client.execute(sql)
        except ClickHouseError as exc:
            message = str(exc).split("Stack trace:")[0].strip()
            code = getattr(exc, "code", "?")
            raise MigrationError(f"views/{view.name}.sql failed (code {code}): {message}") from exc
        applied.append(view.name)
    return applied
