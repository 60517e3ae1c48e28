"""Charts as inline SVG markup, drawn on the server (no Flask, no JavaScript).

The site's Content-Security-Policy allows no inline style, so colours and sizes are SVG presentation
attributes (fill, font-size), never style="". Every chart is an image with a title and a
description (role="img", aria-labelledby); the page shows the same figures as a table next to it.
Every text is escaped here: the result is safe to insert as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

WIDTH = 720
TEXT = "#0b0c0c"
AXIS = "#505a5f"
BAR = "#1d70b8"
LEVEL_COLOURS = {
    "urgent": "#d4351c",
    "discuss_before_booking": "#f47738",
    "mention_at_consultation": "#ffdd00",
    "none": "#b1b4b6",
}
OTHER_COLOURS = ("#4c2c92", "#00703c", "#28a197", "#912b88")


def level_colour(level: str, index: int = 0) -> str:
    return LEVEL_COLOURS.get(level, OTHER_COLOURS[index % len(OTHER_COLOURS)])


def _open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
    ]


def bar_chart(
    chart_id: str, title: str, description: str, bars: Sequence[tuple[str, float, str]], label_width: int = 260
) -> str:
    """Horizontal bars: (label, share from 0 to 1, the value written at the bar's end), one per row."""
    row, top = 26, 10
    height = top * 2 + row * max(len(bars), 1)
    span = WIDTH - label_width - 90
    out = _open(chart_id, title, description, height)
    if not bars:
        out.append(f'<text x="0" y="{top + 17}" fill="{TEXT}" font-size="14">Nothing to show for this range.</text>')
    for i, (label, value, written) in enumerate(bars):
        y = top + i * row
        length = max(0.0, min(1.0, value)) * span
        shown = label if len(label) <= 36 else label[:35] + "\u2026"
        out.append(
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" fill="{TEXT}" font-size="14">'
            f"{escape(shown)}</text>"
        )
        out.append(f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" fill="{BAR}"/>')
        out.append(
            f'<text x="{label_width + length + 6:.1f}" y="{y + 17}" fill="{TEXT}" font-size="14">'
            f"{escape(written)}</text>"
        )
    out.append(f'<line x1="{label_width}" y1="{top}" x2="{label_width}" y2="{height - top}" stroke="{AXIS}"/>')
    out.append("</svg>")
    return "\n".join(out)


def stacked_weeks(
    chart_id: str,
    title: str,
    description: str,
    weeks: Sequence[date],
    counts: Mapping[date, Mapping[str, int]],
    levels: Sequence[str],
    level_titles: Mapping[str, str],
) -> str:
    """One column per week, stacked by level (in `levels` order, the highest at the bottom), with a
    legend and the weeks' dates under the columns (every few weeks when there are many)."""
    left, top, plot_height, legend_row = 50, 10, 220, 22
    height = top + plot_height + 40 + legend_row * len(levels)
    most = max([sum(counts.get(w, {}).values()) for w in weeks] + [1])
    scale = plot_height / most
    slot = (WIDTH - left - 10) / max(len(weeks), 1)
    width = max(2.0, slot * 0.7)
    every = max(1, round(len(weeks) / 8 + 0.49))
    base = top + plot_height
    out = _open(chart_id, title, description, height)
    out.append(f'<text x="{left - 6}" y="{top + 12}" text-anchor="end" fill="{TEXT}" font-size="12">{most}</text>')
    out.append(f'<text x="{left - 6}" y="{base}" text-anchor="end" fill="{TEXT}" font-size="12">0</text>')
    for i, week in enumerate(weeks):
        x = left + i * slot + (slot - width) / 2
        y = float(base)
        for j, level in enumerate(levels):
            n = counts.get(week, {}).get(level, 0)
            if not n:
                continue
            h = n * scale
            y -= h
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" fill="{level_colour(level, j)}"/>'
            )
        if i % every == 0:
            out.append(
                f'<text x="{x + width / 2:.1f}" y="{base + 16}" text-anchor="middle" fill="{TEXT}" '
                f'font-size="12">{week.strftime("%d %b")}</text>'
            )
    out.append(f'<line x1="{left}" y1="{base}" x2="{WIDTH - 10}" y2="{base}" stroke="{AXIS}"/>')
    for j, level in enumerate(levels):
        y = base + 34 + j * legend_row
        out.append(f'<rect x="{left}" y="{y}" width="14" height="14" fill="{level_colour(level, j)}" stroke="{AXIS}"/>')
        out.append(
            f'<text x="{left + 20}" y="{y + 12}" fill="{TEXT}" font-size="14">'
            f"{escape(level_titles.get(level, level))}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)
