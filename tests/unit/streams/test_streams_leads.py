"""One lead per account: a lead form and the CRM's lead stage are two signals of the same lead."""

from __future__ import annotations

import itertools

import pytest

from schemas import jsonio
from streams.config import StreamConfig
from streams.credit import Conversion
from streams.journeys import Touchpoint
from streams.stage_journey import process_entities

CONFIG = StreamConfig.build()
DAY = 86_400.0
T0 = 1_790_000_000.0
TOUCH = ["t", Touchpoint(T0, "touch-1", "podcast", "demand_gen").to_json()]
FORM = ["c", Conversion("form-1", T0 + DAY, "lead").to_json(), True]
CRM_LEAD = ["c", Conversion("crm-lead-1", T0 + 2 * DAY, "lead").to_json(), True]
MQL = ["c", Conversion("mql-1", T0 + 3 * DAY, "mql").to_json(), False]


def _lead_conversions(items: list[list[object]], per_batch: bool) -> list[str]:
    """Feed items to one account entity, in one batch or one batch per item; return the leads that
    count: the latest revision of each emitted lead conversion, without the ones it deletes."""
    state: dict[str, bytes] = {}
    latest: dict[str, tuple[int, bool]] = {}
    batches = [items] if not per_batch else [[item] for item in items]
    for batch in batches:
        out = process_entities(CONFIG, [(b"a:acme.example", jsonio.dumps(batch))], state.get)
        state.update({k: v for k, (v, _) in out.writes.items()})
        for topic, _, value in out.sends:
            if topic == CONFIG.topics.conversions:
                row = jsonio.loads(value)
                if row["stage"] == "lead":
                    cid = row["conversion_id"]
                    assert row["revision"] > latest.get(cid, (0, False))[0]  # revisions only go up
                    latest[cid] = (row["revision"], row["deleted"])
    return sorted(cid for cid, (_, deleted) in latest.items() if not deleted)


@pytest.mark.parametrize("per_batch", [False, True])
@pytest.mark.parametrize("order", list(itertools.permutations([FORM, CRM_LEAD, MQL])))
def test_an_account_converts_to_lead_once_whatever_the_arrival_order(order, per_batch) -> None:
    leads = _lead_conversions([TOUCH, *order], per_batch)
    assert len(leads) == 1
    # Event time decides: the earliest lead signal counts, whichever arrived first; a later one that
    # was counted first is revised to deleted (its credits to zero).
    assert leads == ["form-1"]


def test_a_second_form_later_is_a_touch_not_a_new_lead() -> None:
    again = ["c", Conversion("form-2", T0 + 5 * DAY, "lead").to_json(), True]
    assert _lead_conversions([TOUCH, FORM, again], per_batch=True) == ["form-1"]
