"""Every string a person sees or hears in a template goes through Django's
translation machinery ({% translate %}, {% blocktranslate %}): a sentence left
as plain template text would stay English in every language.

The check reads each template with Django's own lexer, drops what is inside a
translate or blocktranslate block or a comment, and reads what is left as HTML:
text a person sees (outside <script> and <style>), and the attributes a screen
reader speaks or a pointer shows. Whatever in them has a letter is untranslated."""

from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.template.base import DebugLexer, TokenType

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"

# Words that stay the same in every language. The brand only: model names and
# people's content come from variables, and marks without a letter ("×", "·",
# "—", "›") are never flagged in the first place (a letter is what makes a word).
SAME_IN_EVERY_LANGUAGE = ("VisionQA",)

# What stands in for a template tag or variable (or a translated block) in the
# HTML that is read: no letter, so it reads as nothing to translate; a private
# use character, so no real page has it.
DYNAMIC = "\ue000"

SPOKEN_ATTRIBUTES = {
    "title",
    "alt",
    "placeholder",
    "aria-label",
    "aria-description",
    "aria-roledescription",
    "label",
}
# A button's text is its value.
BUTTON_INPUT_TYPES = {"submit", "button", "reset"}

# The blocks that skip to their end tag: translated text and comments.
OPENS = {
    "blocktranslate": "endblocktranslate",
    "blocktrans": "endblocktrans",
    "comment": "endcomment",
}
# Blocks their parent template puts inside an attribute that is not spoken (a
# class), so their text is a name for the style sheet, not words.
ATTRIBUTE_BLOCKS = {"body_class", "bodyclass"}


def _has_words(text: str) -> bool:
    for word in SAME_IN_EVERY_LANGUAGE:
        text = text.replace(word, "")
    return any(character.isalpha() for character in text)


class _VisibleText(HTMLParser):
    """Collects (line, text) for the words in text and spoken attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._raw_text_depth = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check_attributes(tag, attrs)
        if tag in ("script", "style"):
            self._raw_text_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check_attributes(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._raw_text_depth:
            self._raw_text_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._raw_text_depth and _has_words(data):
            # The line of the words themselves, not of a line break before them.
            first_letter = next(i for i, character in enumerate(data) if character.isalpha())
            line = self.getpos()[0] + data.count("\n", 0, first_letter)
            self.found.append((line, _shown(data)))

    def _check_attributes(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        spoken = set(SPOKEN_ATTRIBUTES)
        if tag == "input" and (values.get("type") or "").lower() in BUTTON_INPUT_TYPES:
            spoken.add("value")
        if tag == "meta" and (values.get("name") or "").lower() == "description":
            spoken.add("content")
        for name, value in attrs:
            if name in spoken and value and _has_words(value):
                self.found.append((self.getpos()[0], f'{name}="{_shown(value)}"'))


def _shown(text: str) -> str:
    """`text` as the failure message shows it: on one line, its dynamic parts marked."""
    return " ".join(text.split()).strip(" " + DYNAMIC).replace(DYNAMIC, "{…}")


def untranslated(source: str) -> list[tuple[int, str]]:
    """(line, string) for each string in the template `source` that a person
    would see or hear untranslated."""
    html: list[str] = []
    open_block: str | None = None  # the end tag that closes the block being skipped
    skipped_from = 0
    for token in DebugLexer(source).tokenize():
        start, end = token.position
        bits = token.split_contents() if token.token_type == TokenType.BLOCK else [""]
        name = bits[0]
        if open_block is not None:
            if name == open_block:
                # The whole block is one dynamic part; its newlines are kept so
                # the HTML parser's line numbers are the template's.
                html.append(DYNAMIC + "\n" * source.count("\n", skipped_from, end))
                open_block = None
            continue
        if name in OPENS:
            open_block, skipped_from = OPENS[name], start
        elif name == "block" and bits[1:2] and bits[1] in ATTRIBUTE_BLOCKS:
            open_block, skipped_from = "endblock", start
        elif token.token_type == TokenType.TEXT:
            html.append(token.contents)
        else:
            html.append(DYNAMIC + "\n" * source.count("\n", start, end))
    if open_block is not None:  # an unclosed block: Django refuses it, so may we
        raise ValueError(f"{{% {open_block} %}} is missing")
    parser = _VisibleText()
    parser.feed("".join(html))
    parser.close()
    return parser.found


def _template_files() -> list[Path]:
    return sorted(
        path for path in TEMPLATES.rglob("*") if path.suffix in (".html", ".txt") and path.is_file()
    )


@pytest.mark.parametrize(
    "path", _template_files(), ids=lambda path: str(path.relative_to(TEMPLATES))
)
def test_template_has_no_untranslated_strings(path):
    found = untranslated(path.read_text(encoding="utf-8"))
    where = path.relative_to(TEMPLATES.parent)
    assert not found, "Put these through {% translate %} or {% blocktranslate %}:\n" + "\n".join(
        f"{where}:{line}: {text}" for line, text in found
    )


# --- the checker itself ---------------------------------------------------------


def test_plain_text_is_found():
    assert untranslated("<p>\n  Hello there</p>") == [(2, "Hello there")]


def test_an_untranslated_aria_label_is_found():
    source = '<button aria-label="Close">×</button>'
    assert untranslated(source) == [(1, 'aria-label="Close"')]


def test_an_attribute_with_a_variable_and_words_is_found():
    source = '<button aria-label="Remove {{ name }} from the team"></button>'
    assert untranslated(source) == [(1, 'aria-label="Remove {…} from the team"')]


def test_a_submit_inputs_value_is_found():
    source = '<input type="submit" value="Save"><input type="hidden" name="next" value="here">'
    assert untranslated(source) == [(1, 'value="Save"')]


def test_a_page_description_is_found():
    source = '<meta name="description" content="Ask about photos"><meta charset="utf-8">'
    assert untranslated(source) == [(1, 'content="Ask about photos"')]


def test_text_in_blocktranslate_is_fine():
    source = (
        "{% load i18n %}<p>{% blocktranslate trimmed with name=user %}\n"
        "  Hello {{ name }}\n{% endblocktranslate %}</p>"
    )
    assert untranslated(source) == []


def test_text_after_blocktranslate_keeps_its_line():
    source = "{% blocktranslate %}\nA\n{% endblocktranslate %}\nLeft out"
    assert untranslated(source) == [(4, "Left out")]


def test_text_in_a_comment_is_fine():
    source = "{% comment %}Why this is here{% endcomment %}{# and a note #}<p></p>"
    assert untranslated(source) == []


def test_a_class_block_is_not_text():
    assert untranslated("{% block body_class %}auth-page{% endblock %}") == []


def test_translate_tag_is_fine():
    source = '{% load i18n %}<a title="{% translate "Home" %}">{% translate "Home" %}</a>'
    assert untranslated(source) == []


def test_a_variable_alone_is_fine():
    assert untranslated('<p title="{{ title }}">{{ title }}</p>') == []


def test_script_and_style_are_not_text():
    source = "<script>const word = 'hello';</script><style>p::after { content: 'x'; }</style>"
    assert untranslated(source) == []


def test_the_brand_and_marks_are_fine():
    assert untranslated("{{ page }} · VisionQA — ×") == []
