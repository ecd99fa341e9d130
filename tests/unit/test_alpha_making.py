"""The alpha-making algo on the whole engine and simulated venues, on the simulated clock:
where each PostType rests, venues and exposure (5048/5046), display sizes (5050), bounded
churn, queue priority, never removing liquidity, the Surface and Probability make classes,
taking and making combined, a restart, and the bad-input rejects."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from algos import alpha_making
from algos.alpha_making import AlphaMakingAlgo, AlphaMakingSettings
from algos.registry import choose_algo
from router.domain.commands import AlgoParams
from router.domain.enums import (BalanceHandling as P, ChildRole, ExecType, LimitClass, Liquidity, OrderHandling,
                                 OrdStatus, PublicSize, Side)
from router.fix.codec import decode, format_utc
from tests.harness import CALL, SESSION, Harness

from .test_alpha_taking import call_at, quote_chain, surface_of     # the same scripted option chain

UNDERLIER = "AAPL"


def market(h: Harness, bids=((4.80, 10),), asks=((5.20, 10),), venues=("XCBO",)) -> None:
    h.requote("XNAS", UNDERLIER, bids=[(199.99, 50_000)], asks=[(200.01, 50_000)], owner="smm")
    for venue in venues:
        h.requote(venue, CALL, bids=list(bids), asks=list(asks))


def maker(h: Harness, cl: str = "M1", qty: int = 10, limit: float = 5.10, post: P = P.POST_LIMIT,
          side: Side = Side.BUY, **tags) -> None:
    tags.setdefault("exchanges", ("XCBO",))
    h.new(cl, side, qty, limit, order_handling=OrderHandling.POST_ONLY, balance_handling=post, **tags)
    h.settle(0.01)


def work(h: Harness, order_id: str = "P1"):
    return [c for c in h.children(order_id) if c.role is ChildRole.WORK and c.is_open]


def spy_replaces(h: Harness) -> list:
    seen = []
    for venue in h.venues.values():
        original = venue.replace

        def spy(command, original=original):
            seen.append((h.clock.now_ns(), command))
            original(command)
        venue.replace = spy
    return seen


def test_post_only_or_a_dynamic_make_class_selects_alpha_making_and_a_post_type_with_a_take_class_both():
    assert choose_algo(AlgoParams(order_handling=OrderHandling.POST_ONLY, balance_handling=P.POST_WITH)) == \
        "alpha_making"
    assert choose_algo(AlgoParams(order_handling=OrderHandling.ACTIVE_TAKER, balance_handling=P.POST_WITH,
                                  make_limit_class=LimitClass.SURFACE)) == "alpha_making"
    assert choose_algo(AlgoParams(order_handling=OrderHandling.ACTIVE_TAKER, balance_handling=P.POST_WITH,
                                  take_limit_class=LimitClass.SURFACE)) == "alpha_taking+making"
    h = Harness()
    market(h)
    maker(h)
    assert h.reports("M1")[-1].ord_status is OrdStatus.NEW
    [child] = work(h)
    assert child.post_only and child.venue == "XCBO"


# ------------------------------------------------------------------------------------- post types
# A buy limited at 5.10; others bid 4.80 x 10 and offer 5.20 x 10 (the $0.05 ladder above $3).

@pytest.mark.parametrize("post,first,after_flash", [
    (P.POST_WITH, 4.80, 4.80),
    (P.POST_TURN, 4.85, 4.85),
    (P.POST_IMPROVE, 4.85, 4.85),
    (P.POST_LIMIT, 5.10, 5.10),
    (P.POST_LIMIT_WITH, 5.10, 5.10),
    (P.POST_WITH_F, 4.80, 4.80),
    (P.POST_IMPROVE_R, 4.95, 4.95),
    (P.POST_FLASH, 5.10, 4.85),
    (P.POST_FLASH_W, 5.10, 4.80),
    (P.POST_FLASH_I, 5.10, 4.85),
    (P.POST_PEG, 5.00, 5.00),
])
def test_each_post_type_rests_where_its_definition_says(post, first, after_flash):
    h = Harness()
    market(h)
    maker(h, post=post)
    [child] = work(h)
    assert child.price == pytest.approx(first) and child.post_only
    h.settle(0.6)                                  # past the flash (flash_ms 500)
    [child] = work(h)
    assert child.price == pytest.approx(after_flash)


def test_post_limit_with_joins_the_bid_when_its_limit_is_marketable_where_post_limit_steps_inside():
    h = Harness()
    market(h)
    maker(h, "M1", limit=5.30, post=P.POST_LIMIT_WITH)
    maker(h, "M2", limit=5.30, post=P.POST_LIMIT)
    assert [c.price for c in work(h, "P1")] == [pytest.approx(4.80)]
    assert [c.price for c in work(h, "P2")] == [pytest.approx(5.15)]


def test_post_with_fade_rests_behind_a_level_thinner_than_what_it_shows():
    h = Harness()
    market(h)
    maker(h, qty=30, post=P.POST_WITH_F)          # shows 30 behind others' 10: fades a tick
    assert [c.price for c in work(h)] == [pytest.approx(4.75)]


def test_a_sell_rests_above_the_bid():
    h = Harness()
    market(h)
    maker(h, limit=4.90, post=P.POST_IMPROVE, side=Side.SELL)
    assert [c.price for c in work(h)] == [pytest.approx(5.15)]


# ------------------------------------------------------------------------- venues and exposure

def test_the_balance_spreads_over_num_make_exchanges_showing_at_most_max_exposure():
    h = Harness()
    market(h, venues=("XCBO", "XISX", "ARCO"))
    maker(h, qty=30, post=P.POST_WITH, exchanges=(), num_make_exchanges=3, max_exposure_size=12)
    children = work(h)
    assert len({c.venue for c in children}) == 3
    assert sum(c.qty for c in children) == 30
    assert sum(c.qty if c.display_qty is None else c.display_qty for c in children) <= 12
    assert all(c.price == pytest.approx(4.80) and c.post_only for c in children)


def test_one_venue_without_num_make_exchanges():
    h = Harness()
    market(h, venues=("XCBO", "XISX"))
    maker(h, qty=30, exchanges=())
    assert len(work(h)) == 1 and work(h)[0].qty == 30


def test_after_a_fill_the_children_hold_the_balance_and_a_raised_quantity_rests_on_a_free_venue():
    h = Harness()
    market(h, venues=("XCBO", "XISX"))
    maker(h, qty=20, post=P.POST_WITH, exchanges=("XCBO", "XISX"), num_make_exchanges=2)
    first = {c.venue: c for c in work(h)}
    assert set(first) == {"XCBO", "XISX"} and sum(c.qty for c in first.values()) == 20
    h.venues["XISX"].place("taker", "t1", CALL, Side.SELL, 10 + first["XISX"].qty, 4.80)   # others' 10, then ours
    h.settle(0.2)
    fills = [r for r in h.reports("M1") if r.exec_type is ExecType.TRADE]
    assert sum(r.last_qty for r in fills) == first["XISX"].qty
    assert [(c.venue, c.leaves_qty) for c in work(h)] == [("XCBO", first["XCBO"].qty)]   # nothing more rests
    h.replace("M2", "M1", qty=30, price=5.10)
    h.settle(0.2)
    resting = {c.venue: c.leaves_qty for c in work(h)}
    assert resting == {"XCBO": first["XCBO"].qty, "XISX": 30 - 20}       # the new balance, on the free venue


# --------------------------------------------------------------------------------- display sizes

@pytest.mark.parametrize("size,shown", [(None, None), (PublicSize.FULL_SIZE, None), (PublicSize.NONE, 1),
                                        (PublicSize.MKT_SIZE, 10)])
def test_public_size_sets_the_displayed_quantity(size, shown):
    h = Harness()
    market(h)
    tags = {} if size is None else {"public_size": size}
    maker(h, qty=40, post=P.POST_WITH, **tags)     # others show 10 at the bid it joins
    [child] = work(h)
    assert child.display_qty == shown and child.qty == 40


def test_randomize_draws_within_twice_the_typical_size_seeded_per_parent():
    def displays(parents: int) -> list[int]:
        h = Harness()
        market(h, bids=((4.80, 4),))
        shown = []
        for i in range(parents):               # one parent at a time against others' 4 at the bid
            maker(h, f"M{i}", qty=50, post=P.POST_WITH, public_size=PublicSize.RANDOMIZE)
            shown.append(work(h, f"P{i + 1}")[0].display_qty)
            h.cancel(f"X{i}", f"M{i}")
            h.settle(0.2)
        return shown
    first, again = displays(8), displays(8)
    assert first == again                          # seeded: the same parents draw the same sizes
    assert all(1 <= d <= 8 for d in first)         # 2 x the 4 others show at the level
    assert len(set(first)) > 1


def test_a_display_smaller_than_the_child_keeps_the_rest_in_reserve_and_fills_through_it():
    h = Harness()
    market(h)
    maker(h, qty=20, post=P.POST_LIMIT, limit=5.00, public_size=PublicSize.NONE)
    [child] = work(h)
    assert child.display_qty == 1
    h.venues["XCBO"].place("taker", "t1", CALL, Side.SELL, 20, 5.00)
    h.settle(0.2)
    assert h.reports("M1")[-1].ord_status is OrdStatus.FILLED


# ---------------------------------------------------------------------------------------- churn

def test_replaces_stay_within_the_churn_bounds_under_a_fast_moving_book():
    h = Harness()
    market(h)
    seen = spy_replaces(h)
    maker(h, limit=6.00, post=P.POST_WITH)
    bid = 4.80
    for step in range(400):                        # the best bid moves every 10 ms for 4 s
        bid = round(bid + (0.10 if (step // 3) % 2 == 0 else -0.10), 2)
        h.requote("XCBO", CALL, bids=[(bid, 10)], asks=[(5.50, 10)], settle=False)
        h.settle(0.01)
    mine = [t for t, cmd in seen if cmd.child_id.startswith("P1.")]
    assert len(mine) >= 20                         # it did follow the book
    gaps = [b - a for a, b in zip(mine, mine[1:])]
    assert min(gaps) >= 50_000_000                 # min_rest_ms 50
    per_second = Counter(t // 1_000_000_000 for t in mine)
    assert max(per_second.values()) <= 10          # max_replaces_per_s 10


def test_the_churn_bounds_are_the_algo_s_settings():
    h = Harness()
    market(h)
    seen = spy_replaces(h)
    maker(h, limit=6.00, post=P.POST_WITH)
    h.engine.runtime.algos["P1"].settings = AlphaMakingSettings(min_rest_ms=300.0, max_replaces_per_s=2.0)
    bid = 4.80
    for step in range(300):
        bid = round(bid + (0.10 if (step // 3) % 2 == 0 else -0.10), 2)
        h.requote("XCBO", CALL, bids=[(bid, 10)], asks=[(5.50, 10)], settle=False)
        h.settle(0.01)
    mine = [t for t, cmd in seen if cmd.child_id.startswith("P1.")]
    assert len(mine) >= 4
    assert min(b - a for a, b in zip(mine, mine[1:])) >= 300_000_000
    assert max(Counter(t // 1_000_000_000 for t in mine).values()) <= 2


def _router_config_with(text_changes: dict[str, str]):
    """config/router.toml as shipped, with some of its lines changed, parsed as the router does."""
    import tomllib
    from pathlib import Path

    from router.config import RouterConfig
    text = (Path(__file__).resolve().parents[2] / "config" / "router.toml").read_text()
    for old, new in text_changes.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    raw = tomllib.loads(text)
    raw["market"].pop("participants")       # a file name, resolved by load_router_config; not needed here
    return RouterConfig.model_validate(raw)


def test_the_shipped_config_gives_the_algo_its_alpha_making_section():
    shipped = _router_config_with({}).algos.alpha_making
    assert shipped == AlphaMakingSettings()           # the file states the defaults
    h = Harness()
    market(h)
    maker(h, post=P.POST_FLASH)
    assert h.engine.runtime.algos["P1"].settings == h.settings.router.algos.alpha_making


def test_flash_ms_in_router_toml_sets_how_long_a_flash_lasts():
    config = _router_config_with({"flash_ms = 500.0": "flash_ms = 2000.0"})
    assert config.algos.alpha_making.flash_ms == 2000.0
    h = Harness(algo_settings=config.algos)
    market(h)
    maker(h, post=P.POST_FLASH)
    h.settle(0.6)                                  # the default flash (500 ms) would be over
    assert [c.price for c in work(h)] == [pytest.approx(5.10)]
    h.settle(1.5)
    assert [c.price for c in work(h)] == [pytest.approx(4.85)]


def test_min_rest_ms_in_router_toml_bounds_the_churn():
    config = _router_config_with({"min_rest_ms = 50.0          # a child is not amended":
                                  "min_rest_ms = 400.0          # a child is not amended"})
    h = Harness(algo_settings=config.algos)
    market(h)
    seen = spy_replaces(h)
    maker(h, limit=6.00, post=P.POST_WITH)
    bid = 4.80
    for step in range(200):
        bid = round(bid + (0.10 if (step // 3) % 2 == 0 else -0.10), 2)
        h.requote("XCBO", CALL, bids=[(bid, 10)], asks=[(5.50, 10)], settle=False)
        h.settle(0.01)
    mine = [t for t, cmd in seen if cmd.child_id.startswith("P1.")]
    assert len(mine) >= 3
    assert min(b - a for a, b in zip(mine, mine[1:])) >= 400_000_000


def test_alpha_making_settings_refuse_bad_values_naming_the_field():
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="max_replaces_per_s"):
        AlphaMakingSettings(max_replaces_per_s=0)
    with pytest.raises(ValidationError, match="flash_msx"):
        _router_config_with({"flash_ms = 500.0": "flash_msx = 500.0"})


# ------------------------------------------------------------------------------- queue priority

def _resting_at_the_bid(h: Harness) -> None:
    """Our child joins the 4.80 bid on XCBO behind others' 5 and rests a second."""
    market(h, bids=(), asks=((5.50, 10),))
    h.requote("XCBO", CALL, bids=[(4.80, 5)], asks=[(5.50, 10)])
    maker(h, limit=5.00, post=P.POST_WITH, qty=5)
    [child] = work(h)
    assert child.price == pytest.approx(4.80)
    h.settle(1.0)


