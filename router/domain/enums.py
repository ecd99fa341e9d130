"""FIX and SpiderRock enumerations used across the router.

Values are the FIX wire values, so codecs translate with ``Enum(value)``.
"""
from __future__ import annotations

from enum import Enum, IntEnum


class Side(str, Enum):
    BUY = "1"
    SELL = "2"
    SELL_SHORT = "5"
    SELL_SHORT_EXEMPT = "6"

    @property
    def is_buy(self) -> bool:
        return self is Side.BUY

    def opposite(self) -> "Side":
        return Side.SELL if self.is_buy else Side.BUY


class OrdType(str, Enum):
    MARKET = "1"
    LIMIT = "2"


class TimeInForce(str, Enum):
    DAY = "0"
    GTC = "1"
    OPG = "2"
    IOC = "3"
    FOK = "4"
    GTD = "6"
    CLOSE = "7"


class SRTimeInForce(str, Enum):
    """SRTimeInForce (5084). The reference spells values as text, seed 001 as digits;
    both spellings are accepted and normalised to these members."""
    DAY = "Day"
    IOC = "IOC"
    GTD = "GTD"
    EXT_DAY = "EXT"
    WEEK = "WK"
    EXT_WEEK = "EWK"

    @classmethod
    def parse(cls, raw: str) -> "SRTimeInForce":
        return _SR_TIF_DIGITS.get(raw) or cls(raw)


_SR_TIF_DIGITS = {
    "1": SRTimeInForce.DAY, "2": SRTimeInForce.IOC, "3": SRTimeInForce.GTD,
    "4": SRTimeInForce.EXT_DAY, "5": SRTimeInForce.WEEK, "6": SRTimeInForce.EXT_WEEK,
}


class OrdStatus(str, Enum):
    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    DONE_FOR_DAY = "3"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    PENDING_NEW = "A"
    EXPIRED = "C"
    PENDING_REPLACE = "E"

    @property
    def is_done(self) -> bool:
        return self in _DONE_STATUSES


_DONE_STATUSES = frozenset({OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED,
                            OrdStatus.EXPIRED, OrdStatus.DONE_FOR_DAY})


class ExecType(str, Enum):
    NEW = "0"
    DONE_FOR_DAY = "3"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    PENDING_NEW = "A"
    EXPIRED = "C"
    PENDING_REPLACE = "E"
    TRADE = "F"
    ORDER_STATUS = "I"


class OrdRejReason(IntEnum):
    """FIX 4.4 OrdRejReason (103)."""
    BROKER_OPTION = 0
    UNKNOWN_SYMBOL = 1
    EXCHANGE_CLOSED = 2
    ORDER_EXCEEDS_LIMIT = 3
    TOO_LATE_TO_ENTER = 4
    UNKNOWN_ORDER = 5
    DUPLICATE_ORDER = 6
    STALE_ORDER = 8
    INCORRECT_QUANTITY = 13
    UNKNOWN_ACCOUNT = 15
    INVALID_PRICE_INCREMENT = 18
    OTHER = 99


class CxlRejReason(IntEnum):
    """FIX 4.4 CxlRejReason (102)."""
    TOO_LATE_TO_CANCEL = 0
    UNKNOWN_ORDER = 1
    BROKER_OPTION = 2
    ALREADY_PENDING = 3
    DUPLICATE_CLORDID = 6
    OTHER = 99


class SRRejectCode(IntEnum):
    """The subset of SpiderRock's SRRejectCode (5605, reference appendix C) the router emits."""
    NONE = 0
    UNKNOWN_OPTION = 2
    UNKNOWN_STOCK = 3
    EXPIRED = 4
    BAD_SIZE = 5
    DUP_ORD_NUM = 7
    BAD_VOL_PX = 8
    BAD_LMT_TYPE = 9
    BAD_LIMIT = 11
    SYS_REJECT = 12
    UNKNOWN_ACCOUNT = 18
    BAD_EXPOSE = 24
    BAD_DDIVS = 42
    BAD_ORD_TYPE = 53
    NO_ROUTES = 59
    BAD_SIDE = 63
    USER_RISK = 130
    USER_MAX_CN = 131
    TOO_LATE_TO_REDUCE = 166
    INVLD_AUTO_H = 162
    PEND_CXL_REPL = 167
    INVLD_CXL_REPL = 168


class OrderHandling(IntEnum):
    """SROrderHandling (5094)."""
    ACTIVE_TAKER = 1
    POST_ONLY = 2
    DMA = 3
    MKT_ON_OPEN = 4
    MKT_ON_CLOSE = 5
    FACILITATE = 6
    MATRIX = 7
    LEGGER = 8
    SEEKER = 9
    SEEKER_LEGGER = 10
    CROSS_RESPONSE = 11
    AUCTION_RESPONSE = 12
    AWAY_ALGO = 13
    EXCH_PING = 14
    SWEEP_TAKE = 19
    COB_MAKER = 20


