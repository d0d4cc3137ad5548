"""Draws bench/results.png from the rows `cargo xtask bench` gathered.

Each row is a ratio against a baseline measured in the same run, higher is
better; a bar is drawn as that ratio over the row's target, so past the
dashed line at 1 is good.

Usage: python bench/chart.py RESULTS_DIR OUT_PNG
"""

import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def rows(results: Path):
    for tsv in sorted(results.glob("*.tsv")):
        for line in tsv.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) != 7:
                continue
            section, case, _ours, _base, ratio, target, met = parts
            m = re.search(r"([0-9.]+)", target)
            if not m:
                continue  # rows without a numeric target (correctness checks)
            ratio, goal = float(ratio), float(m.group(1))
            yield f"{section}: {case}", ratio / goal, met == "yes"


def main() -> None:
    results, out = Path(sys.argv[1]), Path(sys.argv[2])
    data = list(rows(results))
    if not data:
        raise SystemExit("no rows with numeric targets")
    labels = [d[0] for d in data]
    values = [d[1] for d in data]
    colours = ["#2e7d32" if d[2] else "#c62828" for d in data]
    fig, ax = plt.subplots(figsize=(11, 0.42 * len(data) + 1.4))
    ax.barh(range(len(data)), values, color=colours)
    ax.axvline(1.0, color="black", linewidth=1, linestyle="--")
    ax.set_yticks(range(len(data)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("measured ratio ÷ target ratio (log scale; right of the dashed line meets the target)")
    ax.set_title("wa-groups benchmarks against same-run baselines")
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.2f}", va="center", fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
