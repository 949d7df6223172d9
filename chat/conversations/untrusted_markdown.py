"""Markdown someone else wrote (a model's answer, a teammate's question), made
safe to open in any Markdown viewer while staying Markdown: the rules of the
page's renderer (static/chat/markdown.js), applied to the source instead of the
HTML. Raw HTML reads as the text it is, pictures are never loaded ("Picture
not shown: …"), links go only to http, https or mailto addresses; lists,
tables, emphasis, links and code stay as written, and code keeps its content
verbatim (HTML in code is inert).

Safety never rests on guessing a viewer's parse the way it would go: the
places the guess matters are made unambiguous instead (checked against marked,
which parses a little apart from CommonMark, in the tests).
- Fenced code blocks (the ones models write) are found with their fences,
  then written out again at the left margin between blank lines, with a fence
  longer than any backtick run inside: a code block in every CommonMark viewer,
  whatever surrounded it. Any other line that could open or close a fence is
  escaped, so no viewer finds a code block that was not found here. (Code
  written inside a list item moves to the margin; the text reads the same.)
- Inline code (`<b>`) is kept verbatim only where every viewer must see the
  same code span: its backticks pair within its line; it holds no backtick,
  "~", "|", "](" or "]:" (which some viewers read across a span, see
  _plain_code); and nothing before it in the paragraph could swallow a
  backtick (a URL, a link's destination or title, an unpaired backtick, a
  table's cell border). Past any such doubt the paragraph is treated as
  text: still safe, at worst showing "&lt;" inside code.
- A line that may start a link definition keeps it only when the definition
  is whole on that line, to a safe address: marked reads one on across lines,
  code blocks included. Otherwise its "[" is escaped.
Everything else is text, where `<` becomes `&lt;`, an image becomes its words,
and a link or link definition to any other scheme is broken into text.

Indented code blocks are not told apart from text (a list item's indented
paragraph looks the same): the `<` in them shows as "&lt;"."""

import html
import re

from django.utils.translation import gettext as _

_FENCE_OPEN = re.compile(
    r"^(?P<lead>[ \t]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$"
)
_FENCE_CLOSE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*$")
# Any line on which a viewer could find a fence, inside quotes and lists too.
_FENCE_LIKE = re.compile(
    r"^(?P<lead>(?:[ \t]|>|(?:[-+*]|\d{1,9}[.)])(?=[ \t]))*)(?P<fence>`{3}|~{3})"
)
# What, in a paragraph's text, could take a backtick into something other
# than a code span: a link's destination or title, a definition, an autolinked
# address or e-mail, a table cell border.
_RISKY = re.compile(r"\]\(|\]:|://|www\.|@|\|", re.IGNORECASE)
_SAFE_LINK = re.compile(r"^(?:https?:|mailto:)", re.IGNORECASE)
# GFM viewers (marked among them) also link ftp:// addresses found in text.
_FTP = re.compile(r"ftp:(?=//)", re.IGNORECASE)
_ESCAPABLE = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
# A line whose content, past any quote or list markers, starts with "[":
# possibly a link definition.
_DEFINITION_START = re.compile(r"^(?:[ \t]|>|(?:[-+*]|\d{1,9}[.)])(?=[ \t]))*\[")
# A whole link definition on one line, its title (if any) closed.
_ONE_LINE_DEFINITION = re.compile(
    r"\]:[ \t]*[^\s<]\S*(?:[ \t]+(?:\"[^\"]*\"|'[^']*'|\([^()]*\)))?[ \t]*$"
)
_DEFINITION_LABEL = re.compile(r"^[ \t>]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)*\[([^\]]+)\]:")
_ENTITY = re.compile(r"&#?\w+;")
_PLAIN_SPECIAL = frozenset("\\`*_[]>#!|~")
_BACKTICKS = re.compile(r"`+")
# The start of a link destination (CommonMark's: after spaces or tabs, up to a
# space or a control): enough to read its scheme, each character written as an
# entity at worst. No more, or a line of "](](](…" would cost its length squared.
_DESTINATION = re.compile(r"[ \t]*([^\x00-\x20\x7f]{0,100})")