def test_a_child_at_the_front_of_a_fast_queue_stays_when_the_bid_backs_off_one_tick_behind_a_long_queue():
    h = Harness()
    _resting_at_the_bid(h)
    # Everyone else leaves 4.80 for 4.75, where 500 rest: PostWith would join them.
    h.requote("XCBO", CALL, bids=[(4.75, 500)], asks=[(5.50, 10)])
    h.settle(1.0)
    [child] = work(h)
    assert child.price == pytest.approx(4.80)      # it keeps its place at the front


def test_the_child_follows_a_one_tick_back_off_when_the_new_level_is_as_short():
    h = Harness()
    _resting_at_the_bid(h)
    h.requote("XCBO", CALL, bids=[(4.75, 1)], asks=[(5.50, 10)])
    h.settle(1.0)
    [child] = work(h)
    assert child.price == pytest.approx(4.75)      # the same chance of a fill a tick cheaper


def test_a_queue_margin_keeps_the_child_where_the_move_saves_less_than_it():
    h = Harness()
    _resting_at_the_bid(h)
    h.engine.runtime.algos["P1"].settings = AlphaMakingSettings(queue_margin=0.10)
    h.requote("XCBO", CALL, bids=[(4.75, 1)], asks=[(5.50, 10)])
    h.settle(1.0)
    assert [c.price for c in work(h)] == [pytest.approx(4.80)]     # as the test above, but the tick is not worth it


