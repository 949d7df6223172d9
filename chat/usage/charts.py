"""Charts as SVG markup, drawn on the server from numbers: no JavaScript, no
chart library, nothing for the Content-Security-Policy to refuse.

Every label goes through format_html (escaped); each chart is one accessible
image (role="img", a <title> and a <desc>), each bar carries its own <title>
(a tooltip with the exact number), and the page puts the same numbers in a
table beside the chart for anyone who can't see it.

Colours are SVG attributes (not inline styles, which the CSP forbids); text
and rules use currentColor, so the charts follow the admin's light and dark
themes.

Figures are written in the active language's numbers ("1,234.5" in English,
"1.234,5" in German); coordinates never are.
"""

import math
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.utils import formats
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from chat.numbers import grouped

# Tableau 10: distinguishable, readable on white and on the admin's dark grey.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
FONT = 12
CHAR_W = 6.6  # average glyph width at FONT px, for laying out labels

# A figure as the database sums it (None: nothing to sum).
Figure = int | float | Decimal | None
Format = Callable[[Figure], str]


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def compact(value: Figure) -> str:
    """1234 → "1.2k", 5_600_000 → "5.6M": short enough for an axis."""
    value = float(value or 0)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            text = f"{value / limit:.1f}".rstrip("0").rstrip(".")
            return f"{_decimal_mark(text)}{suffix}"
    if value == int(value):
        return str(int(value))
    return _decimal_mark(f"{value:.2f}".rstrip("0").rstrip("."))


def _decimal_mark(text: str) -> str:
    """A short number's "." as the active language writes it ("1,2" in German)."""
    return text.replace(".", str(formats.get_format("DECIMAL_SEPARATOR")))


def whole(value: Figure) -> str:
    """12345 → "12,345"."""
    return grouped(int(value or 0))


def dollars(value: Figure) -> str:
    """Money: cents once it is a dollar or more, else four places ("$0.0042")."""
    value = Decimal(value or 0)
    if value == 0:
        return "$0"
    return "$" + grouped(value, 2 if abs(value) >= 1 else 4)


def dollars_alike(values: Iterable[Figure]) -> Format:
    """A money format for a column: the same places for every figure in it
    (cents when the largest is a dollar or more, else enough to show it)."""
    largest = max((abs(Decimal(v or 0)) for v in values), default=Decimal(0))
    places = 2 if largest >= 1 else 4 if largest >= Decimal("0.01") else 6

    def fmt(value: Figure) -> str:
        value = Decimal(value or 0)
        return "$0" if value == 0 else "$" + grouped(value, places)

    return fmt


def dollars_axis(value: Figure) -> str:
    value = float(value or 0)
    if value == 0:
        return "$0"
    if abs(value) >= 1000:
        return "$" + compact(value)
    if abs(value) >= 1:
        return "$" + grouped(value, 0 if value == int(value) else 2)
    return "$" + _decimal_mark(f"{value:.3f}".rstrip("0"))


def milliseconds(value: Figure) -> str:
    """A duration for people: "850 ms", "1.4 s"."""
    if value is None:
        return "–"
    if value < 1000:
        return f"{int(value)} ms"
    return f"{grouped(value / 1000, 1)} s"


def percent(rate: float, places: int = 1) -> str:
    """0.5 → "50.0%"."""
    return grouped(rate * 100, places) + "%"


def nice_ticks(maximum: Figure, count: int = 4) -> tuple[float, float]:
    """Round axis steps covering 0..maximum: (step, top)."""
    maximum = float(maximum or 0)
    if maximum <= 0:
        return 1.0, 1.0
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return step, step * math.ceil(maximum / step - 1e-9)


def _truncate(text: object, chars: int) -> str:
    text = str(text)
    return text if len(text) <= chars else text[: max(1, chars - 1)] + "…"


def _svg(
    chart_id: str, title: str, description: str, width: float, height: float, body: str
) -> SafeString:
    return format_html(
        '<svg class="chart" id="{id}" role="img" aria-labelledby="{id}-title {id}-desc" '
        'viewBox="0 0 {w} {h}" width="{w}" height="{h}" preserveAspectRatio="xMinYMin meet" '
        'xmlns="http://www.w3.org/2000/svg" font-size="{font}" fill="currentColor">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
        "{body}</svg>",
        id=chart_id,
        w=_n(width),
        h=_n(height),
        font=FONT,
        title=title,
        desc=description,
        body=body,
    )


