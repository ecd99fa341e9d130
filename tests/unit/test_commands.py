"""The command classes: the stored JSON of AlgoParams is the one pydantic wrote, the pydantic
names the router uses still work, and the stateless rules raise CommandError with their codes."""
from __future__ import annotations

import json
import pickle
from datetime import date, datetime, timezone

import pytest

from router.domain.commands import (AlgoParams, CommandError, InstrumentSpec, MassCancel, MultilegLeg,
                                    NewMultilegOrder, NewOrder, ReplaceOrder)
from router.domain.enums import (HedgeMode, LimitType, MassCancelType, OrderHandling, OrdType, ShortSaleFlag, Side,
                                 SRTimeInForce, StartType)

# Written by the pydantic AlgoParams this class replaced: parents stored before still load.
PYDANTIC_JSON = (
    '{"order_handling":1,"balance_handling":null,"limit_type":9,"take_limit_class":null,"make_limit_class":null,'
    '"exchanges":["XCBO","ARCO"],"max_child_orders":null,"active_size":null,"sr_time_in_force":"IOC",'
    '"order_duration_s":null,"good_till":"2026-11-20T15:00:01.500000Z","vol_limit":0.25,"order_prc_limit":null,'
    '"order_prc_offset":-0.05,"strategy":null,"rate_override":null,"sdiv_override":null,'
    '"ddiv_override":[[0.25,0.5],[0.5,0.5]],"override_code":"D","take_surface_prc_offset":0.0,'
    '"take_surface_vol_offset":0.0,"make_surface_prc_offset":0.0,"make_surface_vol_offset":0.0,'
    '"order_ref_uprc":null,"order_ref_delta":null,"order_ref_gamma":null,"order_ref_theta":null,'
    '"cxl_uprc_range":true,"min_ubid":null,"max_uask":null,"min_option_px":null,"auto_hedge":"X",'
    '"alt_auto_hedge_id":"H1","short_sale_flag":2,"start_type":1,"slice_count":null,"take_reach":null,'
    '"extra":{"5999":"kept"}}')
PYDANTIC_DEFAULT_JSON = (
    '{"order_handling":null,"balance_handling":null,"limit_type":null,"take_limit_class":null,'
    '"make_limit_class":null,"exchanges":[],"max_child_orders":null,"active_size":null,"sr_time_in_force":null,'
    '"order_duration_s":null,"good_till":null,"vol_limit":null,"order_prc_limit":null,"order_prc_offset":0.0,'
    '"strategy":null,"rate_override":null,"sdiv_override":null,"ddiv_override":null,"override_code":null,'
    '"take_surface_prc_offset":0.0,"take_surface_vol_offset":0.0,"make_surface_prc_offset":0.0,'
    '"make_surface_vol_offset":0.0,"order_ref_uprc":null,"order_ref_delta":null,"order_ref_gamma":null,'
    '"order_ref_theta":null,"cxl_uprc_range":null,"min_ubid":null,"max_uask":null,"min_option_px":null,'
    '"auto_hedge":null,"alt_auto_hedge_id":null,"short_sale_flag":null,"start_type":null,"slice_count":null,'
    '"take_reach":null,"extra":{}}')


def rich_algo() -> AlgoParams:
    return AlgoParams(order_handling=OrderHandling.ACTIVE_TAKER, limit_type=LimitType.VOL, vol_limit=0.25,
                      exchanges=("XCBO", "ARCO"), good_till=datetime(2026, 11, 20, 15, 0, 1, 500000, tzinfo=timezone.utc),
                      ddiv_override=((0.25, 0.5), (0.5, 0.5)), override_code="D", auto_hedge=HedgeMode.FAST_CRX,
                      alt_auto_hedge_id="H1", sr_time_in_force=SRTimeInForce.IOC, cxl_uprc_range=True,
                      extra={5999: "kept"}, short_sale_flag=ShortSaleFlag.SHORT, start_type=StartType.WAIT_TRIGGER,
                      order_prc_offset=-0.05)


# Fields added since (5046, 5048): written after the old ones, before "extra".
ADDED = ('"max_exposure_size":null,"num_make_exchanges":null,'
         '"take_alpha_type":null,"make_alpha_type":null,"take_alpha_factor":null,"make_alpha_factor":null,'
         '"take_probability":null,"make_probability":null,"surface_prc_offset_ask":0.0,"surface_prc_offset_bid":0.0,'
         '"public_size":null,"can_cxl_overlap":null,"alt_route_code":null,'
         + "".join(f'"{name}":null,' for name in ("max_acc_day_wt_vega_ln", "max_acc_day_wt_vega_sh", "max_acc_day_ddelta_ln",
                   "max_acc_day_ddelta_sh", "max_exp_day_wt_vega_ln", "max_exp_day_wt_vega_sh", "max_sym_day_wt_vega_ln",
                   "max_sym_day_wt_vega_sh", "max_sym_day_ddelta_ln", "max_sym_day_ddelta_sh")))


def test_algo_json_is_the_one_pydantic_wrote_plus_the_fields_added_since():
    assert rich_algo().model_dump_json() == PYDANTIC_JSON.replace('"extra"', ADDED + '"extra"')
    assert AlgoParams().model_dump_json() == PYDANTIC_DEFAULT_JSON.replace('"extra"', ADDED + '"extra"')