def test_a_move_of_two_ticks_is_made_whatever_the_queue():
    h = Harness()
    _resting_at_the_bid(h)
    h.requote("XCBO", CALL, bids=[(4.70, 500)], asks=[(5.50, 10)])
    h.settle(1.0)
    assert [c.price for c in work(h)] == [pytest.approx(4.70)]


def test_the_queue_rule_never_keeps_a_child_through_its_limit():
    h = Harness()
    _resting_at_the_bid(h)
    h.requote("XCBO", CALL, bids=[(4.75, 500)], asks=[(5.50, 10)], settle=False)
    h.replace("M2", "M1", price=4.75)             # the client's limit drops a tick
    h.settle(1.0)
    assert [c.price for c in work(h)] == [pytest.approx(4.75)]


# ------------------------------------------------------------------------- never takes liquidity

def test_no_alpha_making_child_is_ever_reported_as_removing_liquidity_on_a_busy_market():
    h = Harness(background=True)
    h.settle(5.0)
    orders = [(Side.BUY, P.POST_LIMIT_WITH), (Side.SELL, P.POST_IMPROVE), (Side.BUY, P.POST_FLASH),
              (Side.SELL, P.POST_PEG), (Side.BUY, P.POST_IMPROVE_R), (Side.SELL, P.POST_FLASH_I)]
    for i, (side, post) in enumerate(orders):
        limit = 99.0 if side is Side.BUY else 0.05        # limits through the market: post-only must hold
        h.new(f"B{i}", side, 50, limit, order_handling=OrderHandling.POST_ONLY, balance_handling=post,
              num_make_exchanges=2)
    h.settle(120.0)
    fills = [r for r in h.reports() if r.cl_ord_id.startswith("B") and r.exec_type is ExecType.TRADE]
    assert fills, "the busy market filled none of the makers"
    assert all(r.liquidity is Liquidity.ADDED for r in fills)


