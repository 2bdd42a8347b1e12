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
    """Feed items to one account entity, in one batch or one batch per item; return lead ids emitted."""
    state: dict[str, bytes] = {}
    emitted: list[str] = []
    batches = [items] if not per_batch else [[item] for item in items]
    for batch in batches:
        out = process_entities(CONFIG, [(b"a:acme.example", jsonio.dumps(batch))], state.get)
        state.update({k: v for k, (v, _) in out.writes.items()})
        for topic, _, value in out.sends:
            if topic == CONFIG.topics.conversions:
                row = jsonio.loads(value)
                if row["stage"] == "lead":
                    emitted.append(row["conversion_id"])
    return emitted


@pytest.mark.parametrize("per_batch", [False, True])
@pytest.mark.parametrize("order", list(itertools.permutations([FORM, CRM_LEAD, MQL])))
def test_an_account_converts_to_lead_once_whatever_the_arrival_order(order, per_batch) -> None:
    leads = _lead_conversions([TOUCH, *order], per_batch)
    assert len(leads) == 1
    # The first lead signal to arrive is the one counted (a conversion cannot be taken back).
    first = next(item for item in order if item is not MQL)
    assert leads == [first[1][0]]


def test_a_second_form_later_is_a_touch_not_a_new_lead() -> None:
    again = ["c", Conversion("form-2", T0 + 5 * DAY, "lead").to_json(), True]
    assert _lead_conversions([TOUCH, FORM, again], per_batch=True) == ["form-1"]
