"""Charts as inline SVG, drawn on the server (no script, nothing the CSP has to allow), each
with the table of its numbers beside it for screen readers and for anyone who wants the
figures. Colours come from the stylesheet's classes (light and dark alike)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dockyard.registry.console._html import e, table

__all__ = ["Bar", "Series", "bars", "columns"]

_W = 640  # the viewBox's width; the SVG scales to the page's


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    kind: str = ""  # a CSS class suffix (e.g. a severity) for its colour


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    kind: str  # CSS class suffix
    values: tuple[int, ...]


def _svg(ident: str, height: int, summary: str, inner: str) -> str:
    return (
        f'<svg class="chart" id="{e(ident)}" viewBox="0 0 {_W} {height}" width="100%" '
        f'role="img" aria-label="{e(summary)}" preserveAspectRatio="xMinYMin meet">'
        f"{inner}</svg>"
    )


def bars(
    ident: str,
    caption: str,
    items: Sequence[Bar],
    *,
    unit: str,
    label: str,
    text: Callable[[int], str] = str,
) -> str:
    """Horizontal bars, one a row, labelled with their value; then the table."""
    if not items:
        return f'<figure><figcaption>{e(caption)}</figcaption><p class="muted">none</p></figure>'
    top = max(max(b.value for b in items), 1)
    row, label_w = 26, 170
    span = _W - label_w - 110
    inner = []
    for i, b in enumerate(items):
        y = i * row
        width = round(span * b.value / top) if b.value > 0 else 0
        inner.append(
            f'<text class="label" x="{label_w - 8}" y="{y + 17}" text-anchor="end">'
            f"{e(_clip(b.label))}</text>"
            f'<rect class="bar {e(b.kind)}" x="{label_w}" y="{y + 4}" width="{max(width, 1)}" '
            f'height="{row - 8}"></rect>'
            f'<text class="value" x="{label_w + width + 6}" y="{y + 17}">{e(text(b.value))}</text>'
        )
    summary = f"{caption}: " + "; ".join(f"{b.label} {text(b.value)}" for b in items)
    rows = [[e(b.label), e(text(b.value))] for b in items]
    return (
        f"<figure><figcaption>{e(caption)}</figcaption>"
        + _svg(ident, row * len(items) + 4, summary[:1000], "".join(inner))
        + table(f"{caption} (table)", [label, unit], rows)
        + "</figure>"
    )


def columns(
    ident: str, caption: str, labels: Sequence[str], series: Sequence[Series], *, unit: str
) -> str:
    """Grouped vertical columns, one group a label (e.g. a day), a legend; then the table."""
    height, base, left = 180, 150, 40
    top = max([max(s.values, default=0) for s in series] + [1])
    group = (_W - left - 10) / max(len(labels), 1)
    width = max(group / (len(series) + 1), 1.0)
    inner = [
        f'<line class="axis" x1="{left}" y1="{base}" x2="{_W - 10}" y2="{base}"></line>'
        f'<text class="label" x="{left - 6}" y="{14}" text-anchor="end">{top}</text>'
        f'<text class="label" x="{left - 6}" y="{base}" text-anchor="end">0</text>'
    ]
    for i, _ in enumerate(labels):
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else 0
            h = round((base - 10) * value / top)
            x = left + i * group + j * width + width / 2
            inner.append(
                f'<rect class="bar {e(s.kind)}" x="{x:.1f}" y="{base - h}" '
                f'width="{width:.1f}" height="{h}"></rect>'
            )
    for i in (0, len(labels) - 1):
        if labels:
            anchor = "start" if i == 0 else "end"
            x = left if i == 0 else _W - 10
            inner.append(
                f'<text class="label" x="{x}" y="{base + 18}" text-anchor="{anchor}">'
                f"{e(labels[i])}</text>"
            )
    for j, s in enumerate(series):
        x = left + j * 140
        inner.append(
            f'<rect class="bar {e(s.kind)}" x="{x}" y="{base + 26}" width="12" height="12"></rect>'
            f'<text class="label" x="{x + 18}" y="{base + 37}">{e(s.name)}</text>'
        )
    totals = ", ".join(f"{s.name} {sum(s.values)}" for s in series)
    summary = (
        f"{caption}, {labels[0] if labels else ''} to {labels[-1] if labels else ''}: {totals}"
    )
    rows = [
        [e(label)] + [e(s.values[i] if i < len(s.values) else 0) for s in series]
        for i, label in enumerate(labels)
        if any(i < len(s.values) and s.values[i] for s in series)
    ]
    return (
        f"<figure><figcaption>{e(caption)}</figcaption>"
        + _svg(ident, height + 24, summary, "".join(inner))
        + table(
            f"{caption}: days with any (table, {unit})", ["Day"] + [s.name for s in series], rows
        )
        + "</figure>"
    )


def _clip(label: str, most: int = 22) -> str:
    return label if len(label) <= most else label[: most - 1] + "…"
