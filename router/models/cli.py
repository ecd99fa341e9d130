"""`router models ...`: the models' own checks on real data."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

console = Console(width=None if sys.stdout.isatty() else 140)


@click.group(help="Execution models: queue position, fill probability.")
def models() -> None:
    pass


@models.command("validate-queue", help="Score the queue models against the true fate of every order entered at the "
                                       "touch in a LOBSTER message file (its orderbook file optional).")
@click.argument("message_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("orderbook_file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--horizon", "horizon_s", type=float, default=10.0, show_default=True,
              help="seconds within which a fill counts")
@click.option("--step", "step_s", type=float, default=1.0, show_default=True, help="seconds between checkpoints")
@click.option("--max-age", "max_age_s", type=float, default=60.0, show_default=True,
              help="checkpoints during an order's first seconds only")
@click.option("--split", "split_fraction", type=float, default=0.5, show_default=True,
              help="fit on this first share of the file's time, score on the rest")
def validate_queue(message_file: Path, orderbook_file: Path | None, horizon_s: float, step_s: float,
                   max_age_s: float, split_fraction: float) -> None:
    from router.models.queue_validation import report_lines, validate

    try:
        result = validate(message_file, orderbook_file, horizon_s=horizon_s, step_s=step_s, max_age_s=max_age_s,
                          split_fraction=split_fraction)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    print_result(result)
    click.echo(report_lines(result)[-1])


def print_result(result) -> None:
    console.print(f"{result.orders} orders entered at the touch: {result.filled} filled, {result.censored} canceled "
                  f"unfilled or out of view (censored); checkpoints {result.train_checkpoints} fitted, "
                  f"{result.test_checkpoints} held back (fill within {result.horizon_s:g} s: "
                  f"{result.test_fill_rate:.1%})", highlight=False)
    scores = Table(title="held-back scores")
    for column in ("model", "Brier", "AUC", "calibration error", "TTF median error s", "TTF coverage"):
        scores.add_column(column)
    for score in result.scores.values():
        scores.add_row(score.name + (" (default)" if score.name == result.default else ""), f"{score.brier:.4f}",
                       f"{score.auc:.3f}", f"{score.calibration_error:.3f}", f"{score.ttf_median_err_s:.2f}",
                       f"{score.ttf_coverage:.0%}")
    console.print(scores)
    buckets = Table(title=f"calibration of {result.default}, by forecast bucket")
    for column in ("forecast", "checkpoints", "mean forecast", "observed"):
        buckets.add_column(column)
    for bucket in result.scores[result.default].buckets:
        if bucket.count:
            buckets.add_row(f"{bucket.low:.1f}-{bucket.high:.1f}", str(bucket.count), f"{bucket.mean_predicted:.3f}",
                            f"{bucket.observed:.3f}")
    console.print(buckets)