def markdown_defuse(text: str) -> str:
    """`text`, Markdown, with nothing in it that a viewer would run or fetch."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    labels = {_label(m.group(1)) for line in lines if (m := _DEFINITION_LABEL.match(line))}
    out: list[str] = []
    paragraph: list[str] = []
    index = 0
    while index < len(lines):
        opened = _FENCE_OPEN.match(lines[index])
        if opened and not (opened["fence"][0] == "`" and "`" in opened["info"]):
            out += _text(paragraph, labels)
            paragraph = []
            index = _code(lines, index, opened, out)
            if index < len(lines) and not _blank(lines[index]):
                out.append("")
            continue
        paragraph.append(lines[index])
        index += 1
    out += _text(paragraph, labels)
    while out and _blank(out[-1]):
        out.pop()
    while out and _blank(out[0]):
        out.pop(0)
    return "\n".join(out)


def markdown_plain(text: str) -> str:
    """`text` on one line, shown as it is: Markdown's own characters lose their meaning."""
    text = " ".join(text.split())
    out = []
    for index, char in enumerate(text):
        if char == "<":
            out.append("&lt;")
        elif char in _PLAIN_SPECIAL:
            out.append("\\" + char)
        elif char == "&" and _ENTITY.match(text, index):
            out.append("\\&")  # else it shows as the character it names, not as typed
        else:
            out.append(char)
    return _FTP.sub(r"ftp\\:", "".join(out))


def _code(lines: list[str], start: int, opened: re.Match[str], out: list[str]) -> int:
    """Write the fenced block opened at `start` at the margin; return the line after it."""
    fence, lead = opened["fence"], len(opened["lead"].expandtabs(4))
    body: list[str] = []
    index = start + 1
    while index < len(lines):
        closed = _FENCE_CLOSE.match(lines[index])
        if closed and closed["fence"][0] == fence[0] and len(closed["fence"]) >= len(fence):
            index += 1
            break
        body.append(_dedent(lines[index], lead))
        index += 1
    longest = max((len(run) for line in body for run in re.findall(r"`+", line)), default=0)
    new_fence = "`" * max(3, longest + 1)
    info = opened["info"].strip().split(maxsplit=1)
    # The language names a CSS class: letters, digits and the few signs of "c++" or "c#".
    language = re.sub(r"[^\w.+#-]", "", info[0]) if info else ""
    if out and not _blank(out[-1]):
        out.append("")
    out += [new_fence + language, *body, new_fence]
    return index


def _dedent(line: str, columns: int) -> str:
    taken = 0
    while taken < min(columns, len(line)) and line[taken] == " ":
        taken += 1
    return line[taken:]


def _text(lines: list[str], labels: set[str]) -> list[str]:
    out = []
    risky = False  # past something that may pair a backtick differently: no more verbatim code
    for line in lines:
        if _blank(line):
            risky = False  # a blank line ends every paragraph
            out.append(line)
            continue
        line = _FENCE_LIKE.sub(lambda m: m["lead"] + "\\" + m["fence"], line)
        line = _definition_on_one_line(line)
        spans, risky = _code_spans(line, risky)
        out.append(_line(line, spans, labels))
    return out


def _definition_on_one_line(line: str) -> str:
    """`line`, its leading "[" escaped unless the link definition it may start
    is whole on it, to a safe address. marked reads a definition's label and
    title on and on across lines, blank ones and code blocks included, and
    what follows where it ends is no longer where we think."""
    start = _DEFINITION_START.match(line)
    if start is None:
        return line
    bracket = start.end() - 1
    pos = start.end()
    while pos < len(line) and line[pos] not in "[]":
        pos += 2 if line[pos] == "\\" else 1
    if pos < len(line) and line[pos] == "]":
        if not line.startswith("]:", pos):
            return line  # a link, or text: its label ends here
        if _ONE_LINE_DEFINITION.match(line, pos) and _safe_destination(line, pos + 2):
            return line
    return line[:bracket] + "\\" + line[bracket:]


def _code_spans(line: str, risky: bool) -> tuple[list[tuple[int, int]], bool]:
    """The (start, end) of each code span on `line` every viewer agrees on, and
    whether the paragraph is risky from the next line on."""
    spans = []
    text_from = pos = 0
    while pos < len(line):
        char = line[pos]
        if char == "\\" and pos + 1 < len(line) and line[pos + 1] in _ESCAPABLE:
            pos += 2
            continue
        if char != "`":
            pos += 1
            continue
        run_end = pos
        while run_end < len(line) and line[run_end] == "`":
            run_end += 1
        close = _closing_run(line, run_end, run_end - pos)
        risky = risky or bool(_RISKY.search(line, text_from, pos))
        if close is None:
            risky = True  # it may pair with a backtick on a later line
            pos = run_end
            continue
        end = close + run_end - pos
        if risky or not _plain_code(line, pos, line[run_end:close]):
            risky = True
        else:
            spans.append((pos, end))
            text_from = end
        pos = end
    risky = risky or bool(_RISKY.search(line, text_from))
    return spans, risky