class BalanceHandling(IntEnum):
    """SRBalanceHandling (5096), the seed's "Post Type". 0 and 5 come from seed 001 only."""
    NO_POST = 0
    POST_WITH = 1
    POST_TURN = 2
    POST_IMPROVE = 3
    POST_LIMIT = 4
    POST_LIMIT_WITH = 5
    MAX_INTERN = 6
    POST_WITH_F = 7
    POST_IMPROVE_R = 8
    POST_FLASH = 9
    POST_FLASH_W = 10
    POST_PEG = 11
    POST_FLASH_I = 12


class LimitType(IntEnum):
    """SROrderLimitType (5098)."""
    MARKET = 0
    MARKET_ARRIVAL = 1
    PRC = 2
    PRC_DE = 3
    PRC_DE_X = 4
    PRC_DE_T = 5
    PRC_DE_P = 6
    PRC_DE_XT = 7
    PRC_DE_XP = 8
    VOL = 9
    VOL_X = 10
    PRC_V = 11
    PRC_VX = 12
    VOL_PRC = 13
    REL_MID = 14
    REL_JOIN = 15
    REL_CROSS = 16
    SMRT_FAST = 17
    SMRT_NORM = 18
    REL_TURN = 19


class LimitClass(IntEnum):
    """SRTakeLimitClass (5100) / SRMakeLimitClass (5102)."""
    SIMPLE = 0
    SURFACE = 1
    PROBABILITY = 2
    SURF_PROB = 3


class MassCancelType(str, Enum):
    UNDERLYING = "2"
    ALL = "7"


class ChildRole(str, Enum):
    """What a child order is for. WORK counts toward its parent's CumQty; HEDGE is an auto-hedge
    in the underlier, reported under the hedge ClOrdID (5010); LEG is one leg of a package
    (the leg number is on the child); PACKAGE is a whole package on a venue's complex order book
    (its qty and price count package units and the net price; its fills are its legs'); FIRM is
    the firm's contra (initiating) order in a facilitation auction: its fills are the firm
    account's and never touch the client parent's CumQty."""
    WORK = "W"
    HEDGE = "H"
    LEG = "L"
    PACKAGE = "K"
    FIRM = "F"


class Liquidity(str, Enum):
    """Who made the liquidity a fill traded against (stored as A/R; FIX 851 is 1/2)."""
    ADDED = "A"
    REMOVED = "R"

    @property
    def fix_value(self) -> str:
        return "1" if self is Liquidity.ADDED else "2"


class CxlRejResponseTo(str, Enum):
    """FIX CxlRejResponseTo (434)."""
    CANCEL = "1"
    REPLACE = "2"


class PendingKind(str, Enum):
    """What a parent is waiting on before it can change state."""
    CANCEL = "cancel"
    REPLACE = "replace"
    EXPIRE = "expire"
    FINISH = "finish"          # the algo ended the order (its text says why)


class HedgeMode(str, Enum):
    """SRAutoHedge (5152): how option fills are hedged in the underlier (router/hedge.py)."""
    NO_HEDGE = "N"
    FAST_CRX = "X"
    FAST_DRK = "Y"
    SLOW_DRK = "Z"
    AUTO_CRX = "F"
    AUTO_TRN = "S"
    AUTO_MID = "M"
    SPDR_AUTO = "A"
    SPDR_10S = "1"
    SPDR_30S = "3"
    SPDR_90S = "9"
    SPDR_5M = "5"
    SPDR_30M = "H"
    SPDR_DAY = "D"
    ALPHA_VWAP_1PCT = "V1"
    ALPHA_VWAP_2PCT = "V2"
    ALPHA_VWAP_5PCT = "V5"
    ALPHA_VWAP_25PCT = "V25"
    STATIC = "T"


class ShortSaleFlag(IntEnum):
    """SRShortSaleFlag (5172)."""
    LONG = 1
    SHORT = 2
    EXEMPT = 3
    AUTO = 4
    OPEN = 5
    CLOSE = 6
    NA = 7
    COVER = 8


class StartType(IntEnum):
    """SRStartType (5090)."""
    IMMEDIATE = 0
    WAIT_TRIGGER = 1
    STAGED = 2


class AlphaType(IntEnum):
    """SRTakeAlphaType (5128) / SRMakeAlphaType (5130): how a Probability limit is set
    (router/models/alpha.py gives each its meaning)."""
    STATIC = 1
    HAWK = 2
    EAGLE = 3
    FALCON = 4
    RELATIVE = 5


class TakeReach(IntEnum):
    """SRTakeReachRule (5104): which displayed size an alpha-taking order may take."""
    IMMEDIATE = 0
    DELAYED = 1
    PASSIVE = 2
    WEAK_ONLY = 3
    RESPOND_ONLY = 4
    FULL_SIZE = 5
    ISO_SWEEP = 6


class PublicSize(IntEnum):
    """SRPublicSize (5050): how much of a resting child is displayed."""
    NONE = 0
    RANDOMIZE = 1
    MKT_SIZE = 2
    FULL_SIZE = 3
    MKT_SIZE_A = 4
    MKT_SIZE_B = 5
    MKT_SIZE_C = 6
    FULL_SIZE_R = 7
