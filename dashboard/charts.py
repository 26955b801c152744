"""Plotly figures shared by the pages (presentation only; the numbers come from ``core``)."""

from __future__ import annotations

import plotly.graph_objects as go

#: How the chart explains SWD's unit, in every hover.
SWD_UNIT = "SWD values are multiplied by 1000 for readability (as in the Progressive GAN paper)"


def swd_figure(result, noise_floor=None, title: str = "SWD per level of detail") -> go.Figure:
    """Bar chart of per-level SWD (finest level first), values written on the bars, the average
    as a dashed line named in the legend (so its label never covers a bar); optional noise floor
    (SWD between two halves of A) as a second, labelled bar series. Hovers say what each level
    shows and the unit."""
    from core.metrics.verdict import level_meaning

    levels = result.levels
    xs = [f"{lv.resolution} px" for lv in levels]
    meaning = [level_meaning(i, len(levels)) for i in range(len(levels))]
    hover = (
        "<b>%{x} level</b>: %{customdata}<br>%{fullData.name}: %{y:.2f}<br>" + SWD_UNIT + "<extra></extra>"
    )
    fig = go.Figure()
    fig.add_bar(
        x=xs,
        y=[lv.value for lv in levels],
        name="set A vs set B",
        text=[f"{lv.value:.2f}" for lv in levels],
        textposition="outside",
        customdata=meaning,
        hovertemplate=hover,
        cliponaxis=False,
    )
    heights = [lv.value for lv in levels]
    if noise_floor is not None:
        floor = {lv.resolution: lv.value for lv in noise_floor.levels}
        values = [floor.get(lv.resolution) for lv in levels]
        fig.add_bar(
            x=xs,
            y=values,
            name="noise floor (two halves of set A)",
            text=[f"{v:.2f}" if v is not None else "" for v in values],
            textposition="outside",
            customdata=meaning,
            hovertemplate=hover,
            opacity=0.6,
            cliponaxis=False,
        )
        heights += [v for v in values if v is not None]
    fig.add_hline(y=result.average, line_dash="dash", line_color="#555")
    fig.add_scatter(  # the average's legend entry (a line has no legend of its own)
        x=[None],
        y=[None],
        mode="lines",
        line=dict(dash="dash", color="#555"),
        name=f"average of the levels: {result.average:.2f}",
        hoverinfo="skip",
    )
    fig.update_layout(
        title=title,
        xaxis_title="level of detail (image size at that level): fine → coarse",
        yaxis_title="difference (SWD; lower = closer)",
        yaxis_range=[0, 1.15 * max([*heights, result.average, 1e-9])],
        barmode="group",
        height=400,
        margin=dict(l=40, r=20, t=50, b=40),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def class_share_figure(balance, title: str = "Class shares: set A vs set B") -> go.Figure:
    """Grouped bars of each class's share of set A and of set B (in %), B's bar of a flagged
    class (missing, too rare, too common) in red with the flag written on it."""
    names = [r.name for r in balance.rows]
    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=[100 * r.share_a for r in balance.rows],
        name=f"set A ({balance.n_a} labelled images)",
        offsetgroup="A",
        marker_color="#7f8c8d",
        hovertemplate="<b>%{x}</b><br>set A: %{y:.1f} %<extra></extra>",
    )
    # B's bars as two traces in one slot (offsetgroup), so that the legend shows B's colour and
    # the flagged classes' colour each under its own name
    for flagged, colour, label in (
        (False, "#1f77b4", f"set B ({balance.n_b} images, assigned by {balance.k}-NN)"),
        (True, "#d62728", "set B, flagged class (missing, too rare or too common)"),
    ):
        rows = [r for r in balance.rows if bool(r.flag) == flagged]
        if flagged and not rows:
            continue
        fig.add_bar(
            x=[r.name for r in rows],
            y=[100 * r.share_b for r in rows],
            name=label,
            offsetgroup="B",
            marker_color=colour,
            text=[r.flag for r in rows],
            textposition="outside",
            cliponaxis=False,
            customdata=[[r.count_b, r.expected_b] for r in rows],
            hovertemplate="<b>%{x}</b><br>set B: %{y:.1f} % (%{customdata[0]} images, "
            "%{customdata[1]:.1f} expected at A's share)<extra></extra>",
        )
    fig.update_layout(
        title=title,
        barmode="group",
        xaxis=dict(categoryorder="array", categoryarray=names),
        yaxis_title="share of the set (%)",
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        margin=dict(t=80),
    )
    return fig
