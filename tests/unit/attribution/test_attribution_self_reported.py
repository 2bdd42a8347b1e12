"""Self-reported answers -> channels: the bundled mapping on messy free text, and the rules of matching."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution.self_reported import (
    MAX_ANSWER_CHARS,
    SelfReportedMapError,
    default_map,
    fold,
    load_map,
    normalise,
    parse_map,
)
from schemas.channels import Channel

MAP = default_map()


@pytest.mark.parametrize(
    ("text", "channel"),
    [
        ("heard you on a podcast!", Channel.PODCAST),
        ("PODCAST", Channel.PODCAST),
        ("  The Revenue Room, ep. 12  ", Channel.PODCAST),
        ("Spotify", Channel.PODCAST),
        ("Linkedin post from a colleague", Channel.ORGANIC_SOCIAL),
        ("LinkedIn", Channel.ORGANIC_SOCIAL),
        ("linkedin ad", Channel.PAID_SOCIAL),  # longest keyword wins over "linkedin"
        ("saw an ad on LinkedIn", Channel.PAID_SOCIAL),
        ("x.com", Channel.ORGANIC_SOCIAL),
        ("google", Channel.ORGANIC_SEARCH),
        ("Googled it", Channel.ORGANIC_SEARCH),
        ("Google Ads", Channel.PAID_SEARCH),
        ("a colleague recommended you", Channel.REFERRAL),
        ("Word-of-mouth", Channel.REFERRAL),
        ("my friend", Channel.REFERRAL),
        ("G2", Channel.REVIEW_SITES),
        ("capterra.com", Channel.REVIEW_SITES),
        ("Conférence RevOps à Paris", Channel.EVENTS),  # accents folded
        ("booth at SaaStr", Channel.EVENTS),
        ("YouTube video", Channel.VIDEO),
        ("your newsletter", Channel.EMAIL),
        ("E-mail", Channel.EMAIL),
        ("taboola", Channel.NATIVE_DISPLAY),
    ],
)
def test_messy_answers_map_to_their_channel(text: str, channel: Channel) -> None:
    assert normalise(text, MAP) is channel


@pytest.mark.parametrize("text", ["", "   ", "n/a", "-", "???", "asdf", "don't remember", "🤷", None])
def test_no_keyword_is_none(text: str | None) -> None:
    assert normalise(text, MAP) is None


def test_keywords_match_whole_words_only() -> None:
    assert normalise("I read about it", MAP) is None  # "ad" is no keyword, and never inside "read"
    assert normalise("podcasting", MAP) is None  # "podcast" does not match inside a longer word
    assert normalise("eventually", MAP) is None


@given(st.text(max_size=300))
def test_any_text_gives_a_channel_or_none(text: str) -> None:
    got = normalise(text, MAP)
    assert got is None or isinstance(got, Channel)


@given(
    st.sampled_from(["podcast", "linkedin ad", "g2", "colleague", "google ads", "newsletter"]),
    st.text(alphabet=" .,!?-_/()'\"\t\n", max_size=5),
    st.text(alphabet=" .,!?-_/()'\"\t\n", max_size=5),
    st.sampled_from([str.lower, str.upper, str.title, str.capitalize]),
)
def test_case_spacing_and_punctuation_do_not_matter(keyword: str, before: str, after: str, case) -> None:
    assert normalise(before + case(keyword) + after, MAP) is normalise(keyword, MAP) is not None


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=50))
def test_fold_is_idempotent_and_plain(text: str) -> None:
    folded = fold(text)
    assert fold(folded) == folded
    assert all(ch.isascii() and (ch.isalnum() or ch == " ") for ch in folded)
    assert "  " not in folded and folded == folded.strip()


@given(st.text(max_size=40), st.text(max_size=40))
def test_a_keyword_anywhere_in_the_answer_is_found(prefix: str, suffix: str) -> None:
    """Surrounded by separators, a keyword is found whatever else was typed; a longer keyword found
    elsewhere in the text may win instead, but the answer never becomes unknown."""
    assert normalise(f"{prefix} podcast {suffix}", MAP) is not None


def test_only_the_first_max_chars_are_read() -> None:
    assert normalise("x" * MAX_ANSWER_CHARS + " podcast", MAP) is None


def test_ties_go_to_the_channel_listed_first() -> None:
    mapping = parse_map({"podcast": ["show"], "video": ["film"]})
    assert normalise("a show or a film", mapping) is Channel.PODCAST
    assert normalise("a film", mapping) is Channel.VIDEO


def test_own_mapping_file(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("events:\n  - Dreamforce\nreferral: [word of mouth]\n")
    mapping = load_map(path)
    assert normalise("met you at DREAMFORCE", mapping) is Channel.EVENTS
    assert normalise("podcast", mapping) is None  # the bundled keywords are replaced, not merged


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (["podcast"], "top level"),
        ({"podcasts": ["x"]}, "unknown channel 'podcasts'"),
        ({"podcast": "episode"}, "list of keywords"),
        ({"podcast": [1]}, "list of keywords"),
        ({"podcast": ["!!"]}, "no letters or digits"),
        ({"podcast": ["show"], "video": ["Show"]}, "both podcast and video"),
    ],
)
def test_bad_mappings_are_named(raw: object, match: str) -> None:
    with pytest.raises(SelfReportedMapError, match=match):
        parse_map(raw)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(SelfReportedMapError, match="cannot read"):
        load_map(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("podcast: [unclosed\n")
    with pytest.raises(SelfReportedMapError, match="not valid YAML"):
        load_map(tmp_path / "bad.yaml")


def test_bundled_map_names_only_known_channels() -> None:
    assert {channel for _, channel in MAP.rules} <= set(Channel)
    lengths = [len(key) for key, _ in MAP.rules]
    assert lengths == sorted(lengths, reverse=True)
