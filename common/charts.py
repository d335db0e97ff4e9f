"""Server-side charts for the admin pages: matplotlib figures rendered to PNG.

Pages embed each chart inline as a ``data:image/png`` URI (``chart_img``). A page is then one
request: no chart URLs to route, authorise and keep in step with the page that links them.
A chart is a few tens of kilobytes, which is fine for staff pages.

Figures are built with the object-oriented API (``matplotlib.figure.Figure``), never
``pyplot``: pyplot keeps global state, which is unsafe in a threaded web server.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")

from django.utils.html import format_html  # noqa: E402
from django.utils.safestring import SafeString  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

# One palette for the emotions on every chart, in label order (Q1…Q4 for 4Q).
EMOTION_COLOURS = ("#e6a100", "#d1495b", "#3d5a80", "#5aa469", "#8e7dbe", "#7f7f7f")
DPI = 100


def new_figure(*, width: float = 6.0, height: float = 3.0) -> Figure:
    """A figure of ``width`` × ``height`` inches (600 × 300 px by default)."""
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def emotion_colour(index: int) -> str:
    return EMOTION_COLOURS[index % len(EMOTION_COLOURS)]


def figure_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def chart_img(figure: Figure, *, alt: str) -> SafeString:
    """An ``<img class="chart">`` with the figure as an inline PNG; ``alt`` says what it shows."""
    encoded = base64.b64encode(figure_png(figure)).decode("ascii")
    return format_html('<img class="chart" alt="{}" src="data:image/png;base64,{}">', alt, encoded)


def empty_chart(message: str, *, width: float = 6.0, height: float = 1.2) -> Figure:
    """A figure that says there is nothing to plot yet, so a page never shows a blank frame."""
    figure = new_figure(width=width, height=height)
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=10, color="#555555")
    return figure