def _plain_code(line: str, start: int, content: str) -> bool:
    """Whether the span of `content` at `start` is code in every viewer, marked
    included, which parses a little apart from CommonMark: a table's "|" splits
    it; marked glues a "~" before its backticks into text, its strikethrough
    ("~"), or its emphasis across a span holding backticks, can end inside it,
    and a link's text may take in the opening backticks, then find its "]("
    inside; marked reads a backslash before the closing backticks as an
    escape when it looks for emphasis. A "]:" in it may make its line a link
    definition, code or not."""
    if set(content) & set("|`~") or "](" in content or "]:" in content:
        return False
    if content.endswith("\\"):
        return False
    return not (start and line[start - 1] == "~")


def _closing_run(line: str, start: int, length: int) -> int | None:
    for run in _BACKTICKS.finditer(line, start):
        if len(run.group()) == length:
            return run.start()
    return None


def _line(line: str, spans: list[tuple[int, int]], labels: set[str]) -> str:
    starts = dict(spans)
    # Where each bracket closes, found once: a line of "![![![…" costs no more
    # than its length.
    partners = _partners(line, starts) if "![" in line else {}
    out = []
    pos = 0
    while pos < len(line):
        if pos in starts:
            out.append(line[pos : starts[pos]])
            pos = starts[pos]
            continue
        char = line[pos]
        if char == "\\" and pos + 1 < len(line) and line[pos + 1] in _ESCAPABLE:
            # "\<" is a literal "<" in CommonMark only: say it the way every viewer reads.
            out.append("&lt;" if line[pos + 1] == "<" else line[pos : pos + 2])
            pos += 2
        elif line.startswith("![", pos):
            words, pos = _image(line, pos, partners, labels)
            out.append(words)
        elif line.startswith("](", pos):
            out.append("](" if _safe_destination(line, pos + 2) else "]\\(")
            pos += 2
        elif line.startswith("]:", pos):
            out.append("]:" if _safe_destination(line, pos + 2) else "\\]:")
            pos += 2
        elif char == "<":
            out.append("&lt;")
            pos += 1
        elif _FTP.match(line, pos):
            out.append("ftp\\:")
            pos += 4
        else:
            out.append(char)
            pos += 1
    return "".join(out)


def _image(line: str, start: int, partners: dict[int, int], labels: set[str]) -> tuple[str, int]:
    """An image at `start` as its words, and where the text goes on; or, when it
    can't be told where the image ends, its "[" escaped: no image either way."""
    alt_end = partners.get(start + 1)
    if alt_end is not None:
        alt = line[start + 2 : alt_end]
        after = alt_end + 1
        if line.startswith(("(", "["), after):
            end = partners.get(after)
        else:
            end = alt_end if _label(alt) in labels else None
        if end is not None:
            # Our words in the export, in its reader's language.
            if alt.strip():
                words = _("Picture not shown: %(alt)s") % {"alt": markdown_plain(alt)}
            else:
                words = _("Picture not shown")
            return f"*{words}*", end + 1
    return "!\\[", start + 2


def _partners(line: str, spans: dict[int, int]) -> dict[int, int]:
    """{where a "[" or "(" opens: where it closes} on `line`, escapes and code skipped."""
    partners = {}
    open_at: dict[str, list[int]] = {"[": [], "(": []}
    closing = {"]": "[", ")": "("}
    pos = 0
    while pos < len(line):
        if pos in spans:
            pos = spans[pos]
            continue
        char = line[pos]
        if char == "\\":
            pos += 2
            continue
        if char in open_at:
            open_at[char].append(pos)
        elif char in closing and open_at[closing[char]]:
            partners[open_at[closing[char]].pop()] = pos
        pos += 1
    return partners


def _safe_destination(line: str, start: int) -> bool:
    """Whether the link destination at `start` is an http, https or mailto
    address (as a viewer reads it: escapes and entities decoded)."""
    token = _DESTINATION.match(line, start)
    assert token is not None  # it matches the empty string
    raw = token.group(1)
    return bool(_SAFE_LINK.match(html.unescape(_BACKSLASH_ESCAPE.sub(r"\1", raw))))


def _blank(line: str) -> bool:
    """A blank line as CommonMark has it: spaces and tabs only (not any Unicode space)."""
    return not line.strip(" \t")


def _label(text: str) -> str:
    return " ".join(text.split()).casefold()