# ------------------------------------------------------------------------------------ bad input

def _fix_order(h: Harness, *custom: tuple[int, str]):
    pairs = [(35, "D"), (11, "F1"), (55, CALL), (54, "1"), (60, format_utc(h.clock.now_ns())), (38, "10"),
             (40, "2"), (44, "5.00"), *custom]
    request = decode("D", pairs, SESSION, "CLIENT1", 2)
    h.engine.dispatch(request)
    return h.reports("F1")[-1]


@pytest.mark.parametrize("custom,needle", [
    (((5094, "2"), (5096, "0")), "SRBalanceHandling (5096) NoPost"),
    (((5094, "2"), (5096, "6")), "SRBalanceHandling (5096) 6 MAX_INTERN"),
    (((5094, "2"), (5096, "4"), (5050, "4")), "SRPublicSize (5050) 4 MKT_SIZE_A is not supported"),
    (((5094, "2"), (5096, "4"), (5050, "7")), "SRPublicSize (5050) 7 FULL_SIZE_R is not supported"),
])
def test_bad_terms_decoded_from_fix_are_rejected_naming_the_tag(custom, needle):
    h = Harness()
    market(h)
    report = _fix_order(h, *custom)
    assert report.ord_status is OrdStatus.REJECTED and needle in report.text
    assert not h.children("P1")


