"""Build FIX44.venue.xml, the data dictionary of the router's venue sessions (venues/fix_protocol.py):
QuickFIX's stock FIX 4.4 dictionary plus two fields FIX 4.4 lacks.

- AggressorSide (2446) in the MDIncGrp entries of MarketDataIncrementalRefresh (X): the side
  that removed liquidity on a trade print. It is FIX Latest's field (extension pack EP194),
  placed where FIX Latest puts it.
- OptionsCapacity (9047, user defined) on NewOrderSingle (D): the account type an options
  exchange charges the child as. FIX 4.4's OrderCapacity (528) has no customer / professional /
  market maker split; the codes are the ones US options exchanges give their capacity field
  in their FIX 4.2 specifications (tag 47: C customer, U professional customer, M market maker,
  B broker-dealer).
- SRAltRouteCode (5028, user defined) on NewOrderSingle (D): the parent's alternate route code,
  echoed on each of its children (SpiderRock's common order parameter).

Usage: python fix_specs/venue/build_venue_dictionary.py   (writes fix_specs/venue/FIX44.venue.xml)

Text insertion, as fix_specs/build_dictionary.py does, so the stock part stays byte-identical.
"""
from pathlib import Path

HERE = Path(__file__).resolve().parent
STOCK = HERE.parent / "FIX44.stock.xml"
OUT = HERE / "FIX44.venue.xml"

FIELDS = """  <!-- venue sessions: fix_specs/venue/build_venue_dictionary.py -->
  <field number='2446' name='AggressorSide' type='CHAR'>
   <value enum='1' description='BUY' />
   <value enum='2' description='SELL' />
  </field>
  <field number='9047' name='OptionsCapacity' type='CHAR'>
   <value enum='C' description='CUSTOMER' />
   <value enum='U' description='PROFESSIONAL_CUSTOMER' />
   <value enum='M' description='MARKET_MAKER' />
   <value enum='B' description='BROKER_DEALER' />
  </field>
  <field number='5028' name='SRAltRouteCode' type='STRING' />
"""


def _insert_after(text: str, start_marker: str, anchor: str, addition: str) -> str:
    """``addition`` after the first ``anchor`` that follows ``start_marker``."""
    start = text.index(start_marker)
    at = text.index(anchor, start) + len(anchor)
    return text[:at] + addition + text[at:]


def build() -> str:
    text = STOCK.read_text()
    text = _insert_after(text, "<component name='MDIncGrp'>", "<field name='MDEntrySize' required='N' />\n",
                         "    <field name='AggressorSide' required='N' />\n")
    text = _insert_after(text, "<message name='NewOrderSingle'", "<field name='ExDestination' required='N' />\n",
                         "   <field name='OptionsCapacity' required='N' />\n"
                         "   <field name='SRAltRouteCode' required='N' />\n")
    at = text.index(" </fields>")
    return text[:at] + FIELDS + text[at:]


if __name__ == "__main__":
    OUT.write_text(build())
    print(f"wrote {OUT}")
