"""Number formatting shared by the terminal and HTML reports (one place for units)."""

from __future__ import annotations

import math


def compact(value: float) -> str:
    """1234567 -> '1.23M', 950 -> '950'; infinities and NaN spelled out."""
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "unbounded" if value > 0 else "-unbounded"
    magnitude = abs(value)
    for threshold, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    return f"{value:.3g}" if magnitude < 100 else f"{value:.0f}"


def share(value: float, digits: int = 1) -> str:
    """0.0123 -> '1.2%'; tiny non-zero shares keep significant digits."""
    if math.isnan(value) or math.isinf(value):
        return compact(value)
    percent = value * 100.0
    if 0 < abs(percent) < 10 ** (-digits):
        return f"{percent:.2g}%"
    return f"{percent:.{digits}f}%"


def availability_percent(value: float) -> str:
    """An availability with enough digits to tell 99.99% from 99.999%."""
    if value >= 1.0:
        return "100%"
    digits = max(1, min(7, math.ceil(-math.log10(1.0 - value)) - 1))
    return f"{value * 100:.{digits}f}%"


def usd(value: float) -> str:
    """Dollars: '$0.91', '$12.3k', '$4.5M'."""
    if math.isinf(value) or math.isnan(value):
        return compact(value)
    if abs(value) < 100:
        return f"${value:.2f}"
    return f"${compact(value)}"


def factor(value: float) -> str:
    """A multiplier: '2.35x'."""
    if math.isinf(value) or math.isnan(value):
        return compact(value)
    return f"{value:.3g}x"


def format_value(value: float, unit: str) -> str:
    """Format `value` by a unit name used in comparison rows."""
    if unit == "share":
        return share(value)
    if unit == "factor":
        return factor(value)
    if unit == "usd":
        return usd(value)
    if unit == "count":
        return f"{value:,.0f}"
    return compact(value)


def change(before: float, after: float, unit: str) -> str:
    """How `after` differs from `before`: percentage points for shares, else relative change."""
    if any(math.isinf(v) or math.isnan(v) for v in (before, after)):
        return ""
    if unit == "share":
        points = (after - before) * 100.0
        return f"{points:+.1f} pt"
    if before == 0:
        return "" if after == 0 else "new"
    return f"{(after - before) / abs(before) * 100.0:+.0f}%"