def test_the_algo_reads_its_tags():
    assert {5046, 5048, 5050, 5096, 5102, 5130, 5134, 5138, 5144, 5146, 5518, 5536} <= AlphaMakingAlgo.reads_tags


# ------------------------------------------------------------------------ taking and making combined
# These script the take class's secondary limit (algos/secondary_limits.py), to show what the
# combination does with whatever limit it is given; the live Surface class is tested below.

def _scripted_secondary(monkeypatch, take: list[float], make: list[float] | None = None) -> None:
    def secondary(ctxs, kind):
        value = take[0] if kind == "take" else (make[0] if make else float("nan"))
        return np.full(len(ctxs), value)
    monkeypatch.setattr(alpha_making, "secondary_limits", secondary)


def _combined(h: Harness, cl: str = "C1", qty: int = 10, limit: float = 5.30, **tags) -> None:
    h.new(cl, Side.BUY, qty, limit, order_handling=OrderHandling.ACTIVE_TAKER, balance_handling=P.POST_WITH,
          take_limit_class=LimitClass.PROBABILITY, take_probability=0.6, exchanges=("XCBO",), **tags)
    h.settle(0.01)


def spy_commands(h: Harness) -> list:
    seen = []
    for venue in h.venues.values():
        for name in ("submit", "cancel"):
            original = getattr(venue, name)

            def spy(command, original=original):
                seen.append(command)
                original(command)
            setattr(venue, name, spy)
    return seen


