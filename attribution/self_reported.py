"""Self-reported attribution: "How did you hear about us?" free text -> a channel (pure).

The mapping is a YAML file of ``channel: [keyword, ...]`` (bundled ``self_reported.yaml``, or the
user's own through ``TOUCHSTREAM_SELF_REPORTED_MAP``). Text and keywords are folded the same way
(lower case, accents and punctuation dropped, whitespace collapsed) and keywords match whole words;
the longest matching keyword wins, ties go to the channel listed first. No match: ``None`` (stored as
``unknown``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from attribution.errors import AttributionInputError
from schemas.channels import Channel

__all__ = [
    "DEFAULT_MAP_PATH",
    "MAX_ANSWER_CHARS",
    "UNKNOWN",
    "SelfReportedMap",
    "SelfReportedMapError",
    "default_map",
    "fold",
    "load_map",
    "normalise",
    "parse_map",
]

DEFAULT_MAP_PATH = Path(__file__).with_name("self_reported.yaml")
UNKNOWN = "unknown"  # the stored channel of an answer no keyword matches
MAX_ANSWER_CHARS = 512  # answers are kept up to this length (the event contract's limit)
_NOT_WORD = re.compile(r"[^0-9a-z]+")


class SelfReportedMapError(AttributionInputError):
    """A mapping file that is not ``channel: [keyword, ...]`` with known channels."""


def fold(text: str) -> str:
    """Lower case, accents stripped (``Café`` -> ``cafe``), anything but letters/digits a single space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_WORD.sub(" ", ascii_only).strip()


@dataclass(frozen=True, slots=True, eq=False)
class SelfReportedMap:
    """Folded keywords, longest first (stable: file order breaks ties)."""

    rules: tuple[tuple[str, Channel], ...]


def parse_map(raw: Any) -> SelfReportedMap:
    """Validate decoded YAML; raises :class:`SelfReportedMapError` naming the bad entry."""
    if not isinstance(raw, Mapping):
        raise SelfReportedMapError(
            "self-reported map: the top level must be a mapping of channel: [keywords]"
        )
    rules: list[tuple[str, Channel]] = []
    seen: dict[str, Channel] = {}
    for name, words in raw.items():
        try:
            channel = Channel(str(name))
        except ValueError:
            known = ", ".join(c.value for c in Channel)
            raise SelfReportedMapError(
                f"self-reported map: unknown channel {name!r}; expected one of {known}"
            ) from None
        if (
            not isinstance(words, Sequence)
            or isinstance(words, str)
            or not all(isinstance(w, str) for w in words)
        ):
            raise SelfReportedMapError(f"self-reported map: {name}: expected a list of keywords")
        for word in words:
            key = fold(word)
            if not key:
                raise SelfReportedMapError(
                    f"self-reported map: {name}: keyword {word!r} has no letters or digits"
                )
            if key in seen and seen[key] is not channel:
                raise SelfReportedMapError(
                    f"self-reported map: keyword {word!r} is listed for both {seen[key]} and {channel}"
                )
            if key not in seen:
                seen[key] = channel
                rules.append((key, channel))
    rules.sort(key=lambda rule: -len(rule[0]))  # stable: equal lengths keep file order
    return SelfReportedMap(tuple(rules))


def load_map(path: Path | None = None) -> SelfReportedMap:
    """The bundled mapping, or the file at ``path``."""
    source = path or DEFAULT_MAP_PATH
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SelfReportedMapError(f"self-reported map {source}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise SelfReportedMapError(f"self-reported map {source}: not valid YAML ({exc})") from None
    return parse_map(raw)


@functools.cache
def default_map() -> SelfReportedMap:
    """The bundled mapping, read once."""
    return load_map()


def normalise(text: str | None, mapping: SelfReportedMap) -> Channel | None:
    """The channel ``text`` names, or ``None`` (no text, or no keyword matches)."""
    if not text:
        return None
    padded = f" {fold(text[:MAX_ANSWER_CHARS])} "
    if padded.isspace():
        return None
    for key, channel in mapping.rules:
        if f" {key} " in padded:
            return channel
    return None
