"""The class-share chart's legend says the colour of each kind of bar: B's bars share one colour,
the flagged classes another, each named in the legend (a trial user read B's bars as red when the
first class happened to be flagged)."""

from __future__ import annotations

import numpy as np

from core.metrics.class_balance import class_balance_from_features
from dashboard.charts import class_share_figure


def test_legend_colours_match_the_bars() -> None:
    rng = np.random.default_rng(0)
    centres = {"blue": 0.0, "green": 10.0, "red": 20.0}
    labels = np.repeat(np.arange(3), 30)
    feats_a = np.concatenate([rng.normal(c, 1.0, (30, 8)) for c in centres.values()])
    feats_b = np.concatenate([rng.normal(c, 1.0, (30, 8)) for c in list(centres.values())[1:]])
    balance = class_balance_from_features(feats_a, labels, list(centres), feats_b)
    flagged = {r.name for r in balance.rows if r.flag}
    assert "blue" in flagged  # B has no blue: the first class on the axis is flagged
    fig = class_share_figure(balance)
    traces = {t.name: t for t in fig.data}
    a = next(t for n, t in traces.items() if n.startswith("set A"))
    b = next(t for n, t in traces.items() if n.startswith("set B ("))
    fl = next(t for n, t in traces.items() if n.startswith("set B, flagged"))
    assert list(a.x) == ["blue", "green", "red"]
    assert set(b.x) == {r.name for r in balance.rows} - flagged and set(fl.x) == flagged
    assert b.marker.color != fl.marker.color and isinstance(b.marker.color, str)
    assert b.offsetgroup == fl.offsetgroup != a.offsetgroup  # one slot for B's bars
    for t in (b, fl):
        for name, y in zip(t.x, t.y, strict=True):
            assert y == next(100 * r.share_b for r in balance.rows if r.name == name)