def test_combined_posts_then_takes_once_the_take_limit_is_marketable(monkeypatch):
    take = [5.00]
    _scripted_secondary(monkeypatch, take)
    h = Harness()
    market(h)
    commands = spy_commands(h)
    _combined(h)
    assert h.reports("C1")[-1].ord_status is OrdStatus.NEW
    [resting] = work(h)
    assert resting.post_only and resting.price == pytest.approx(4.80)
    h.settle(1.0)
    assert not [r for r in h.reports("C1") if r.exec_type is ExecType.TRADE]   # 5.00 does not reach 5.20
    take[0] = 5.20
    h.requote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.20, 10)])               # the next book update
    h.settle(0.5)
    fills = [r for r in h.reports("C1") if r.exec_type is ExecType.TRADE]
    assert sum(r.last_qty for r in fills) == 10 and h.reports("C1")[-1].ord_status is OrdStatus.FILLED
    assert all(r.liquidity is Liquidity.REMOVED and r.last_px == pytest.approx(5.20) for r in fills)
    kinds = [(type(c).__name__, c.child_id) for c in commands if c.child_id.startswith("P1.")]
    cancel_at = kinds.index(("CancelChild", resting.child_id))
    take_at = next(i for i, (kind, cid) in enumerate(kinds) if kind == "SubmitChild" and cid != resting.child_id)
    assert cancel_at < take_at                     # the resting child is pulled before the take goes out


def test_combined_takes_only_what_is_there_and_rests_the_rest_again(monkeypatch):
    _scripted_secondary(monkeypatch, [5.20])
    h = Harness()
    market(h, asks=((5.20, 4),))
    _combined(h, qty=10)
    h.settle(0.5)
    fills = [r for r in h.reports("C1") if r.exec_type is ExecType.TRADE]
    assert sum(r.last_qty for r in fills) == 4
    h.requote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.25, 10)])               # nothing left at 5.20
    h.settle(0.5)
    [child] = work(h)
    assert child.post_only and child.leaves_qty == 6 and child.price == pytest.approx(4.80)


def test_a_make_secondary_limit_tighter_than_the_primary_caps_the_post(monkeypatch):
    _scripted_secondary(monkeypatch, [float("nan")], make=[4.90])
    h = Harness()
    market(h)
    h.new("M1", Side.BUY, 10, 5.10, order_handling=OrderHandling.POST_ONLY, balance_handling=P.POST_LIMIT,
          make_limit_class=LimitClass.PROBABILITY, make_probability=0.55, exchanges=("XCBO",))
    h.settle(0.01)
    assert [c.price for c in work(h)] == [pytest.approx(4.90)]


# ------------------------------------------------------------- the live secondary limits (5100/5102)

MAKER = dict(order_handling=OrderHandling.POST_ONLY, balance_handling=P.POST_LIMIT, exchanges=("XCBO",))


def test_a_surface_make_class_rests_at_surface_plus_offset_within_the_primary_limit():
    h = Harness()
    quote_chain(h)
    call_at(h, 6.20, 6.80)
    offset = 6.57 - surface_of(h)
    h.new("M1", Side.BUY, 10, 20.0, make_limit_class=LimitClass.SURFACE, make_surface_prc_offset=offset, **MAKER)
    h.new("M2", Side.BUY, 10, 6.45, make_limit_class=LimitClass.SURFACE, make_surface_prc_offset=offset, **MAKER)
    h.settle(0.05)
    assert [c.price for c in work(h, "P1")] == [pytest.approx(6.55)]    # 6.57 on the nickel ladder, passive
    assert [c.price for c in work(h, "P2")] == [pytest.approx(6.45)]    # the primary limit is tighter
    assert all(c.post_only for c in work(h, "P1") + work(h, "P2"))


def test_a_surface_make_class_on_a_sell_uses_the_bid_side_offset():
    h = Harness()
    quote_chain(h)
    call_at(h, 6.20, 6.80)
    offset = surface_of(h) - 6.63                # a floor of 6.63: rests at 6.65
    h.new("M1", Side.SELL, 10, 0.05, make_limit_class=LimitClass.SURFACE, surface_prc_offset_bid=offset, **MAKER)
    h.settle(0.05)
    assert [c.price for c in work(h)] == [pytest.approx(6.65)]


