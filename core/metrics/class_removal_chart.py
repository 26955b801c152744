"""The class-removal experiment's chart (:mod:`core.metrics.class_removal`) as a Plotly figure:
one panel per metric column against the number of removed classes (mean ± standard deviation over
the seeds) and the noise floor (none removed) as a band; the imbalance cases, at their own N, are
read in words (:func:`core.metrics.class_removal.experiment_reading`).
Used by the CLI (``experiment class-removal --out``, written as HTML) and the app. Plotly comes
with the ``app`` extra; it is imported when a chart is asked for."""

from __future__ import annotations

from core.metrics.class_removal_reading import SERIES_REMOVAL, case_summary

__all__ = ["experiment_figure"]


def _title(column: str) -> str:
    return column.upper() if " " not in column else f"SWD at {column[4:]}"


def experiment_figure(rows: list[dict], columns: list[str]):
    """A ``plotly.graph_objects.Figure`` of the experiment (see the module)."""
    from plotly.subplots import make_subplots

    summary = case_summary(rows, columns)
    removal = [s for s in summary if s["series"] == SERIES_REMOVAL]
    seeds = max((s["seeds"] for s in summary), default=0)
    cols = min(3, len(columns))
    nrows = -(-len(columns) // cols)
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=[_title(c) for c in columns])
    for i, c in enumerate(columns):
        r, col = i // cols + 1, i % cols + 1
        first = i == 0
        if removal:
            fig.add_scatter(
                x=[s["removed"] for s in removal],
                y=[s[f"{c} mean"] for s in removal],
                error_y=dict(type="data", array=[s[f"{c} std"] or 0.0 for s in removal]),
                mode="lines+markers",
                name=f"classes removed from set B (N = {removal[0]['N']})",
                legendgroup="removal",
                showlegend=first,
                line=dict(color="#1f77b4"),
                row=r,
                col=col,
            )
            floor = removal[0]
            m, sd = floor[f"{c} mean"], floor[f"{c} std"] or 0.0
            fig.add_hrect(y0=m - sd, y1=m + sd, fillcolor="#999", opacity=0.25, line_width=0, row=r, col=col)
    fig.update_xaxes(title_text="classes removed from set B")
    fig.update_layout(
        title=f"Metric vs classes removed, equal N, mean ± std over {seeds} seeds; grey band: noise floor "
        "(none removed, ± std)",
        height=330 * nrows + 80,
        legend=dict(orientation="h", y=-0.15),
        margin=dict(l=40, r=20, t=80, b=60),
    )
    return fig
