"""Plotly figures of the lab pages' runs (:mod:`dashboard.run_scrubber`): loss curves, the SWD
quality curve of GAN runs, and the PSNR curves and time per step of image-to-image runs, against
the training step (presentation only; the numbers come from ``core.gan.runs``).

Losses of different models live on different scales (DCGAN's cross-entropies are around 1, a
WGAN critic's values around 0.01), so each run gets its own row and y axis, over one shared step
axis; a run's further named loss terms (``LossLog.extra``, e.g. a CycleGAN's cycle and identity
losses) get a row of their own under it. Every row has its own legend, to the right of the row,
so no legend can cover an axis title or another row. Each row's y range is set to its own data
(with a margin), so no curve is drawn flat by another's scale. Both figures share their margins
and their step range (every step of the runs shown), so their step axes line up on the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.gan.runs import Timeline

RUN_COLORS = {"A": "#1f77b4", "B": "#d62728", "C": "#2ca02c", "D": "#9467bd"}
#: Shades of each run's colour for rows with many curves (a CycleGAN's eight further terms): the
#: run stays recognisable by its hue, the curves by shade and dash.
RUN_SHADES = {
    "A": ("#1f77b4", "#6baed6", "#08306b", "#17becf", "#3182bd", "#9ecae1", "#2c7fb8", "#0b5394"),
    "B": ("#d62728", "#fc9272", "#67000d", "#ff7f0e", "#de2d26", "#fcbba1", "#a50f15", "#e6550d"),
    "C": ("#2ca02c", "#74c476", "#00441b", "#bcbd22", "#31a354", "#a1d99b", "#006d2c", "#78c679"),
    "D": ("#9467bd", "#bcbddc", "#3f007d", "#e377c2", "#756bb1", "#dadaeb", "#54278f", "#c994c7"),
}
DASHES = ("solid", "dot", "dash", "dashdot", "longdash", "longdashdot")
ROW_HEIGHT_PX = 210
#: Left and right margins shared by both figures, so their step axes line up on the page.
MARGIN = dict(l=60, r=200, t=40, b=50)
LEGEND_X = 1.02


def _range(values: Sequence[float], pad: float = 0.06) -> list[float]:
    lo, hi = min(values), max(values)
    span = hi - lo or abs(hi) or 1.0
    return [lo - pad * span, hi + pad * span]


def _step_range(panels: Mapping[str, Timeline]) -> list[int]:
    """First and last step of anything the runs show (frames, losses, quality points)."""
    steps = [s for tl in panels.values() for s in (tl.steps[:1] + tl.steps[-1:])]
    for tl in panels.values():
        for log in (tl.losses, tl.quality, tl.metrics):
            if log is not None and log.steps:
                steps += [log.steps[0], log.steps[-1]]
    return [min(steps, default=0), max(steps, default=1)]


def _loss_rows(panels: Mapping[str, Timeline]) -> list[tuple[str, str, list[tuple[str, list]]]]:
    """``(label, legend title, [(curve name, values), ...])`` per row (see the module docstring)."""
    rows = []
    for label, tl in panels.items():
        log = tl.losses
        if log is None or not log.steps:
            continue
        curves = [("loss D", log.loss_d)] if any(v is not None for v in log.loss_d) else []
        curves.append(("L1 loss" if tl.config.get("kind") == "i2i" else "loss G", log.loss_g))
        if log.has_em:
            curves.append(("EM estimate", log.em_estimate))
        model = tl.config.get("model")
        rows.append((label, f"{label} · {tl.name}" + (f" ({model})" if model else ""), curves))
        extra = [(name, values) for name, values in log.extra.items() if any(v is not None for v in values)]
        if extra:
            rows.append((label, f"{label} · {tl.name}: further terms", extra))
    return rows


def run_loss_figure(panels: Mapping[str, Timeline], step: int) -> go.Figure:
    """Loss curves of runs A/B, one row (own y axis, own legend) per run and per run's further
    terms, over a shared step axis with a dashed line at ``step``."""
    rows = _loss_rows(panels)
    n = max(len(rows), 1)
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, vertical_spacing=0.12 / n)
    for r, (label, title, curves) in enumerate(rows, start=1):
        legend = "legend" if r == 1 else f"legend{r}"
        steps = panels[label].losses.steps
        for j, (name, values) in enumerate(curves):
            dash = DASHES[j % len(DASHES)]
            colour = RUN_COLORS[label] if len(curves) <= 3 else RUN_SHADES[label][j % len(RUN_SHADES[label])]
            fig.add_scatter(
                x=steps,
                y=values,
                name=f"{label}: {name}",
                mode="lines",
                line=dict(color=colour, width=1.5 if dash == "solid" else 1.2, dash=dash),
                legend=legend,
                row=r,
                col=1,
            )
        shown = [v for _, values in curves for v in values if v is not None]
        fig.update_yaxes(title_text="loss", range=_range(shown), row=r, col=1)
        fig.add_vline(x=step, line_color="gray", line_dash="dash", row=r, col=1)
        top = fig.get_subplot(r, 1).yaxis.domain[1]
        fig.update_layout({legend: dict(title_text=title, x=LEGEND_X, xanchor="left", y=top, yanchor="top")})
    fig.update_xaxes(range=_step_range(panels))
    fig.update_xaxes(title_text="step", row=n, col=1)
    fig.update_layout(
        title=dict(text="Losses (each run on its own axis)", x=0, xanchor="left"),
        # explicitly: plotly hides the first legend by default when it holds one curve only (an
        # image-to-image run's single L1 loss), and run A would go unnamed
        showlegend=True,
        height=MARGIN["t"] + MARGIN["b"] + ROW_HEIGHT_PX * n,
        margin=MARGIN,
    )
    return fig


def _finish_step_chart(
    fig: go.Figure, panels: Mapping[str, Timeline], step: int, title: str, yaxis: dict, height: int
) -> go.Figure:
    """The layout every single-axis run chart shares: a dashed line at ``step``, the title on the
    left, the runs' step range, the legend to the right of the plot."""
    fig.add_vline(x=step, line_color="gray", line_dash="dash")
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left"),
        xaxis=dict(title_text="step", range=_step_range(panels)),
        yaxis=yaxis,
        height=MARGIN["t"] + MARGIN["b"] + height,
        margin=MARGIN,
        legend=dict(x=LEGEND_X, xanchor="left", y=1, yanchor="top"),
    )
    return fig


