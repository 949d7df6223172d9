"""Numbers as a person reads them, in the active language."""

from decimal import Decimal

import pytest
from django.utils import translation

from chat.numbers import grouped


@pytest.mark.parametrize(
    ("language", "whole", "cents"),
    [
        ("en", "1,234,567", "1,234.50"),
        ("de", "1.234.567", "1.234,50"),
        ("fr", "1\u202f234\u202f567", "1\u202f234,50"),
        ("pt-br", "1.234.567", "1.234,50"),
        ("es", "1.234.567", "1234,50"),
        ("zh-hans", "1,234,567", "1,234.50"),
        ("ar", "1,234,567", "1,234.50"),
    ],
)
def test_grouping_and_the_decimal_mark_follow_the_language(language, whole, cents):
    with translation.override(language):
        assert grouped(1234567) == whole
        assert grouped(Decimal("1234.5"), 2) == cents


def test_places_are_rounded_as_python_rounds_them_not_cut_off():
    with translation.override("en"):
        assert grouped(29.96, 1) == "30.0"  # Django's own would say 29.9
        assert grouped(Decimal("12.346"), 2) == "12.35"
        assert grouped(0.0042, 4) == "0.0042"
        assert grouped(Decimal("0.125"), 2) == "0.13"  # half up, as Intl.NumberFormat


def test_spanish_groups_thousands_only_from_five_digits():
    with translation.override("es"):
        assert [grouped(n) for n in (999, 1234, 9999, 12345)] == ["999", "1234", "9999", "12.345"]
