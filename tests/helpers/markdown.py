"""Markdown rendered the way a plain viewer renders it, and what in the HTML
would run or fetch something.

The renderer is marked (node_modules, the page's own library) with its
defaults and nothing of ours: no sanitizer, no renderer hooks. One node
process serves a whole test module."""

import json
import subprocess
from html.parser import HTMLParser
from pathlib import Path

MARKED = Path(__file__).resolve().parents[2] / "node_modules" / "marked" / "lib" / "marked.esm.js"
_SCRIPT = f"""
import {{ marked }} from {json.dumps(MARKED.as_uri())};
import readline from "node:readline";
for await (const line of readline.createInterface({{ input: process.stdin }})) {{
  const html = marked.parse(JSON.parse(line), {{ gfm: true, async: false }});
  process.stdout.write(JSON.stringify(html) + "\\n");
}}
"""

# What Markdown itself makes; anything else came from raw HTML.
MARKDOWN_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "del", "code", "pre",
    "ul", "ol", "li", "blockquote", "hr", "br", "a", "img", "input",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    "input": {"type", "checked", "disabled"},  # a task list's box
}
SAFE_LINK = ("http:", "https:", "mailto:")


class Marked:
    def __init__(self) -> None:
        self._node = subprocess.Popen(
            ["node", "--input-type=module", "-e", _SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def render(self, markdown: str) -> str:
        self._node.stdin.write(json.dumps(markdown) + "\n")
        self._node.stdin.flush()
        return json.loads(self._node.stdout.readline())

    def close(self) -> None:
        self._node.stdin.close()
        self._node.wait(timeout=10)


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.text.append(data)


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def shown_text(html: str) -> str:
    """What a reader sees, tags gone and entities read."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return "".join(parser.text)


def live_parts(html: str, *, pictures: tuple[str, ...] = ()) -> list[str]:
    """Everything in `html` a viewer would run or fetch: tags raw HTML made,
    attributes Markdown never writes, links to other schemes, and pictures
    other than the local files `pictures` names."""
    found = []
    for tag, attrs in elements(html):
        if tag not in MARKDOWN_TAGS:
            found.append(f"<{tag}>")
            continue
        found += [f"<{tag} {name}>" for name in attrs if name not in ATTRIBUTES.get(tag, set())]
        if tag == "a" and "href" in attrs and not attrs["href"].lower().startswith(SAFE_LINK):
            found.append(f"link to {attrs['href']}")
        if tag == "img" and attrs.get("src") not in pictures:
            found.append(f"picture from {attrs.get('src')}")
        if tag == "input" and attrs.get("type") != "checkbox":
            found.append(f"<input type={attrs.get('type')}>")
    return found
