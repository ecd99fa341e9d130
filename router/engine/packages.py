"""Packages (NewOrderMultileg): the checks a package's legs must pass, and the package's own
accounting from its legs' fills.

A package is up to 6 option legs and at most one stock leg on one underlier, each instrument
once, with integer ratios; its price is the net premium per package, a debit when positive
(``sum(sign x ratio x leg price)``, sign +1 for a leg bought when the package is bought).
A package is complete when every leg has filled ``ratio`` per package; CumQty counts complete
packages, and a leg's fills beyond them are that leg's open (legged) risk.
"""
from __future__ import annotations

from router.domain.commands import InstrumentSpec, NewMultilegOrder, NewOrder
from router.domain.enums import OrdType, Side
from router.domain.instruments import Instrument, InstrumentKind
from router.domain.orders import PackageLeg, ParentOrder
from router.market.securities import SecurityMaster

MAX_OPTION_LEGS = 6
MAX_STOCK_LEGS = 1
# Complex orders trade in $0.01 net increments whatever the legs' own ticks (Cboe Rule 5.33(f)(1):
# "bids and offers for complex orders may be expressed in $0.01 increments").
EQUITY_PACKAGE_TICK = 0.01
_EPS = 1e-9


class PackageProblem(ValueError):
    """Why a package cannot be worked: the text names the leg and the tag."""


def resolve_legs(cmd: NewMultilegOrder, securities: SecurityMaster, *,
                 across_underliers: bool = False) -> tuple[PackageLeg, ...]:
    """The package's legs as instruments the router lists, or PackageProblem."""
    legs: list[PackageLeg] = []
    instruments: list[Instrument] = []
    seen: dict[str, str] = {}
    for leg in cmd.legs:
        instrument = securities.resolve(leg.instrument)
        if instrument is None:
            raise PackageProblem(f"leg {leg.ref_id}: unknown instrument {_describe(leg.instrument)} (LegSymbol 600)")
        if instrument.symbol in seen:
            raise PackageProblem(f"legs {seen[instrument.symbol]} and {leg.ref_id} are the same instrument "
                                 f"{instrument.symbol.strip()}: a package holds each instrument once")
        seen[instrument.symbol] = leg.ref_id
        instruments.append(instrument)
        legs.append(PackageLeg(leg.ref_id, instrument.symbol, leg.side, leg.ratio, float(instrument.multiplier)))
    options = [i for i in instruments if i.is_option]
    stocks = [(leg, i) for leg, i in zip(legs, instruments) if not i.is_option]
    if not options:
        raise PackageProblem("a package needs at least one option leg")
    if len(options) > MAX_OPTION_LEGS:
        raise PackageProblem(f"a package has at most {MAX_OPTION_LEGS} option legs, this one has {len(options)}")
    if len(stocks) > MAX_STOCK_LEGS:
        raise PackageProblem(f"a package has at most {MAX_STOCK_LEGS} stock leg, this one has {len(stocks)}")
    for leg, stock in stocks:
        if stock.kind is not InstrumentKind.EQUITY:
            raise PackageProblem(f"leg {leg.ref_id}: a stock leg must be an equity; {stock.symbol.strip()} is a "
                                 f"{stock.kind.name.lower()}")
    underliers = {i.underlying for i in instruments}
    if len(underliers) > 1 and not across_underliers:
        raise PackageProblem(f"the legs are on different underliers ({', '.join(sorted(underliers))}); "
                             f"engine.packages_across_underliers allows it")
    if len(options) > 1 and len({i.market for i in instruments}) > 1:
        raise PackageProblem("the legs trade in different markets")
    return tuple(legs)


def package_tick(instruments: list[Instrument]) -> float:
    """The net-price increment of a package's complex order book."""
    options = [i for i in instruments if i.is_option]
    if all(i.market == "us_equity_options" for i in options):
        return EQUITY_PACKAGE_TICK
    return min(i.tick_rule.tick_at(0.0) for i in options)


def price_problem(price: float | None, tick: float) -> str | None:
    if price is None:
        return None
    steps = price / tick
    if abs(steps - round(steps)) > 1e-6:
        return f"package Price (44) {price:g} is not a multiple of the complex order book's {tick:g} net tick"
    return None


