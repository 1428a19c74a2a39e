"""``loadtest --plot``: the load test's distributions as one PNG (needs the ``plot`` extra)."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from ._report import LoadtestResult, _array, percentile

__all__ = ["build_figure", "write_plot"]

#: (title, x label, the report's samples in seconds, log-scale counts).
_PANELS = (
    ("echo latency", "echo latency (ms)", "rtts", False),
    # Rare long gaps are what matters: a log scale keeps them visible beside the zeros.
    ("audible gap", "silence between frames (ms)", "gaps", True),
    ("first audio", "start to first audio (ms)", "first_audio", False),
    (
        "checkpoint round trip (includes the simulated playout)",
        "mark sent to played acknowledgement (ms)",
        "checkpoints",
        False,
    ),
)


def _pyplot() -> Any:
    try:
        # Imported by name: matplotlib is an optional extra without type stubs here.
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError as exc:
        raise ImportError("--plot needs matplotlib: pip install 'trio-plivo[plot]'") from exc
    # Its font-cache and backend messages are not the user's business.
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def build_figure(result: LoadtestResult) -> Any:
    """The figure: a histogram per measure, its p50/p99/max written on it, labelled axes,
    and a title naming the provider, calls, duration, lost frames and the verdict."""
    plt = _pyplot()
    report = result.report
    fig, axes = plt.subplots(2, 2, figsize=(12, 7.5))
    for ax, (title, xlabel, field, log) in zip(axes.flat, _PANELS, strict=True):
        ms = _array(getattr(report, field)) * 1e3
        ax.set_title(f"{title}: {ms.size} samples", fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("samples (log scale)" if log else "samples")
        if not ms.size:
            ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
            continue
        ax.hist(ms, bins=60, log=log)
        p50, p99, top = percentile(ms, 50), percentile(ms, 99), float(ms.max())
        for value, style, name in ((p50, "--", "p50"), (p99, ":", "p99")):
            ax.axvline(value, color="k", linestyle=style, label=name)
        ax.legend(loc="upper right")
        ax.text(
            0.98,
            0.70,
            f"p50 {p50:.1f} ms\np99 {p99:.1f} ms\nmax {top:.1f} ms",
            ha="right",
            va="top",
            transform=ax.transAxes,
            fontsize=9,
        )
    verdict = "PASS" if report.calls_ok == result.calls and result.generator_ok else "FAIL"
    fig.suptitle(
        f"{result.provider}: {result.calls} calls, {result.duration:g} s, "
        f"{result.lost} frames lost, {report.calls_ok}/{result.calls} calls ok: {verdict}"
        + ("  [generator behind: not trusted]" if not result.generator_ok else "")
    )
    fig.tight_layout()
    return fig


def write_plot(result: LoadtestResult, path: str) -> None:
    """Write :func:`build_figure` as a PNG to ``path``. Raises :class:`ImportError` with an
    install hint when matplotlib is missing (``pip install 'trio-plivo[plot]'``)."""
    fig = build_figure(result)
    fig.savefig(path)
    _pyplot().close(fig)