def _n(number: float) -> str:
    """A coordinate, short: 12.0 → "12", 12.345 → "12.35"."""
    return f"{number:.2f}".rstrip("0").rstrip(".")


def _legend(names: Sequence[str], x: float, y: int, width: float) -> tuple[SafeString, int]:
    """Swatches and names, wrapping onto as many rows as they need; returns
    (markup, height used)."""
    parts, cx, cy = [], x, y
    for index, name in enumerate(names):
        label = _truncate(name, 40)
        item_w = 17 + len(label) * (CHAR_W + 0.4) + 18
        if cx > x and cx + item_w > x + width:
            cx, cy = x, cy + 18
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="12" height="12" rx="2" fill="{}"/>'
                '<text x="{}" y="{}">{}</text>',
                _n(cx),
                _n(cy),
                colour(index),
                _n(cx + 17),
                _n(cy + 10.5),
                label,
            )
        )
        cx += item_w
    return mark_safe("".join(parts)), (cy - y) + 18 if names else 0


def stacked_bars(
    chart_id: str,
    *,
    title: str,
    description: str,
    categories: Sequence[Any],
    series: Sequence[tuple[str, Sequence[Figure]]],
    value_format: Format = whole,
    axis_format: Format = compact,
    category_format: Callable[[Any], str] = str,
    width: float = 640,
    plot_height: float = 220,
) -> SafeString:
    """Vertical bars, one per category (a day), stacked by series (a model).

    `series` is [(name, [value per category])]. Each segment's tooltip reads
    "Mar 5 · model: value"; each bar's total is in its own <title> too."""
    left, right, top = 56, 22, 6  # room on the right for the last day's label
    legend, legend_h = _legend([name for name, _values in series], left, top, width - left - right)
    top += legend_h + 10
    bottom = 26
    height = top + plot_height + bottom
    totals = [sum((values[i] or 0) for _name, values in series) for i in range(len(categories))]
    step, ceiling = nice_ticks(max(totals, default=0))
    plot_w = width - left - right
    slot = plot_w / max(1, len(categories))
    bar_w = max(1.0, slot * 0.78)

    def y_of(value: float) -> float:
        return top + plot_height - (float(value) / ceiling) * plot_height

    grid = []
    tick = 0.0
    while tick <= ceiling + 1e-9:
        y = y_of(tick)
        grid.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="currentColor" '
                'stroke-opacity="{}" stroke-width="1"/>'
                '<text x="{}" y="{}" text-anchor="end" fill-opacity="0.75">{}</text>',
                left,
                _n(width - right),
                _n(y),
                _n(y),
                "0.45" if tick == 0 else "0.12",
                left - 6,
                _n(y + 4),
                axis_format(tick),
            )
        )
        tick += step

    # The hot loop (days × models): f-strings, and escape() on every text.
    names = [escape(name) for name, _values in series]
    in_all = _("%(day)s: %(total)s in all")
    bars = []
    for i, category in enumerate(categories):
        if not totals[i]:
            continue
        day = escape(category_format(category))
        x, base, segments = _n(left + i * slot + (slot - bar_w) / 2), 0.0, []
        for index, (_name, values) in enumerate(series):
            value = values[i] or 0
            if not value:
                continue
            y0, y1 = y_of(base), y_of(base + float(value))
            segments.append(
                f'<rect x="{x}" y="{_n(y1)}" width="{_n(bar_w)}" height="{_n(max(0.5, y0 - y1))}" '
                f'fill="{colour(index)}"><title>{day} · {names[index]}: '
                f"{escape(value_format(value))}</title></rect>"
            )
            base += float(value)
        whole_bar = in_all % {"day": category_format(category), "total": value_format(totals[i])}
        bars.append(f"<g><title>{escape(whole_bar)}</title>{''.join(segments)}</g>")

    # About seven labels along the bottom, whatever the number of days.
    every = max(1, math.ceil(len(categories) / 7))
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="middle" fill-opacity="0.75">{}</text>',
        (
            (_n(left + i * slot + slot / 2), _n(top + plot_height + 17), category_format(c))
            for i, c in enumerate(categories)
            if (len(categories) - 1 - i) % every == 0
        ),
    )
    body = mark_safe(legend + "".join(grid) + "".join(bars) + labels)
    return _svg(chart_id, title, description, width, height, body)


