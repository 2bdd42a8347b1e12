"""What one foreign message becomes: a contract event dict, or a product event kept for analysts."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from compat.errors import ForeignMessageError
from schemas import jsonio
from schemas.errors import FieldError, JSONShapeError
from schemas.records import ProductEventRecord

__all__ = ["NAMESPACE", "Mapped", "foreign_event_id"]

# Fixed forever: a non-UUID messageId / eid maps to the same uuid5 on every retry.
NAMESPACE = uuid.UUID("0b6f2a9e-51c4-4d8e-a3f7-9c2e41d07a65")
# What the SDKs send (uuid4 str): taken as is, ~10x cheaper than a uuid.UUID round trip per message.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(slots=True)
class Mapped:
    """The mapping of a batch: events for ``touchstream.events``, product events, and rejects.

    ``event_index`` / ``product_index`` hold each output's position in the original batch, so an
    error from later validation still names the message the sender knows.
    """

    events: list[dict[str, Any]] = field(default_factory=list)
    event_index: list[int] = field(default_factory=list)
    product_events: list[ProductEventRecord] = field(default_factory=list)
    product_index: list[int] = field(default_factory=list)
    rejected: list[tuple[int, list[FieldError]]] = field(default_factory=list)

    def add(self, index: int, out: dict[str, Any] | ProductEventRecord) -> None:
        if isinstance(out, ProductEventRecord):
            self.product_events.append(out)
            self.product_index.append(index)
        else:
            self.events.append(out)
            self.event_index.append(index)

    def reject(self, index: int, errors: list[FieldError]) -> None:
        self.rejected.append((index, errors))

    @property
    def accepted(self) -> int:
        return len(self.events) + len(self.product_events)


def foreign_event_id(message_id: object, message: object) -> str:
    """The sender's id when it is a UUID, else a uuid5 of it; with no id, a uuid5 of the content.

    Deterministic either way, so an SDK retry of the same message never counts twice.
    """
    if isinstance(message_id, str) and message_id:
        if _CANONICAL_UUID.fullmatch(message_id):
            return message_id
        try:
            return str(uuid.UUID(message_id))
        except ValueError:
            return str(uuid.uuid5(NAMESPACE, message_id))
    if isinstance(message_id, int) and not isinstance(message_id, bool):
        return str(uuid.uuid5(NAMESPACE, str(message_id)))
    try:
        content = jsonio.dumps_checked(message)
    except JSONShapeError as exc:  # a Snowplow event with a field nested too deep to write back
        raise ForeignMessageError([exc.as_field_error()]) from None
    return str(uuid.uuid5(NAMESPACE, content.decode()))
