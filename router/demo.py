"""`router demo`: the whole router in one process, driven by a scripted FIX client over TCP.

Scenes 1-9 are single-leg orders (sweeps, a replace, a cancel, rejects, a tied order following
the underlier, an auto-hedged fill); 10-11 are packages (NewOrderMultileg, a 200/205 call
vertical) legged and then sought on the complex order books; 12 is a facilitation auction."""
from __future__ import annotations

import math
import socket
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from router.app import Settings
from router.domain.enums import ChildRole
from router.domain.orders import ChildStatus
from router.fix.client import FixClient, fix_time, is_final_report, new_order_fields
from router.server import RouterServer

SWEEP = [(5094, "1"), (5096, "0"), (5100, "0"), (5102, "0")]
# the volatility algo: ActiveTaker, PostLimit, LimitType PrcDe (the limit moves with the underlier by delta 5110)
TIED = [(5094, "1"), (5096, "4"), (5098, "3")]
CALL = "AAPL  261218C00200000"
PUT = "AAPL  261218P00195000"
SPY = "SPY   261218C00600000"
C205 = "AAPL  261218C00205000"
# the vertical's legs: (symbol, LegSide 624, LegRefID 654)
VERTICAL = ((CALL, "1", "BUY200"), (C205, "2", "SELL205"))
LEGGER, SEEKER, FACILITATE = "8", "9", "6"          # SROrderHandling (5094)
SEEK_WAIT_S = 1.5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_demo_sessions(path: Path, port: int) -> None:
    path.write_text("\n".join([
        "[DEFAULT]", "ConnectionType=acceptor", f"SocketAcceptPort={port}", "StartTime=00:00:00",
        "EndTime=00:00:00", "UseDataDictionary=Y", "SocketReuseAddress=Y", "",
        "[SESSION]", "BeginString=FIX.4.4", "SenderCompID=ROUTER", "TargetCompID=DEMO", ""]))


class _Script:
    def __init__(self, server: RouterServer, client: FixClient, console: Console) -> None:
        self.server, self.client, self.console = server, client, console

    def nbbo(self, symbol: str):
        return self.on_engine(lambda: self.server.engine.books.nbbo(symbol))

    def on_engine(self, action):
        """Run ``action`` on the engine thread (the books and positions belong to it); its result."""
        return on_engine(self.server, action)

    def send(self, label: str, cl_ord_id: str, side: str, qty: int, symbol: str, price: float | None,
             tif: str = "0", extra=(), algo=SWEEP, timeout: float = 3.0) -> list:
        self.console.print(f"[bold]{label}[/bold]: {cl_ord_id} {'buy' if side == '1' else 'sell'} {qty} "
                           f"{symbol.strip()} {f'@ {price:.2f}' if price else 'market'}", highlight=False)
        self.client.send("D", new_order_fields(cl_ord_id, side, qty, symbol, price, tif=tif, extra=[*algo, *extra]))
        return self.collect(cl_ord_id, timeout=timeout)

    def collect(self, cl_ord_id: str, until_final: bool = True, timeout: float = 3.0) -> list:
        def done(message) -> bool:
            if message.get(11) != cl_ord_id.encode():
                return False
            return is_final_report(message) if until_final else message.get(150) == b"0"
        messages = self.client.until(done, timeout=timeout)
        for message in messages:
            get = lambda tag, message=message: (message.get(tag) or b"").decode()
            status = {"0": "New", "1": "Partial", "2": "Filled", "4": "Canceled", "5": "Replaced", "6": "PendCxl",
                      "8": "Rejected", "A": "PendNew", "E": "PendRepl", "C": "Expired"}.get(get(39), get(39))
            fill = f" {get(32)}@{get(31)} on {get(30)}" if get(32) else ""
            text = f"  ({get(58)})" if get(58) else ""
            # another ClOrdID in the stream is the order's auto-hedge (5010): say what it trades
            hedge = (f"  hedge: {'buy' if get(54) == '1' else 'sell'} {get(55)}"
                     if get(35) == "8" and get(11) != cl_ord_id else "")
            self.console.print(f"    {get(35)} {get(11):<6} {status:<9} cum {get(14):>4} leaves {get(151):>4} "
                               f"avg {get(6):<8}{fill}{text}{hedge}", highlight=False)
        return messages