def run_quality_figure(panels: Mapping[str, Timeline], step: int) -> go.Figure:
    """SWD quality curves of runs A/B (one scale: SWD x 1e3 against the training images) with a
    dashed line at ``step``; the legend to the right of the plot."""
    fig = go.Figure()
    for label, tl in panels.items():
        if tl.quality is None or not tl.quality.steps:
            continue
        fig.add_scatter(
            x=tl.quality.steps,
            y=tl.quality.swd_avg,
            name=f"{label}: {tl.name}",
            mode="lines+markers",
            line=dict(color=RUN_COLORS[label]),
            cliponaxis=False,  # markers at the first and last step are drawn whole
        )
    return _finish_step_chart(
        fig,
        panels,
        step,
        "Quality: SWD of samples vs training images (lower is closer)",
        dict(title_text="SWD avg × 1e3"),
        260,
    )


def _finite(steps: Sequence[int], values: Sequence[float | None]) -> tuple[list[int], list[float]]:
    pairs = [(s, float(v)) for s, v in zip(steps, values, strict=True) if v is not None]
    return [s for s, _ in pairs], [v for _, v in pairs]


def run_psnr_figure(panels: Mapping[str, Timeline], step: int) -> go.Figure:
    """Train (dotted) and validation (solid) PSNR of image-to-image runs in each run's colour,
    one shared dB axis, with a dashed line at ``step``."""
    fig = go.Figure()
    for label, tl in panels.items():
        log = tl.metrics
        if log is None:
            continue
        for column, name, dash in (("val_psnr", "validation", "solid"), ("train_psnr", "train", "dot")):
            x, y = _finite(log.steps, log.get(column))
            if x:
                fig.add_scatter(
                    x=x,
                    y=y,
                    name=f"{label}: {tl.name} {name}",
                    mode="lines+markers",
                    line=dict(color=RUN_COLORS[label], dash=dash),
                    marker=dict(size=4),
                    cliponaxis=False,
                )
    return _finish_step_chart(
        fig,
        panels,
        step,
        "PSNR of the output against the clean image (higher is better)",
        dict(title_text="PSNR (dB)"),
        300,
    )


def run_pace_figure(panels: Mapping[str, Timeline], step: int) -> go.Figure:
    """Seconds per training step of image-to-image runs (each point: the mean over the steps since
    the previous measurement), with a dashed line at ``step``."""
    fig = go.Figure()
    for label, tl in panels.items():
        if tl.metrics is None:
            continue
        x, y = _finite(tl.metrics.steps, tl.metrics.get("seconds_per_step"))
        if x:
            fig.add_scatter(
                x=x,
                y=y,
                name=f"{label}: {tl.name}",
                mode="lines+markers",
                line=dict(color=RUN_COLORS[label], shape="vh"),
                marker=dict(size=4),
                cliponaxis=False,
            )
    return _finish_step_chart(
        fig,
        panels,
        step,
        "Time per training step (measured on the machine that trained the run)",
        dict(title_text="seconds per step", rangemode="tozero"),
        220,
    )
