"""Numbers as a person reads them, in the language active now: "1,234,567"
in English, "1.234.567" in German (Django's locale formats, which ship with
Django; our catalogs need not exist for them)."""

from decimal import Decimal

from django.utils import formats


def grouped(value: int | float | Decimal, decimals: int | None = None) -> str:
    """`value` with the language's thousands separator and decimal mark, to
    `decimals` places when given (else as it is). Grouping is forced: Django
    groups only when USE_THOUSAND_SEPARATOR is on, and a budget of 1000000
    tokens is not read at a glance."""
    if decimals is not None:
        # Rounded as Python's own format rounds ("{:.1f}"): Django's cuts the
        # digits off instead (29.96 would read 29.9).
        value = Decimal(f"{value:.{decimals}f}")
    return formats.number_format(value, decimal_pos=decimals, force_grouping=True)
