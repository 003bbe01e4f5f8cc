"""The pure decision of what to answer to conditional and range requests."""

from __future__ import annotations

import pytest

from filters_server.api.ranges import Plan, http_date, parse_range, plan
from filters_server.config import Settings

MAX_RANGES = Settings().max_ranges

ETAG = '"abc"'
MODIFIED = 1_800_000_000.0


def decide(**headers: str) -> Plan:
    return plan(
        "GET",
        {k.replace("_", "-"): v for k, v in headers.items()},
        etag=ETAG,
        last_modified=MODIFIED,
        size=1000,
        max_ranges=MAX_RANGES,
    )


def test_no_range_is_200():
    assert decide() == Plan(200)


@pytest.mark.parametrize(
    "header, expected",
    [
        ("bytes=0-0", [(0, 1)]),
        ("bytes=990-", [(990, 1000)]),
        ("bytes=-10", [(990, 1000)]),
        ("bytes=0-1,5-6", [(0, 2), (5, 7)]),
        ("bytes= 1-2 , 4-5", [(1, 3), (4, 6)]),
        ("bytes=1000-", []),
        ("bytes=-0", []),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=a-b", "bytes=5-1", "pages=1-2", "bytes=-", "bytes=1-2-3"])
def test_malformed_ranges_are_none(header):
    assert parse_range(header, 1000) is None


def test_weak_etag_in_if_none_match_matches():
    assert decide(If_None_Match='W/"abc"').status == 304


def test_star_in_if_none_match_matches():
    assert decide(If_None_Match="*").status == 304


def test_if_modified_since_not_modified_is_304():
    assert decide(If_Modified_Since=http_date(MODIFIED)).status == 304


def test_if_modified_since_older_is_200():
    assert decide(If_Modified_Since=http_date(MODIFIED - 10)).status == 200


def test_if_none_match_wins_over_if_modified_since():
    assert decide(If_None_Match='"zzz"', If_Modified_Since=http_date(MODIFIED)).status == 200


def test_weak_etag_in_if_range_never_matches():
    assert decide(Range="bytes=0-1", If_Range='W/"abc"').status == 200


def test_too_many_ranges_fall_back_to_200():
    header = "bytes=" + ",".join(f"{i * 3}-{i * 3}" for i in range(MAX_RANGES + 1))
    assert decide(Range=header).status == 200


def test_ranges_that_cover_everything_together_are_200():
    assert decide(Range="bytes=0-499,500-999").status == 200
