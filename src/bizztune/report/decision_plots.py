"""The decision's plots, as PNG bytes: monthly cost against volume, and accuracy against cost.

    png = plot_cost_volume([("tfidf", lambda v: 7.3), ...], 10_000)

matplotlib with the Agg backend, no timestamp in the files (``plots._png``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bizztune.report.plots import _png, _pyplot


def plot_cost_volume(
    lines: Sequence[tuple[str, Callable[[float], float]]],
    volume: float,
    marks: Sequence[tuple[str, float]] = (),
) -> bytes:
    """Monthly cost of every option against tickets per month (log-log), the user's volume and
    the break-even volumes marked."""
    import numpy as np

    plt = _pyplot()
    lo = max(10.0, min([volume / 100, *(v / 10 for _, v in marks if v > 0)]))
    hi = max([volume * 100, *(v * 10 for _, v in marks)])
    xs = np.logspace(np.log10(lo), np.log10(hi), 200)
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=(8, 4.8))
    low, high = float("inf"), 0.0
    for name, fn in lines:
        ys = [max(fn(float(x)), 1e-4) for x in xs]
        low, high = min(low, *ys), max(high, *ys)
        ax.plot(xs, ys, label=name, lw=1.6)
    if high > 0:
        # at least a decade shown, so that nearly flat lines do not fill the plot with ticks
        ax.set_yscale("log")
        ax.set_ylim(min(low, high / 10) / 1.5, high * 1.5)
    ax.axvline(volume, color="black", ls=":", lw=1, label=f"your volume: {volume:,.0f}/month")
    for name, v in marks:
        if v > 0:
            ax.axvline(v, color="grey", ls="--", lw=0.8)
            ax.annotate(
                name, (v, ax.get_ylim()[0]), rotation=90, fontsize=6, va="bottom", ha="right"
            )
    ax.set_xscale("log")
    plain = FuncFormatter(lambda y, _: f"{y:,.6g}")
    ax.xaxis.set_major_formatter(plain)
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: ""))
    ax.set_xlabel("tickets per month")
    ax.set_ylabel("USD per month (training and hosting included)")
    ax.set_title("Monthly cost against volume")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper left")
    return _png(fig)


Interval = tuple[float, float, float]
"""accuracy, lower and upper end of its 95% interval (fractions)"""


def plot_accuracy_cost(
    points: Sequence[tuple[str, float, Interval, Interval | None, bool]],
    frontier: Sequence[str],
    decide: str,
    confirm: str | None,
    volume: int,
) -> bytes:
    """Every option (name, USD per 1,000, its joint accuracy on the decision set and on the
    confirmation set, whether it is chosen): accuracy with its 95% interval against cost, the
    decision set's cost-accuracy frontier as a line, the chosen option ringed."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    xs = [p[1] for p in points]
    spread = max(xs) / max(min(xs), 1e-9) if xs else 1.0
    log = spread > 8
    width = (max(xs) - min(xs)) if xs and not log else 0.0
    step = 0.012 * (width or max(max(xs, default=1.0), 1e-9))
    colors = plt.get_cmap("tab10").colors
    seen: dict[float, int] = {}
    where: dict[str, tuple[float, float]] = {}
    for i, (name, usd, dec, conf, chosen) in enumerate(points):
        k = seen.get(round(usd, 6), 0)
        seen[round(usd, 6)] = k + 1
        # options of the same cost side by side, not on top of each other
        x = usd * (1.04**k) if log else usd + k * 2.5 * step
        color = colors[i % len(colors)]
        acc, lo, hi = (100 * v for v in dec)
        ax.errorbar(
            x, acc, yerr=[[acc - lo], [hi - acc]], fmt="o", color=color, ms=6, capsize=3, label=name
        )
        where[name] = (x, acc)
        if conf is not None:
            c_acc, c_lo, c_hi = (100 * v for v in conf)
            xc = x * 1.015 if log else x + step
            ax.errorbar(
                xc,
                c_acc,
                yerr=[[c_acc - c_lo], [c_hi - c_acc]],
                fmt="D",
                mfc="white",
                color=color,
                ms=5,
                capsize=2,
                lw=0.8,
            )
        if chosen:
            ax.plot(x, acc, "o", ms=16, mfc="none", mec="black", mew=1.5)
            ax.annotate(
                "chosen",
                (x, acc),
                xytext=(10, -14),
                textcoords="offset points",
                fontsize=8,
                weight="bold",
            )
    line = sorted((where[n] for n in frontier if n in where), key=lambda p: p[0])
    if len(line) > 1:
        ax.plot(
            [p[0] for p in line],
            [p[1] for p in line],
            color="grey",
            ls="--",
            lw=1,
            label=f"frontier on {decide}",
        )
    from matplotlib.ticker import FuncFormatter

    if log:
        ax.set_xscale("log")
    else:
        ax.set_xlim(0, max(xs, default=1.0) * 1.25 or 1.0)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.4g}"))
    ax.set_xlabel(f"USD per 1,000 tickets at {volume:,} a month")
    ax.set_ylabel("joint accuracy % (all fields right)")
    marks = f"● {decide} (chosen on)" + (f"   ◇ {confirm} (confirmed on)" if confirm else "")
    ax.set_title(marks, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return _png(fig)
