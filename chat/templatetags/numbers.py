"""{{ value|grouped }} and {{ value|grouped:4 }} in a template: chat.numbers'
digits, the same the page's scripts write (floatformat's "g" would group a
Spanish 1234 the scripts leave whole)."""

from decimal import Decimal

from django import template

from chat.numbers import grouped as _grouped

register = template.Library()


@register.filter
def grouped(value: int | float | Decimal | None, decimals: int | str | None = None) -> str:
    if value is None or value == "":
        return ""
    return _grouped(value, None if decimals is None else int(decimals))
