"""Plotly figures shared by the pages (presentation only; the numbers come from ``core``)."""

from __future__ import annotations

import plotly.graph_objects as go

RUN_COLORS = {"A": "#1f77b4", "B": "#d62728"}


def swd_figure(result, noise_floor=None, title: str = "SWD per pyramid level") -> go.Figure:
    """Bar chart: resolution on x, SWD x1e3 on y, a dashed line at the average; optional noise
    floor (SWD between two halves of A) as a second bar series."""
    xs = [f"{lv.resolution} px" for lv in result.levels]
    fig = go.Figure()
    fig.add_bar(
        x=xs,
        y=[lv.value for lv in result.levels],
        name="A vs B",
        text=[f"{lv.value:.2f}" for lv in result.levels],
        textposition="inside",
        insidetextanchor="end",
    )
    if noise_floor is not None:
        floor = {lv.resolution: lv.value for lv in noise_floor.levels}
        fig.add_bar(
            x=xs,
            y=[floor.get(lv.resolution) for lv in result.levels],
            name="noise floor (A half vs half)",
            opacity=0.6,
        )
    fig.add_hline(
        y=result.average,
        line_dash="dash",
        annotation_text=f"average {result.average:.2f}",
        annotation_position="top left",
    )
    fig.update_layout(
        title=title,
        xaxis_title="pyramid level (resolution)",
        yaxis_title="SWD × 1e3",
        barmode="group",
        height=380,
        margin=dict(l=40, r=20, t=50, b=40),
        legend=dict(orientation="h"),
    )
    return fig


def run_loss_figure(panels: dict, step: int) -> go.Figure:
    """Loss curves of runs A/B (D, G, and the WGAN critic's EM estimate on a second axis) with a
    vertical line at the current step; ``panels`` maps label to a ``core.gan.runs.Timeline``."""
    fig = go.Figure()
    for label, tl in panels.items():
        if tl.losses is None or not tl.losses.steps:
            continue
        c = RUN_COLORS[label]
        fig.add_scatter(
            x=tl.losses.steps,
            y=tl.losses.loss_d,
            name=f"{label}: loss D",
            mode="lines",
            line=dict(color=c, width=1),
        )
        fig.add_scatter(
            x=tl.losses.steps,
            y=tl.losses.loss_g,
            name=f"{label}: loss G",
            mode="lines",
            line=dict(color=c, width=1, dash="dot"),
        )
        if tl.losses.has_em:
            fig.add_scatter(
                x=tl.losses.steps,
                y=tl.losses.em_estimate,
                name=f"{label}: EM estimate",
                mode="lines",
                line=dict(color=c, width=2, dash="dash"),
                yaxis="y2",
            )
    fig.add_vline(x=step, line_color="gray", line_dash="dash")
    fig.update_layout(
        title="Losses (EM estimate on the right axis)",
        xaxis_title="step",
        yaxis_title="loss",
        yaxis2=dict(title="E[D(real)] − E[D(fake)]", overlaying="y", side="right", showgrid=False),
        height=360,
        margin=dict(l=40, r=40, t=50, b=40),
        legend=dict(orientation="h"),
    )
    return fig


def run_quality_figure(panels: dict, step: int) -> go.Figure:
    """SWD quality curves of runs A/B with a vertical line at the current step."""
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
        )
    fig.add_vline(x=step, line_color="gray", line_dash="dash")
    fig.update_layout(
        title="Quality: SWD of samples vs training images (lower is closer)",
        xaxis_title="step",
        yaxis_title="SWD avg × 1e3",
        height=360,
        margin=dict(l=40, r=20, t=50, b=40),
        legend=dict(orientation="h"),
    )
    return fig
