"""The `router` command."""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from router.app import DEFAULT_CONFIG, load_settings
from router.domain.enums import HedgeMode, LimitType
from router.hedge import UNSUPPORTED_MODES

console = Console(width=None if sys.stdout.isatty() else 140)

_SIDES = {"buy": "1", "sell": "2"}
_ALGO_TAGS = {"sweep": [(5094, "1"), (5096, "0"), (5100, "0"), (5102, "0")],
              "volatility": [(5094, "1"), (5100, "0"), (5102, "0")]}
# SROrderLimitType (5098) by name (README, "Volatility"); "arrival" is MarketArrival.
_LIMIT_TYPES = {"arrival" if t is LimitType.MARKET_ARRIVAL else t.name.lower(): str(t.value) for t in LimitType}
_POST_TYPES = {"with": "1", "turn": "2", "improve": "3", "limit": "4"}
_HEDGE_MODES = {m.name.lower(): m.value for m in HedgeMode if m not in UNSUPPORTED_MODES}


@click.group(help="Options algo order router with a FIX interface (SpiderRock Connect style).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=DEFAULT_CONFIG, show_default=True, help="router.toml")
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level.")
@click.pass_context
def main(ctx: click.Context, config_path: Path, verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = config_path


@main.command(help="Run the acceptor, engine, simulated venues and simulated quotes from config/. The venues and "
                   "their market run in a `router exchange` child process unless told otherwise.")
@click.option("--sessions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="QuickFIX settings file (default: sessions.cfg next to router.toml).")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the SQLite store, FileStore and FileLog (default: var/ of the checkout).")
@click.option("--store-url", help="SQLAlchemy URL, e.g. postgresql+psycopg2://postgres@127.0.0.1/test.")
@click.option("--quiet-market", is_flag=True, help="No background quotes or trades (books stay empty).")
@click.option("--exchange", "exchange_address", metavar="HOST:PORT",
              help="Use the `router exchange` already running there (it outlives this router).")
@click.option("--in-process-market", is_flag=True,
              help="Run the venues and their market in this process, on the engine's thread.")
@click.option("--venue-protocol", type=click.Choice(["native", "fix"]), default="native", show_default=True,
              help="How the venues of the exchange are reached: its msgpack link, or FIX 4.4 with a session per "
                   "venue (SenderCompID ROUTER, TargetCompID the venue; FileStore and FileLog under the state "
                   "directory; an exchange started with `router exchange --protocol fix`). native stays the "
                   "default: a child's round trip is about 1.8x shorter over it (bench/fix_venue_roundtrip.py).")
@click.option("--replay-perpetual", "replay_perpetual", metavar="PATH",
              help="Replay this Binance USD-M capture as the crypto perpetual venue (BNPF): the options' hedge "
                   "fills in the recorded book and the option marks follow its mid. Runs the market in process.")
@click.pass_obj
def serve(config_path: Path, sessions: Path | None, state_dir: Path | None, store_url: str | None,
          quiet_market: bool, exchange_address: str | None, in_process_market: bool, venue_protocol: str,
          replay_perpetual: str | None) -> None:
    from router.server import SPAWN, RouterServer

    if replay_perpetual and exchange_address:
        raise click.UsageError("--replay-perpetual replays in this process: it excludes --exchange")
    in_process_market = in_process_market or bool(replay_perpetual)
    if exchange_address and in_process_market:
        raise click.UsageError("--exchange and --in-process-market exclude each other")
    if in_process_market and venue_protocol == "fix":
        raise click.UsageError("--venue-protocol fix needs an exchange: it excludes --in-process-market")
    if exchange_address and quiet_market:
        raise click.UsageError("with --exchange the market is the exchange's: start it with --quiet-market")
    settings = _with_replay(load_settings(config_path), replay_perpetual)
    if any(v.replay for v in settings.venues) and not exchange_address:
        in_process_market = True        # a replayed venue lives in the router's process, or in that exchange
    exchange = None if in_process_market else exchange_address or SPAWN
    server = RouterServer(settings, sessions=sessions, state_dir=state_dir, store_url=store_url,
                          background=not quiet_market, exchange=exchange, venue_protocol=venue_protocol).start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    venues = "in process" if exchange is None else f"exchange {server.system.exchange.address} ({venue_protocol})"
    console.print(f"router ready: FIX on port(s) {', '.join(map(str, server.ports))}, "
                  f"store {server.store.url}, {len(server.system.securities)} instruments, venues {venues}",
                  highlight=False)
    sys.stdout.flush()
    stop.wait()
    server.stop()


@main.command(help="Run the simulated venues and their background market in a process of their own, serving one "
                   "router at a time over TCP (what `router serve` starts; `router serve --exchange` connects).")
@click.option("--port", type=int, default=0, show_default=True, help="Port on 127.0.0.1; 0 picks a free one.")
@click.option("--quiet-market", is_flag=True, help="No background quotes or trades (books stay empty).")
@click.option("--protocol", type=click.Choice(["native", "fix"]), default="native", show_default=True,
              help="native: length-prefixed msgpack, one router connection (venues/sim/wire.py). fix: a QuickFIX "
                   "acceptor with a FIX 4.4 session per venue (venues/fix_protocol.py), for `router serve "
                   "--venue-protocol fix`; slower (bench/fix_venue_roundtrip.py), so not the default.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path),
              help="--protocol fix: where the sessions' FileStore and FileLog live (default: var/exchange of the "
                   "checkout); keep it across restarts, the router's sequence numbers follow it.")
@click.option("--until-stdin-closes", is_flag=True, hidden=True,
              help="Exit when stdin reaches end of file (the router that started this exchange is gone).")
@click.pass_obj
def exchange(config_path: Path, port: int, quiet_market: bool, protocol: str, state_dir: Path | None,
             until_stdin_closes: bool) -> None:
    from venues.sim.exchange import run_exchange
    from venues.sim.fix_gateway import run_fix_exchange

    settings = load_settings(config_path)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def ready(bound: int) -> None:
        click.echo(f"exchange ready: port {bound}")
        sys.stdout.flush()
    watch_fds = (sys.stdin.fileno(),) if until_stdin_closes else ()
    if protocol == "fix":
        run_fix_exchange(settings.router.market, settings.venues, port=port, background=not quiet_market,
                         ready=ready, should_stop=stop.is_set, watch_fds=watch_fds,
                         state_dir=state_dir or config_path.resolve().parent.parent / "var" / "exchange")
        return
    run_exchange(settings.router.market, settings.venues, port=port, background=not quiet_market, ready=ready,
                 should_stop=stop.is_set, watch_fds=watch_fds)


@main.command(help="Print the tradeable instruments, one per line, tab-separated: the symbol (OSI code, a crypto "
                   "venue's name such as BTC-27NOV26-90000-C, or the underlier's), kind, underlier, the venues "
                   "that list it, tick (small/large@threshold), multiplier, and the currency its price is quoted in.")
@click.pass_obj
def instruments(config_path: Path) -> None:
    from router.market.securities import SecurityMaster
    from venues.sim.market import listed_symbols

    settings = load_settings(config_path)
    securities = SecurityMaster.from_chains(settings.router.market.underliers)
    listing = {v.name: listed_symbols(v, securities) for v in settings.venues}
    for instrument in securities:
        venues = ",".join(name for name, symbols in listing.items() if instrument.symbol in symbols) or "-"
        rule = instrument.tick_rule
        tick = f"{rule.small_tick:g}" if rule.small_tick == rule.large_tick else \
            f"{rule.small_tick:g}/{rule.large_tick:g}@{rule.threshold:g}"
        click.echo(f"{instrument.symbol}\t{instrument.kind.value}\t{instrument.underlying}\t{venues}\t{tick}\t"
                   f"{instrument.multiplier}\t{instrument.quote_currency}")


@main.command(help="Send one order and print its ExecutionReports, e.g. "
                   "router client buy 10 'AAPL  261218C00200000' --limit 5.10 --algo sweep")
@click.argument("side", type=click.Choice(sorted(_SIDES)))
@click.argument("qty", type=int)
@click.argument("symbol")
@click.option("--limit", type=float, help="Limit price; omit for a market order.")
@click.option("--algo", type=click.Choice(sorted(_ALGO_TAGS)), default="sweep", show_default=True)
@click.option("--limit-type", type=click.Choice(sorted(_LIMIT_TYPES)), help="SROrderLimitType (5098).")
@click.option("--post", type=click.Choice(sorted(_POST_TYPES)), help="SRBalanceHandling (5096) for the volatility "
              "algo (default: limit).")
@click.option("--ref-delta", type=float, help="SROrderRefDelta (5110) for tied limit types.")
@click.option("--vol-limit", type=float, help="SROrderVolLimit (5116) for Vol limit types.")
@click.option("--auto-hedge", type=click.Choice(sorted(_HEDGE_MODES)), help="SRAutoHedge (5152); needs --hedge-id.")
@click.option("--hedge-id", help="SRAltAutoHedgeId (5010): the ClOrdID of the hedge's reports.")
@click.option("--tif", type=click.Choice(["day", "ioc", "gtc"]), default="day", show_default=True)
@click.option("--exchanges", help="Comma-separated venues (SRExchanges 5082).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=9878, show_default=True)
@click.option("--sender", default="CLIENT1", show_default=True, help="Our SenderCompID.")
@click.option("--target", default="ROUTER", show_default=True, help="The router's CompID.")
@click.option("--password", help="Logon Password (554) if the account needs one.")
@click.option("--wait", type=float, default=5.0, show_default=True, help="Seconds to wait for the order to end.")
def client(side, qty, symbol, limit, algo, limit_type, post, ref_delta, vol_limit, auto_hedge, hedge_id, tif,
           exchanges, host, port, sender, target, password, wait):
    from router.fix.client import FixClient, is_final_report, new_order_fields

    extra = list(_ALGO_TAGS[algo])
    if algo == "volatility":
        extra.append((5096, _POST_TYPES[post or "limit"]))
    if limit_type:
        extra.append((5098, _LIMIT_TYPES[limit_type]))
    for tag, value in ((5110, ref_delta), (5116, vol_limit), (5010, hedge_id)):
        if value is not None:
            extra.append((tag, str(value)))
    if auto_hedge:
        extra.append((5152, _HEDGE_MODES[auto_hedge]))
    if exchanges:
        extra.append((5082, exchanges))
    tif_code = {"day": "0", "ioc": "3", "gtc": "1"}[tif]
    cl_ord_id = f"CLI-{time.time_ns()}"          # unique per run: ClOrdIDs are never reused
    with FixClient(host, port, sender, target, password=password) as session:
        session.send("D", new_order_fields(cl_ord_id, _SIDES[side], qty, symbol, limit, tif=tif_code, extra=extra))
        # the order's own final report: a hedge's closing report (under --hedge-id) comes before it
        messages = session.until(lambda m: is_final_report(m) and m.get(11) != (hedge_id or "").encode(),
                                 timeout=wait)
    table = Table("MsgType", "ClOrdID", "Symbol", "Side", "ExecType", "OrdStatus", "LastQty", "LastPx", "LastMkt",
                  "CumQty", "LeavesQty", "AvgPx", "Text")
    for message in messages:
        get = lambda tag, message=message: (message.get(tag) or b"").decode()
        table.add_row(get(35), get(11), get(55), get(54), get(150), get(39), get(32), get(31), get(30), get(14),
                      get(151), get(6), get(58))
    console.print(table)


@main.command(help="Run everything in one process and send a scripted set of sweep, tied (volatility) and "
                   "auto-hedged orders, two packages (a vertical legged, then sought on the complex order books) "
                   "and a facilitation auction over FIX.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the demo keeps its store and FIX logs (default: a fresh temporary directory).")
@click.option("--replay-perpetual", "replay_perpetual", metavar="PATH",
              help="Replay this Binance USD-M capture as the crypto perpetual venue (BNPF).")
@click.pass_obj
def demo(config_path: Path, state_dir: Path | None, replay_perpetual: str | None) -> None:
    from router.demo import run_demo

    run_demo(_with_replay(load_settings(config_path), replay_perpetual), state_dir, console)


def _with_replay(settings, path: str | None):
    """The settings with the crypto perpetual venue replaying ``path`` (a clear error when the
    file cannot be read, or there is no such venue)."""
    if path is None:
        return settings
    from venues.sim.replay_perpetual import ReplayFileError, load_capture

    file = Path(path).resolve()
    perps = [v for v in settings.venues if v.kind == "equity" and v.market == "crypto"]
    if len(perps) != 1:
        raise click.UsageError(f"--replay-perpetual: venues.toml needs exactly one crypto underlier venue, "
                               f"found {[v.name for v in perps]}")
    try:
        load_capture(file, max_events=1000)          # fail now, naming the file, not in the middle of the start
    except ReplayFileError as exc:
        raise click.BadParameter(str(exc), param_hint="--replay-perpetual") from None
    venues = [v.model_copy(update={"replay": str(file)}) if v is perps[0] else v for v in settings.venues]
    return replace(settings, venues=venues)


@main.command(help="Feed a QuickFIX message log through the engine on a simulated clock and print "
                   "the outbound messages.")
@click.argument("log", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--check", "golden", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Compare with this golden output; exit 1 on any difference.")
@click.option("--client", "client_comp_id", help="CompID of the client whose messages are replayed "
                                                  "(default: whoever sends the first NewOrderSingle).")
@click.pass_obj
def replay(config_path: Path, log: Path, golden: Path | None, client_comp_id: str | None) -> None:
    from router.fix.replay import diff_lines, replay_log

    lines = replay_log(load_settings(config_path), log.read_text(), client_comp_id)
    if golden is None:
        for line in lines:
            click.echo(line)
        return
    differences = diff_lines(golden.read_text().splitlines(), lines)
    if differences:
        click.echo("\n".join(differences))
        raise SystemExit(1)
    click.echo(f"replay matches {golden} ({len(lines)} messages)")


@main.command(help="Backtest execution quality: the same seeded parent flow worked by the naive limit-order "
                   "practice and by each algo (sweep, volatility PostWith, alpha taking, alpha making, alpha "
                   "taking+making) on the simulated markets with informed takers on; prints cost per contract "
                   "against the arrival mid (fees included), fill rate and markouts with 95% bootstrap intervals.")
@click.option("--parents", type=int, default=300, show_default=True, help="Parents over all markets.")
@click.option("--seed", type=int, default=7, show_default=True, help="The market's and the flow's seed.")
@click.option("--market", type=click.Choice(["us", "crypto", "both"]), default="both", show_default=True,
              help="us: the US equity options; crypto: the BTC options (perpetual replayed from the Binance "
                   "capture when ../shared/data has it).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write an HTML page with the tables and PNG plots into this directory.")
@click.pass_obj
def backtest(config_path: Path, parents: int, seed: int, market: str, report_dir: Path | None) -> None:
    from rich.progress import Progress

    from router.backtest.report import quality_table, summary_text, write_report
    from router.backtest.suite import MARKETS, BacktestConfig, run_backtest
    from router.tca.report import rich_table

    if parents < 1:
        raise click.BadParameter(f"must be at least 1, not {parents}", param_hint="--parents")
    config = BacktestConfig(parents=parents, seed=seed, markets=MARKETS[market])
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("simulating", total=config.simulated_seconds())
        outcome = run_backtest(load_settings(config_path), config, lambda s: progress.advance(task, s))
    console.print(rich_table(quality_table(outcome.rows)))
    console.print(summary_text(outcome), highlight=False)
    if report_dir is not None:
        console.print(f"report: {write_report(outcome, report_dir)}", highlight=False)
    click.echo(outcome.verdict.line())


def _register_store_commands() -> None:
    from router.models.cli import models
    from router.pnl.cli import pnl
    from router.store.cli import store
    from router.tca.cli import tca

    main.add_command(store)
    main.add_command(models)
    main.add_command(tca)
    main.add_command(pnl)


_register_store_commands()