def test_stored_algo_json_loads_back_typed():
    algo = AlgoParams.model_validate_json(PYDANTIC_JSON)
    assert algo == rich_algo()
    assert algo.limit_type is LimitType.VOL and algo.sr_time_in_force is SRTimeInForce.IOC
    assert algo.auto_hedge is HedgeMode.FAST_CRX and algo.exchanges == ("XCBO", "ARCO")
    assert algo.good_till == datetime(2026, 11, 20, 15, 0, 1, 500000, tzinfo=timezone.utc)
    assert algo.ddiv_override == ((0.25, 0.5), (0.5, 0.5)) and algo.extra == {5999: "kept"}
    # as pydantic: every key in the JSON, so not the fields added since
    added = {name for name in AlgoParams.model_fields if f'"{name}":' in ADDED}
    assert "max_sym_day_ddelta_sh" in added and len(added) == 23
    assert algo.model_fields_set == set(AlgoParams.model_fields) - added
    assert AlgoParams.model_validate_json(PYDANTIC_DEFAULT_JSON) == AlgoParams()


def test_fields_set_names_what_was_given_even_at_its_default():
    algo = AlgoParams(take_surface_prc_offset=0.0, limit_type=LimitType.PRC)
    assert algo.model_fields_set == {"take_surface_prc_offset", "limit_type"}
    copy = algo.model_copy(update={"order_ref_delta": 0.55})
    assert copy.order_ref_delta == 0.55 and copy.limit_type is LimitType.PRC
    assert copy.model_fields_set == {"take_surface_prc_offset", "limit_type", "order_ref_delta"}
    assert AlgoParams().model_fields_set == frozenset()


def test_algo_params_are_immutable_hashable_and_picklable():
    algo = rich_algo()
    with pytest.raises(AttributeError):
        algo.limit_type = LimitType.PRC
    assert hash(algo) == hash(rich_algo()) and algo != AlgoParams()
    again = pickle.loads(pickle.dumps(algo))
    assert again == algo and again.model_fields_set == algo.model_fields_set
    with pytest.raises(TypeError):
        AlgoParams(no_such_field=1)


@pytest.mark.parametrize("given,needle", [
    (dict(max_child_orders=0), "MaxChildOrders (5080) 0 must be at least 1"),
    (dict(active_size=0), "ActiveOrderSize (5044)"),
    (dict(order_duration_s=-1), "SROrderDuration (5086)"),
    (dict(rate_override=-0.01), "SRRateOverride (5118)"),
    (dict(override_code="Q"), "SROverrideCode (5124)"),
])
def test_field_rules_raise_command_errors(given, needle):
    with pytest.raises(CommandError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        AlgoParams(**given)


def test_vol_limit_out_of_range_carries_bad_vol_px():
    with pytest.raises(CommandError) as raised:
        AlgoParams(vol_limit=12.5)
    assert raised.value.text == "OrderVolLimit 12.5 out of range 0.005-9" and raised.value.sr_reject_code == 8


def order(**changes) -> NewOrder:
    values = dict(cl_ord_id="C1", instrument=InstrumentSpec(symbol="X"), side=Side.BUY, qty=1, ord_type=OrdType.LIMIT,
                  price=1.0)
    return NewOrder(**{**values, **changes})


@pytest.mark.parametrize("changes,codes,needle", [
    (dict(qty=0), (13, 5), "OrderQty 0 must be positive"),
    (dict(price=None), (99, 11), "requires Price (44)"),
    (dict(price=-1.0), (99, 11), "Price -1 must be positive"),
    (dict(cl_ord_id=""), (99, 12), "ClOrdID (11) must be 1-64 characters"),
    (dict(cl_ord_id="X" * 65), (99, 12), "ClOrdID (11) must be 1-64 characters, got 65"),
    (dict(algo=AlgoParams(limit_type=LimitType.VOL)), (99, 8), "OrderVolLimit (5116) required"),
])
def test_new_order_rules(changes, codes, needle):
    with pytest.raises(CommandError) as raised:
        order(**changes)
    assert (int(raised.value.ord_rej_reason), int(raised.value.sr_reject_code)) == codes
    assert needle in raised.value.text


def test_replace_and_multileg_rules():
    with pytest.raises(CommandError, match="OrderQty 0"):
        ReplaceOrder(cl_ord_id="R1", qty=0)
    leg = MultilegLeg(ref_id="1", instrument=InstrumentSpec(symbol="X"), side=Side.BUY)
    with pytest.raises(CommandError, match="2-7 legs"):
        NewMultilegOrder(cl_ord_id="M1", qty=1, legs=(leg,))
    with pytest.raises(CommandError, match="LegRatioQty"):
        MultilegLeg(ref_id="1", instrument=InstrumentSpec(symbol="X"), side=Side.BUY, ratio=0)


def test_commands_dump_to_json_as_pydantic_did():
    dumped = order(expire_date=date(2026, 12, 18), transact_time=datetime(2026, 11, 20, 15, tzinfo=timezone.utc),
                   algo=AlgoParams(limit_type=LimitType.PRC, extra={5999: "x"})).model_dump(mode="json")
    assert dumped["kind"] == "new" and dumped["side"] == "1" and dumped["ord_type"] == "2"
    assert dumped["instrument"] == {"symbol": "X", "maturity_date": None, "strike": None, "put_call": None,
                                    "security_type": None}
    assert dumped["expire_date"] == "2026-12-18" and dumped["transact_time"] == "2026-11-20T15:00:00Z"
    assert dumped["algo"]["limit_type"] == 2 and dumped["algo"]["extra"] == {"5999": "x"}
    json.dumps(dumped)
    assert MassCancel(cl_ord_id="M", request_type=MassCancelType.ALL).model_dump(mode="json") == {
        "kind": "mass_cancel", "cl_ord_id": "M", "request_type": "7", "account": None, "underlying": None,
        "transact_time": None}