def anchor_order(cmd: NewMultilegOrder, legs: tuple[PackageLeg, ...], securities: SecurityMaster) -> NewOrder:
    """The package as the single-order checks see it: its first option leg, the package's
    ClOrdID, quantity, time in force and tags. Its price is left out (a net price may be zero
    or a credit); the package's own checks judge it."""
    anchor = next(leg for leg in legs if securities.get(leg.symbol).is_option)
    return NewOrder(cl_ord_id=cmd.cl_ord_id, account=cmd.account, instrument=InstrumentSpec(symbol=anchor.symbol),
                    side=Side.BUY, qty=cmd.qty, ord_type=OrdType.MARKET, price=None,
                    time_in_force=cmd.time_in_force, transact_time=cmd.transact_time, algo=cmd.algo)


def replace_problem(parent: ParentOrder, cmd: NewMultilegOrder) -> str | None:
    """Why a MultilegOrderCancelReplace cannot apply: it may change OrderQty and TimeInForce only."""
    if not parent.is_package:
        return f"{parent.cl_ord_id} is not a multileg order: use OrderCancelReplaceRequest (G)"
    if cmd.price is not None and (parent.price is None or abs(cmd.price - parent.price) > _EPS):
        return (f"a MultilegOrderCancelReplace may change OrderQty (38) and TimeInForce (59) only; Price (44) "
                f"{cmd.price:g} differs from the order's {parent.price}")
    asked = [(leg.side, leg.ratio) for leg in cmd.legs]
    if len(asked) != len(parent.legs) or asked != [(leg.side, leg.ratio) for leg in parent.legs]:
        return "a MultilegOrderCancelReplace may not change the legs (LegSide 624, LegRatioQty 623)"
    return None


# ---------------------------------------------------------------------------- accounting

def net_price(legs, prices) -> float:
    """The package's net premium at these leg prices (a debit when positive)."""
    return sum(leg.sign * leg.ratio * price for leg, price in zip(legs, prices))


def apply_leg_fill(parent: ParentOrder, leg_index: int, qty: int, price: float, fee: float, now_ns: int,
                   legging: bool = True) -> int:
    """Book a leg's fill on the package and (``legging``) its legging risk; the packages it completed.
    A complex-book fill trades every leg at once: its legs arrive one by one but are never legged."""
    before = parent.packages_done
    leg = parent.legs[leg_index]
    leg.cum_qty += qty
    leg.notional += qty * price
    parent.fees += fee
    done = parent.packages_done
    if done > before:
        # the package's AvgPx is the net of the legs' average prices over complete packages
        parent.cum_qty = done
        parent.notional = done * net_price(parent.legs, [leg.avg_px for leg in parent.legs])
    if not legging:
        return done - before
    for each in parent.legs:
        open_qty = each.cum_qty - done * each.ratio
        each.max_unmatched = max(each.max_unmatched, open_qty)
        if open_qty > 0 and each.unmatched_since_ns is None:
            each.unmatched_since_ns = now_ns
        elif open_qty == 0 and each.unmatched_since_ns is not None:
            each.longest_unmatched_ns = max(each.longest_unmatched_ns, now_ns - each.unmatched_since_ns)
            each.unmatched_since_ns = None
    return done - before


def unmatched(parent: ParentOrder, leg_index: int) -> int:
    """A leg's fills beyond the complete packages, in its own contracts (legging risk)."""
    leg = parent.legs[leg_index]
    return leg.cum_qty - parent.packages_done * leg.ratio


def legging_text(parent: ParentOrder, leg_index: int, now_ns: int) -> str:
    leg = parent.legs[leg_index]
    longest = leg.longest_unmatched_ns
    if leg.unmatched_since_ns is not None:
        longest = max(longest, now_ns - leg.unmatched_since_ns)
    return (f"leg {leg.ref_id}: {unmatched(parent, leg_index)} unmatched (largest {leg.max_unmatched}, "
            f"longest open {longest / 1e9:.2f} s)")


def _describe(spec: InstrumentSpec) -> str:
    if spec.strike is not None:
        return f"{spec.symbol} {spec.maturity_date} {spec.put_call} {spec.strike:g}"
    return repr(spec.symbol)
