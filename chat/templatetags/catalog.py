"""{% catalog_url %}: the address of the scripts' messages in the page's
language (chat/web/catalog.py)."""

from django import template
from django.utils import translation

from chat.web.catalog import catalog_url as _catalog_url

register = template.Library()


@register.simple_tag
def catalog_url() -> str:
    return _catalog_url(translation.get_language() or "en")
