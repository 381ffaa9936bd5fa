"""The progress chart: unclassified assets and conflicts per classify run, as a small SVG drawn by hand.

Takes the ``trend`` that ``autotag.report.progress_trend`` reads from the runs table (one truth for the
report, its ``progress.svg`` and the review page), and needs no plotting library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

SERIES = (("unclassified", "#d97706"), ("conflicts", "#dc2626"))
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 36


def _nice_max(value: int) -> int:
    """The axis top: 1, 2 or 5 times a power of ten, at least ``value``."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if step * m >= value:
                return step * m
        step *= 10


def progress_svg(trend: Sequence[Mapping[str, Any]], *, title: str = "Progress per classify run") -> str:
    """An SVG line chart of ``trend`` (dicts with run, at, unclassified, conflicts), oldest run left."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((int(p.get(k, 0)) for p in trend for k, _ in SERIES), default=0))
    n = len(trend)

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y(v: int) -> float:
        return TOP + plot_h - plot_h * v / top

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11" role="img">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for frac in (0, 0.5, 1):
        value = round(top * frac)
        yy = y(value)
        out.append(f'<line x1="{LEFT}" y1="{yy:.1f}" x2="{WIDTH - RIGHT}" y2="{yy:.1f}" stroke="#e5e7eb"/>')
        out.append(f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#555">{value}</text>')
    if not trend:
        out.append(
            f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" fill="#555">'
            "no classify run yet</text>"
        )
    label_every = max(1, n // 8)
    for i, point in enumerate(trend):
        if i % label_every == 0 or i == n - 1:
            out.append(
                f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="#555">'
                f"run {escape(str(point.get('run', i + 1)))}</text>"
            )
    for s, (key, colour) in enumerate(SERIES):
        points = " ".join(f"{x(i):.1f},{y(int(p.get(key, 0))):.1f}" for i, p in enumerate(trend))
        if n > 1:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        for i, p in enumerate(trend):
            value = int(p.get(key, 0))
            out.append(
                f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3" fill="{colour}">'
                f"<title>run {escape(str(p.get('run', '')))}: {value} {key}</title></circle>"
            )
        lx = WIDTH - RIGHT - 200 + s * 100
        out.append(f'<rect x="{lx}" y="8" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{lx + 14}" y="17">{key}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
