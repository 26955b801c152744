"""Plotly figures shared by the pages (presentation only; the numbers come from ``core``)."""

from __future__ import annotations

import plotly.graph_objects as go


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