def hbars(
    chart_id: str,
    *,
    title: str,
    description: str,
    items: Sequence[tuple[Any, ...]],
    value_format: Format = whole,
    note_format: Callable[[Any], str] | None = None,
    width: float = 640,
    bar_height: float = 18,
    gap: float = 8,
    label_chars: int = 24,
) -> SafeString:
    """Horizontal bars, largest first as given: [(label, value)] or
    [(label, value, note)] where the note is shown after the value."""
    label_w = min(label_chars, max((len(str(i[0])) for i in items), default=4)) * CHAR_W + 12
    value_w = 110
    top = 4
    height = top + len(items) * (bar_height + gap) + 4
    plot_w = width - label_w - value_w
    maximum = max((float(i[1] or 0) for i in items), default=0) or 1.0
    rows = []
    for index, item in enumerate(items):
        label, value = item[0], item[1] or 0
        note = item[2] if len(item) > 2 else None
        y = top + index * (bar_height + gap)
        length = max(1.0, float(value) / maximum * plot_w) if value else 0
        shown = value_format(value) + (f" ({note_format(note)})" if note_format else "")
        rows.append(
            format_html(
                "<g><title>{}: {}</title>"
                '<text x="{}" y="{}" text-anchor="end">{}</text>'
                '<rect x="{}" y="{}" width="{}" height="{}" rx="2" fill="{}"/>'
                '<text x="{}" y="{}" fill-opacity="0.85">{}</text></g>',
                label,
                shown,
                _n(label_w - 8),
                _n(y + bar_height / 2 + 4),
                _truncate(label, label_chars),
                _n(label_w),
                _n(y),
                _n(length),
                bar_height,
                colour(0),
                _n(label_w + length + 6),
                _n(y + bar_height / 2 + 4),
                shown,
            )
        )
    return _svg(chart_id, title, description, width, height, mark_safe("".join(rows)))


def grouped_hbars(
    chart_id: str,
    *,
    title: str,
    description: str,
    groups: Sequence[tuple[str, Sequence[Figure]]],
    series_names: Sequence[str],
    value_format: Format = whole,
    width: float = 520,
    bar_height: float = 12,
    label_chars: int = 30,
) -> SafeString:
    """Horizontal bars in groups: [(label, [value per series])], e.g. a model's
    p50 and p95. A legend names the series."""
    label_w = min(label_chars, max((len(str(g[0])) for g in groups), default=4)) * CHAR_W + 12
    value_w = 70
    legend, legend_h = _legend(series_names, label_w, 4, width - label_w)
    top = 4 + legend_h + 8
    group_h = len(series_names) * (bar_height + 2) + 10
    height = top + len(groups) * group_h
    plot_w = width - label_w - value_w
    maximum = max((float(v or 0) for _label, values in groups for v in values), default=0) or 1.0
    rows = []
    for g, (label, values) in enumerate(groups):
        y0 = top + g * group_h
        rows.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end">{}<title>{}</title></text>',
                _n(label_w - 8),
                _n(y0 + (group_h - 10) / 2 + 4),
                _truncate(label, label_chars),
                label,
            )
        )
        for s, value in enumerate(values):
            y = y0 + s * (bar_height + 2)
            length = max(1.0, float(value) / maximum * plot_w) if value else 0
            rows.append(
                format_html(
                    '<g><title>{} · {}: {}</title><rect x="{}" y="{}" width="{}" height="{}" '
                    'rx="2" fill="{}"/><text x="{}" y="{}" fill-opacity="0.85">{}</text></g>',
                    label,
                    series_names[s],
                    value_format(value),
                    _n(label_w),
                    _n(y),
                    _n(length),
                    bar_height,
                    colour(s),
                    _n(label_w + length + 5),
                    _n(y + bar_height - 2),
                    value_format(value),
                )
            )
    return _svg(chart_id, title, description, width, height, mark_safe(legend + "".join(rows)))
