"""The marketer-editable table of custom event names to contract event types (``track_events.yaml``)."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.channels import Channel
from schemas.errors import ConfigError
from schemas.events import EngagementKind

__all__ = ["DEFAULT_TABLE", "TrackRule", "TrackTable", "apply_rule", "load_track_table", "normalize"]

DEFAULT_TABLE = "track_events.yaml"
FormKind = Literal[
    "gated_content", "demo_request", "contact", "newsletter", "webinar_registration", "trial", "other"
]
_SEPARATORS = re.compile(r"[\s_\-.]+")


def normalize(name: str) -> str:
    """``"Demo Requested"``, ``"demo_requested"`` and ``"demo-requested"`` are one name."""
    return _SEPARATORS.sub("", name).lower()


class TrackRule(BaseModel):
    """What one named event becomes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["form_submit", "engagement", "page_view"]
    form_kind: FormKind = "other"
    channel: Channel | None = None
    kind: EngagementKind = "other"

    @model_validator(mode="after")
    def _engagement_has_channel(self) -> TrackRule:
        if self.type == "engagement" and self.channel is None:
            raise ValueError("an engagement rule needs a channel")
        return self


class _TableFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    events: dict[str, TrackRule] = Field(default_factory=dict)


class TrackTable:
    """Lookup by normalized name; ``None`` means "not a touchpoint, keep it as a product event"."""

    def __init__(self, rules: dict[str, TrackRule]) -> None:
        self._rules = {normalize(name): rule for name, rule in rules.items()}

    def __len__(self) -> int:
        return len(self._rules)

    def lookup(self, name: str) -> TrackRule | None:
        return self._rules.get(normalize(name))


def apply_rule(out: dict[str, Any], name: str, props: dict[str, Any], rule: TrackRule) -> dict[str, Any]:
    """Turn the half-built event ``out`` into what ``rule`` says; the name is kept in properties."""
    out["properties"] = {**props, "event": name}
    if rule.type == "form_submit":
        form_id = props.get("form_id") or props.get("formId")
        form_id = form_id.strip()[:256] if isinstance(form_id, str) and form_id.strip() else name
        out.update(type="form_submit", form_id=form_id, form_kind=rule.form_kind)
    elif rule.type == "engagement":
        assert rule.channel is not None  # the rule model guarantees it
        out.update(type="engagement", channel=rule.channel.value, kind=rule.kind)
        duration = props.get("duration_s", props.get("duration"))
        if isinstance(duration, int | float) and not isinstance(duration, bool) and duration >= 0:
            out["duration_s"] = float(duration)
    else:
        out["type"] = "page_view"
    return out


def load_track_table(path: Path | None = None) -> TrackTable:
    """The table at ``path`` (``TOUCHSTREAM_TRACK_EVENT_MAP``), else the packaged defaults."""
    try:
        if path is None:
            text = resources.files("compat").joinpath(DEFAULT_TABLE).read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
        return TrackTable(_TableFile.model_validate(data).events)
    except OSError as exc:
        raise ConfigError(f"cannot read the track event map {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"track event map {path or DEFAULT_TABLE} is not valid YAML: {exc}") from exc
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"track event map {path or DEFAULT_TABLE} is invalid: {reasons}") from exc
