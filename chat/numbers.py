"""Numbers as a person reads them, in the language active now: "1,234,567"
in English, "1.234.567" in German. The same digits the page's scripts write
with the browser's Intl.NumberFormat (static/chat/i18n.js), so a number
reads alike whether the server or the page wrote it: Django's locale formats,
with ours (visionqa/formats) where Django's differ from the CLDR's, which the
browsers follow (tests/e2e/test_number_formats.py holds them together)."""

from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats, translation

# The CLDR's minimumGroupingDigits where it is not 1: a number gets its first
# separator only with this many digits before it (Spanish writes 1234 but
# 12.345). Django's formats have no such setting.
MINIMUM_GROUPING_DIGITS = {"es": 2}


def grouped(value: int | float | Decimal, decimals: int | None = None) -> str:
    """`value` with the language's thousands separator and decimal mark, to
    `decimals` places when given (else as it is). Grouping is forced: Django
    groups only when USE_THOUSAND_SEPARATOR is on, and a budget of 1000000
    tokens is not read at a glance."""
    if decimals is not None:
        # Halves rounded up, as Intl.NumberFormat rounds them (Django's own
        # cuts the digits off instead: 29.96 would read 29.9).
        value = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    minimum = MINIMUM_GROUPING_DIGITS.get((translation.get_language() or "").split("-")[0], 1)
    grouping = abs(int(value)) >= 10 ** (2 + minimum)
    return formats.number_format(value, decimal_pos=decimals, force_grouping=grouping)