def test_a_probability_make_class_rests_at_its_secondary_limit_and_not_at_all_where_none_meets_it():
    from algos.secondary_limits import secondary_limit
    h = Harness()
    quote_chain(h)
    call_at(h, 6.30, 6.70)
    for i, probability in enumerate((0.20, 0.90)):
        h.new(f"M{i}", Side.BUY, 1, 20.0, make_limit_class=LimitClass.PROBABILITY, make_probability=probability,
              **MAKER)
    for bid, ask in ((6.30, 6.70), (6.35, 6.70), (6.30, 6.70)):        # a few book events to learn from
        call_at(h, bid, ask)
        h.settle(1.0)
    rule = h.system.securities.get(CALL).tick_rule
    prices = []
    for order_id in ("P1", "P2"):
        algo = h.engine.runtime.algos[order_id]
        limit = secondary_limit(algo.ctx, "make")
        resting = work(h, order_id)
        if np.isnan(limit):
            assert resting == []                   # no price meets it: nothing rests
            prices.append(None)
            continue
        [child] = resting
        assert child.post_only
        assert child.price == pytest.approx(min(rule.round_passive(limit, True), 6.65))   # inside the ask
        prices.append(child.price)
    assert prices[0] is not None and prices[1] is None     # 0.90 is met nowhere on this book


def test_combined_with_a_surface_take_class_posts_then_takes_at_surface_plus_offset():
    h = Harness()
    quote_chain(h)
    call_at(h, 6.40, 6.80)
    offset = 6.57 - surface_of(h)
    h.new("C1", Side.BUY, 10, 20.0, order_handling=OrderHandling.ACTIVE_TAKER, balance_handling=P.POST_WITH,
          take_limit_class=LimitClass.SURFACE, take_surface_prc_offset=offset, exchanges=("XCBO",))
    h.settle(0.05)
    [resting] = work(h, "P1")
    assert resting.post_only and resting.price == pytest.approx(6.40)     # joins the bid
    call_at(h, 6.40, 6.60)
    assert not [r for r in h.reports("C1") if r.exec_type is ExecType.TRADE]
    call_at(h, 6.40, 6.55)                                                 # the ask reaches the take limit
    h.settle(0.5)
    fills = [r for r in h.reports("C1") if r.exec_type is ExecType.TRADE]
    assert fills and all(r.liquidity is Liquidity.REMOVED and r.last_px == pytest.approx(6.55) for r in fills)


# ------------------------------------------------------------------------------------ restart

def test_a_restart_keeps_the_maker_s_state_and_it_goes_on_posting(tmp_path):
    from router.server import restore_from_store
    from router.store import Store
    url = f"sqlite:///{tmp_path}/router.db"
    store = Store(url)
    store.migrate()
    first = Harness(persistence=store)
    market(first, venues=("XCBO", "XISX"))
    maker(first, qty=20, post=P.POST_FLASH_W, exchanges=("XCBO", "XISX"), num_make_exchanges=2,
          public_size=PublicSize.RANDOMIZE)
    saved = first.engine.runtime.algos["P1"].save_state()
    assert saved["draws"] == 2 and len(saved["flash_until"]) == 2 and len(saved["joined"]) == 2
    ids_before = {c.child_id for c in first.children("P1")}
    store.close()

    store = Store(url)
    second = Harness(persistence=store, start=first.now())
    market(second, venues=("XCBO", "XISX"))
    second.engine.restore(restore_from_store(store))
    restored = second.engine.runtime.algos["P1"]
    assert restored._draws == 2 and restored._flash_until == {k: int(v) for k, v in saved["flash_until"].items()}
    second.settle(2.0)
    children = work(second)
    assert sum(c.leaves_qty for c in children) == 20
    assert all(c.post_only and c.price == pytest.approx(4.80) for c in children)      # With, after the flash
    assert len({c.child_id for c in second.children("P1")}) == len(second.children("P1"))
    assert ids_before <= {c.child_id for c in second.children("P1")}
    store.close()
