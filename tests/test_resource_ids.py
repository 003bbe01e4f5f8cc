"""Resource ids in paths: only the canonical UUID form new ids take, in either case."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from filters_server.core.resource import new_id, parse_id

EXAMPLE = "2a5f7b35-917d-4a38-a7d3-d304fd67fbf9"


def _by_uuid_round_trip(text: str) -> str | None:
    """What an id is by definition: text that uuid.UUID reads and writes back the same (any case)."""
    try:
        canonical = str(uuid.UUID(text))
    except ValueError:
        return None
    return canonical if canonical == text.lower() else None


def test_a_new_id_is_its_own_canonical_form() -> None:
    resource_id = new_id()
    assert parse_id(resource_id) == resource_id


def test_upper_case_reads_as_the_lower_case_id() -> None:
    assert parse_id(EXAMPLE.upper()) == EXAMPLE


@pytest.mark.parametrize(
    "text",
    [
        "",
        EXAMPLE.replace("-", ""),
        "{" + EXAMPLE + "}",
        "urn:uuid:" + EXAMPLE,
        EXAMPLE + "\n",
        " " + EXAMPLE,
        EXAMPLE[:-1] + "g",
        EXAMPLE[:-1] + "\u0661",  # ARABIC-INDIC DIGIT ONE: a digit to int(), not to us
        EXAMPLE[:-1],
    ],
    ids=["empty", "no-hyphens", "braces", "urn", "newline", "space", "non-hex", "non-ascii-digit", "short"],
)
def test_other_spellings_are_not_ids(text: str) -> None:
    assert parse_id(text) is None


@given(st.one_of(st.text(alphabet="0123456789abcdefABCDEF-{}:urnid\u0661 ", max_size=45), st.uuids().map(str)))
def test_an_id_is_exactly_what_a_uuid_round_trip_keeps(text: str) -> None:
    assert parse_id(text) == _by_uuid_round_trip(text)