def on_engine(server: RouterServer, action, timeout: float = 5.0):
    """Run ``action`` on the engine thread and return its result."""
    result: list = []
    done = threading.Event()

    def run() -> None:
        try:
            result.append(action())
        finally:
            done.set()
    server.engine.post(run)
    if not done.wait(timeout) or not result:
        raise RuntimeError("the engine did not run the demo's query")
    return result[0]


def _tick_up(price: float) -> float:
    """``price`` rounded up to a multiple of 0.05, which is on the tick ladder at any price."""
    return math.ceil(price * 20 - 1e-9) / 20


def run_demo(settings: Settings, state_dir: Path | None, console: Console) -> None:
    workdir = Path(state_dir or tempfile.mkdtemp(prefix="router-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    sessions = workdir / "sessions.cfg"
    write_demo_sessions(sessions, port)
    console.print(f"[bold]router demo[/bold]: acceptor on 127.0.0.1:{port}, state in {workdir}")
    with RouterServer(settings, sessions=sessions, state_dir=workdir) as server:
        time.sleep(0.3)
        with FixClient("127.0.0.1", port, "DEMO", "ROUTER") as client:
            script = _Script(server, client, console)
            _run_script(script)
        _print_blotter(server, console)


def _run_script(s: _Script) -> None:
    call = s.nbbo(CALL)
    s.send("1. buy below visible size (fee-ordered venues)", "D1", "1", 10, CALL, call.ask + 0.05)

    put = s.nbbo(PUT)
    s.send("2. sell above visible size, IOC (one synchronized wave, balance canceled)", "D2", "2", 400, PUT,
           round(put.bid - 0.10, 2), tif="3")


    s.send("3. buy at arrival far side (5098=1 MarketArrival), market order", "D3", "1", 25, SPY, None,
           extra=[(5098, "1")])

    call = s.nbbo(CALL)
    passive = round(call.bid - 0.50, 2)
    s.console.print("[bold]4. a resting buy below the market, then replaced up to the offer[/bold]")
    s.client.send("D", new_order_fields("D4", "1", 30, CALL, passive, extra=SWEEP))
    s.collect("D4", until_final=False, timeout=1.0)
    call = s.nbbo(CALL)
    s.client.send("G", [(11, "D4R"), (41, "D4"), (55, CALL), (54, "1"), (60, fix_time()), (38, "30"), (40, "2"),
                        (44, f"{call.ask + 0.05:.2f}")])
    s.collect("D4R")

    s.console.print("[bold]5. a resting sell above the market, then canceled[/bold]")
    s.client.send("D", new_order_fields("D5", "2", 20, CALL, round(call.ask + 1.00, 2), extra=SWEEP))
    s.collect("D5", until_final=False, timeout=1.0)
    s.client.send("F", [(11, "D5C"), (41, "D5"), (55, CALL), (54, "2"), (60, fix_time())])
    s.collect("D5C")

    s.send("6. rejected: OrderVolLimit out of range", "D6", "1", 5, CALL, 5.00, extra=[(5098, "9"), (5116, "12.5")])
    s.send("7. rejected: unknown instrument", "D7", "1", 5, "AAPL  261218C00999000", 1.00)

    _tied_reprice(s)
    _hedged_fill(s)
    _legged_package(s)
    _sought_package(s)
    _facilitation(s)


TIED_DELTA = 0.55
REPRICES_SHOWN = 3
REPRICE_WAIT_S = 4.0


def _tied_reprice(s: _Script) -> None:
    """8: a PrcDe PostLimit buy rests at P + delta x (U - U_ref) and follows the underlier."""
    underlier = SPY.split()[0]
    option, stock = s.nbbo(SPY), s.nbbo(underlier)
    price, ref = round(option.bid - 0.20, 2), round(stock.mid, 3)       # SPY options trade in pennies
    s.console.print(f"[bold]8. a tied buy (5098=3 PrcDe, 5096=4 PostLimit) below the market: limit = {price:.2f} "
                    f"+ {TIED_DELTA} x (U - {ref}) with 5110={TIED_DELTA}, 5108={ref}; the child follows the "
                    f"simulated {underlier}[/bold]", highlight=False)
    s.client.send("D", new_order_fields("D8", "1", 10, SPY, price,
                                        extra=[*TIED, (5110, str(TIED_DELTA)), (5108, str(ref))]))
    s.collect("D8", until_final=False, timeout=1.0)

    def snapshot():
        engine = s.server.engine
        parent = next((p for p in engine.orders.parents.values() if p.cl_ord_id == "D8"), None)
        children = [] if parent is None else engine.orders.open_children(parent.order_id, ChildRole.WORK)
        resting = [c.price for c in children if c.status is ChildStatus.NEW]
        return (resting[0] if resting else None), engine.books.nbbo(underlier).mid

    shown, last, deadline = 0, None, time.monotonic() + REPRICE_WAIT_S
    while shown < REPRICES_SHOWN and time.monotonic() < deadline:
        child_px, mid = s.on_engine(snapshot)
        if child_px is not None and child_px != last and mid is not None:
            limit = price + TIED_DELTA * (mid - ref)
            what = "child rests at" if last is None else "underlier moved: child repriced to"
            s.console.print(f"    {underlier} mid {mid:.3f}  limit {limit:.4f}  {what} {child_px:.2f}", highlight=False)
            shown += last is not None
            last = child_px
        time.sleep(0.05)
    if shown == 0:
        s.console.print(f"    ({underlier} did not move a tick of the limit in {REPRICE_WAIT_S:.0f}s)", highlight=False)
    s.client.send("F", [(11, "D8C"), (41, "D8"), (55, SPY), (54, "1"), (60, fix_time())])
    s.collect("D8C")


def _hedged_fill(s: _Script) -> None:
    """9: a tied ActiveTaker buy through the offer fills at once; FastCrx hedges it under 5010."""
    call = s.nbbo(CALL)
    messages = s.send(f"9. a tied ActiveTaker buy through the offer, auto-hedged (5152=X FastCrx, 5110={TIED_DELTA}) "
                      f"under 5010=D9H: hedge reports first, the option order ends last", "D9", "1", 10, CALL,
                      _tick_up(call.ask + 0.10), extra=[(5110, str(TIED_DELTA)), (5152, "X"), (5010, "D9H")],
                      algo=TIED, timeout=5.0)
    first = next((m for m in messages if m.get(11) == b"D9"), None)
    if first is None:
        return
    order_id, account = first.get(37).decode(), (first.get(1) or b"").decode()
    underlier = CALL.split()[0]

    def positions():
        ledger = s.server.engine.positions
        return ledger.position(account, order_id, underlier), ledger.totals("parent").get(order_id)
    hedge, total = s.on_engine(positions)
    if hedge is None:
        s.console.print(f"    no hedge position for {order_id}", highlight=False)
        return
    net = f"; {order_id} option + hedge share delta {total.share_delta:+.1f} (model delta)" if total else ""
    s.console.print(f"    hedge position {order_id} {underlier}: {hedge.qty:+d} shares @ {hedge.avg_price:.4f}{net}",
                    highlight=False)


def _package_fields(cl_ord_id: str, qty: int, price: float, handling: str) -> list[tuple[int, str]]:
    """A NewOrderMultileg (AB) as the SpiderRock reference lays it out: no Side (54), the legs
    carry theirs (624) with their ratios (623) and LegRefIDs (654)."""
    fields = [(11, cl_ord_id), (38, str(qty)), (40, "2"), (44, f"{price:.2f}"), (60, fix_time()),
              (5094, handling), (555, str(len(VERTICAL)))]
    for symbol, side, ref in VERTICAL:
        fields += [(600, symbol), (654, ref), (624, side), (623, "1")]
    return fields


def _package_done(cl_ord_id: str):
    """The package's own final report (442=3), not a leg's (442=2) that says the leg is filled."""
    return lambda m: m.get(11) == cl_ord_id.encode() and m.get(442) != b"2" and is_final_report(m)


def _print_package_reports(s: _Script, messages: list) -> None:
    for message in messages:
        get = lambda tag, message=message: (message.get(tag) or b"").decode()
        if get(35) != "8":
            s.console.print(f"    {get(35)} {get(11)} ({get(58)})", highlight=False)
            continue
        status = {"0": "New", "1": "Partial", "2": "Filled", "4": "Canceled", "6": "PendCxl", "8": "Rejected"}.get(
            get(39), get(39))
        fill = f" {get(32)}@{get(31)}{' on ' + get(30) if get(30) else ''}" if get(32) not in ("", "0") else ""
        if get(442) == "2":         # a leg's report: LegRefID, side and symbol, its legging risk in the Text
            what = f"leg {get(654):<7} {'buy' if get(54) == '1' else 'sell'} {get(55).strip()}"
        else:
            what = f"package {status:<8} cum {get(14):>2}"
        text = f"  ({get(58)})" if get(58) else ""
        s.console.print(f"    8 {get(11):<4} 442={get(442) or '-'} {what}{fill}{text}", highlight=False)


def _vertical_quotes(s: _Script):
    return s.nbbo(CALL), s.nbbo(C205)


def _legged_package(s: _Script) -> None:
    """10: a marketable vertical (5094=8 Legger): each leg trades in its own book, reported per leg."""
    low, high = _vertical_quotes(s)
    if None in (low.ask, high.bid):
        s.console.print("[bold]10. package (Legger)[/bold]: no two-sided quotes on the vertical's legs; skipped")
        return
    price = _tick_up(low.ask - high.bid)
    s.console.print(f"[bold]10. a package, NewOrderMultileg (AB) without Side, 5094=8 Legger: buy 3 200/205 call "
                    f"verticals @ {price:.2f} (the legs' far sides): leg reports 442=2 with LegRefID 654, the "
                    f"package's 442=3[/bold]", highlight=False)
    s.client.send("AB", _package_fields("D10", 3, price, LEGGER))
    _print_package_reports(s, s.client.until(_package_done("D10"), timeout=3.0))


def _sought_package(s: _Script) -> None:
    """11: the same vertical at its mid (5094=9 Seeker) rests on up to 3 complex order books; the
    simulated market makers answer a resting package on a COB about half the time."""
    low, high = _vertical_quotes(s)
    if None in (low.mid, high.mid):
        s.console.print("[bold]11. package (Seeker)[/bold]: no two-sided quotes on the vertical's legs; skipped")
        return
    # below the legs' far sides (where it would trade at once against the implied market)
    price = min(_tick_up(low.mid - high.mid), _tick_up(low.ask - high.bid) - 0.05)
    s.console.print(f"[bold]11. the vertical near its mid, 5094=9 Seeker @ {price:.2f}: it rests on the complex "
                    f"order books and trades where a market maker answers it[/bold]", highlight=False)
    s.client.send("AB", _package_fields("D11", 5, price, SEEKER))
    messages = s.client.until(_package_done("D11"), timeout=SEEK_WAIT_S)
    _print_package_reports(s, messages)
    if messages and _package_done("D11")(messages[-1]):
        return
    s.console.print(f"    no complex-book response filled it in {SEEK_WAIT_S:g}s: the package still rests on the "
                    f"COBs (a Seeker leaves it there); canceled", highlight=False)
    s.client.send("F", [(11, "D11C"), (41, "D11"), (55, CALL.split()[0]), (54, "1"), (60, fix_time())])
    _print_package_reports(s, s.client.until(_package_done("D11C"), timeout=2.0))


def _facilitation(s: _Script) -> None:
    """12: a client buy crossed with the firm's contra in a price-improvement auction (5094=6)."""
    call = s.nbbo(CALL)
    if call.ask is None:
        s.console.print("[bold]12. facilitation[/bold]: no offer on the call; skipped")
        return
    messages = s.send("12. a facilitation (5094=6): the client's buy and the firm's contra go into a price-"
                      "improvement auction (Cboe AIM style); the auction's report is the Text of the order's last "
                      "report", "D12", "1", 20, CALL, call.ask, algo=[(5094, FACILITATE)], timeout=3.0)
    # a filled client order gets the auction's report in a DoneForDay (150=3) right after its final fill
    auctioned = lambda m: m.get(11) == b"D12" and b"auction" in (m.get(58) or b"")
    if not any(auctioned(m) for m in messages):
        messages = messages + s.client.until(auctioned, timeout=1.0)
    text = next((m.get(58).decode() for m in reversed(messages) if auctioned(m)), None)
    s.console.print(f"    auction report: {text}" if text else "    (no auction report)", highlight=False)


def _print_blotter(server: RouterServer, console: Console) -> None:
    store = server.store
    parents = store.parents()
    table = Table(title="Parents", title_justify="left")
    numeric = ("Qty", "CumQty", "AvgPx", "Children", "Fees $", "Hedge")
    for column in ("OrderID", "ClOrdID", "Side", "Symbol", "Qty", "Status", "CumQty", "AvgPx", "Children", "Fees $",
                   "Hedge"):
        table.add_column(column, justify="right" if column in numeric else "left")
    # each parent's positions, read on the engine thread: a symbol other than its own is its hedge
    held = on_engine(server, lambda: [(p.parent_id, p.symbol, p.qty, p.avg_price)
                                      for p in server.engine.positions.positions() if p.qty])
    per_venue: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0])
    total_fills = 0
    for parent in parents:
        children = store.children(parent.order_id)
        fills = store.fills(parent.order_id)
        total_fills += len(fills)
        for child in children:
            row = per_venue[child.venue]
            row[0] += 1
            row[1] += child.qty
            row[2] += child.cum_qty
        for fill in fills:
            per_venue[fill.venue][3] += fill.fee
        own = {parent.symbol, *(leg.symbol for leg in parent.legs or ())}       # a package's legs are not hedges
        hedge = ", ".join(f"{qty:+d} {symbol} @ {avg:.4f}" for parent_id, symbol, qty, avg in held
                          if parent_id == parent.order_id and symbol not in own)
        symbol = (" / ".join(f"{'+' if leg.side.is_buy else '-'}{leg.ratio} {leg.symbol.strip()}" for leg in parent.legs)
                  if parent.is_package else parent.symbol)
        table.add_row(parent.order_id, parent.cl_ord_id, "buy" if parent.side.is_buy else "sell", symbol,
                      str(parent.qty), parent.status.name.lower(), str(parent.cum_qty),
                      f"{parent.avg_px:.4f}" if parent.cum_qty else "", str(len(children)), f"{parent.fees:.2f}",
                      hedge)
    console.print(table)
    venues = Table(title=f"Children per venue ({total_fills} fills)", title_justify="left")
    for column in ("Venue", "Children", "Sent qty", "Filled qty", "Fees $"):
        venues.add_column(column, justify="left" if column == "Venue" else "right")
    for venue, (count, sent, filled, fees) in sorted(per_venue.items()):
        venues.add_row(venue, str(count), str(sent), str(filled), f"{fees:.2f}")
    console.print(venues)
