"""{{ user|display_name }} in a template: chat.teams.people's rule, not a copy of it."""

from django import template

from chat.teams.people import display_name as _display_name

register = template.Library()

register.filter("display_name", _display_name)
