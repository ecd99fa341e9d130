"""`router models ...`: the models' own checks on real data."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

console = Console(width=None if sys.stdout.isatty() else 140)


@click.group(help="Execution models: queue position, fill probability, alpha probability.")
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


@models.command("fit-fill-probability", help="Fit the fill-probability model the SOR uses on a LOBSTER message file "
                                             "(or Databento MBO file), and save it with its held-back scores.")
@click.argument("message_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("orderbook_file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "queue_model", default=None, help="queue model (default: the best by held-back Brier)")
@click.option("--horizon", "horizon_s", type=float, default=10.0, show_default=True,
              help="seconds within which a fill counts")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="where to write it [default: config/models/fill_probability.json]")
def fit_fill_probability(message_file: Path, orderbook_file: Path | None, queue_model: str | None, horizon_s: float,
                         out_path: Path | None) -> None:
    from router.models.fill_probability import DEFAULT_PATH, FillProbability
    from router.models.queue_validation import validate

    try:
        result = validate(message_file, orderbook_file, horizon_s=horizon_s)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    name = queue_model or result.default
    if name not in result.fits:
        raise click.ClickException(f"--model {name}: one of {', '.join(result.fits)}")
    score = result.scores[name]
    model = FillProbability(name, horizon_s, result.fits[name], source=message_file.name,
                            held_back={"brier": round(score.brier, 4), "auc": round(score.auc, 3),
                                       "calibration_error": round(score.calibration_error, 3),
                                       "checkpoints": result.test_checkpoints})
    model.save(out_path or DEFAULT_PATH)
    click.echo(f"saved {out_path or DEFAULT_PATH}: queue model {name}, horizon {horizon_s:g} s, held back "
               f"Brier {score.brier:.4f} AUC {score.auc:.3f}")


@models.command("fit-alpha", help="Fit the alpha-probability model (router/models/alpha.py) on a LOBSTER message file "
                                  "with its orderbook file, or a Binance capture: fitted on the first part of the "
                                  "data, scored on the rest, saved with those held-back scores.")
@click.argument("data_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("orderbook_file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--variant", default="standard", show_default=True,
              type=click.Choice(["standard", "hawk", "eagle", "falcon"]),
              help="standard (Static, Relative alpha types) or the Hawk, Eagle, Falcon alpha types' model")
@click.option("--horizon", "horizon_s", type=float, default=None,
              help="markout horizon in seconds [default: the variant's: 60, 10, 600, 60]")
@click.option("--split", "split_fraction", type=float, default=0.6, show_default=True,
              help="fit on this first share of the data's time, score on the rest")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="where to write it [default: config/models/alpha.json, or alpha_VARIANT.json]")
def fit_alpha(data_file: Path, orderbook_file: Path | None, variant: str, horizon_s: float | None,
              split_fraction: float, out_path: Path | None) -> None:
    from router.models.alpha import default_path, fit_files

    try:
        fit = fit_files(data_file, orderbook_file, variant, horizon_s=horizon_s, split_fraction=split_fraction)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    out = out_path or default_path(variant)
    fit.model.save(out)
    click.echo(f"saved {out}: {variant}, horizon {fit.model.horizon_s:g} s, held back over the last "
               f"{fit.test_span_s:.0f} s: Brier {fit.take.brier:.4f} AUC {fit.take.auc:.3f} "
               f"ECE {fit.take.calibration_error:.3f} (far touch AUC {fit.take_far_touch.auc:.3f}; "
               f"filled AUC {fit.filled.auc:.3f})")


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
