"""marketing_mix_by_channel's channel -> category map (for spend rows, which carry no category) is
schemas.channels.CATEGORY_OF, and unknown channels fall back as category_of does."""

from __future__ import annotations

import re
from importlib import resources

from schemas.channels import CATEGORY_OF, category_of


def test_the_sql_map_is_category_of() -> None:
    sql = resources.files("sinks.views").joinpath("marketing_mix_by_channel.sql").read_text()
    match = re.search(r"transform\(channel,\s*\[(.*?)\],\s*\[(.*?)\],\s*'(\w+)'\)", sql, re.S)
    assert match, "the transform() map is not in the view"
    channels, categories = (re.findall(r"'(\w+)'", group) for group in match.groups()[:2])
    assert dict(zip(channels, categories, strict=True)) == {str(c): str(k) for c, k in CATEGORY_OF.items()}
    assert match.group(3) == str(category_of("not-a-channel"))
