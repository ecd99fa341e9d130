"""SpiderRock custom FIX tags that build_dictionary.py adds to the stock QuickFIX FIX 4.4 dictionary.

Sources: seed 001 (the "Corresponding FIX Tags" and "Common Order Parameters" tables) and the
SpiderRock V7 reference (shared/reference/spiderrock/CustomTags.txt and ClientOrderEntry.txt).
Names, numbers and types follow the reference. Where the sources disagree, the field's comment
records the choice; it is written into FIX44.xml next to the field.

Types: reference "datetime" -> UTCTIMESTAMP; numeric-coded enums -> INT, because QuickFIX's CHAR
check rejects two-character codes such as "19"; reference "long" -> STRING, because QuickFIX INT
is 32-bit.

Each row: (tag number, name, QuickFIX type, ((enum value, description), ...), comment).
"""

Y_N = (("Y", "YES"), ("N", "NO"))
EXCH_FEE_RULE = (("1", "EXCL_FEE"), ("2", "INC_FEE"))
LIMIT_CLASS = (("0", "SIMPLE"), ("1", "SURFACE"), ("2", "PROBABILITY"), ("3", "SURF_PROB"))
ALPHA_TYPE = (("1", "STATIC"), ("2", "HAWK"), ("3", "EAGLE"), ("4", "FALCON"), ("5", "RELATIVE"))
RISK_METRIC_SOURCE = (
    ("1", "USER"), ("2", "VEGA"), ("3", "WVEGA"), ("4", "WT_VEGA"), ("5", "T_VEGA"),
    ("6", "THETA"), ("7", "D_THETA"), ("8", "GAMMA"), ("9", "D_GAMMA"),
)

CUSTOM_FIELDS = [
    (5010, "SRAltAutoHedgeId", "STRING", (),
     "seed 001 calls 5010 srAutoHedgeClOrdID (ClOrdID used on hedge executions); reference name kept"),
    (5012, "SRAltAccnt", "STRING", (), ""),
    (5014, "SRAltUserName", "STRING", (), ""),
    (5020, "SRAccnt", "STRING", (), ""),
    (5022, "SRClientFirm", "STRING", (), ""),
    (5023, "SRClientAccnt", "STRING", (), ""),
    (5024, "SRClearingFirm", "STRING", (), ""),
    (5026, "SRClearingAccnt", "STRING", (), ""),
    (5028, "SRAltRouteCode", "STRING", (), ""),
    (5030, "SRExternExDest", "STRING", (), ""),
    (5032, "SRExternParams", "STRING", (), ""),
    (5034, "SRStrategy", "STRING", (), ""),
    (5036, "SRUsername", "STRING", (), ""),
    (5044, "SROrderActiveSize", "INT", (), ""),
    (5046, "SRMaxExposureSize", "INT", (),
     "seed 001 multi-leg table reads 5046 as an exposure percentage; reference and seed common table as a size"),
    (5048, "SRNumMakeExchanges", "INT", (), ""),
    (5050, "SRPublicSize", "INT", (
        ("0", "NONE"), ("1", "RANDOMIZE"), ("2", "MKT_SIZE"), ("3", "FULL_SIZE"),
        ("4", "MKT_SIZE_A"), ("5", "MKT_SIZE_B"), ("6", "MKT_SIZE_C"), ("7", "FULL_SIZE_R"),
    ), "seed 001 lists 0-3; reference 0-7"),
    (5052, "SRCanCxlOverlap", "CHAR", Y_N, ""),
    (5054, "SRProgressRule", "INT", (
        ("0", "IMMEDIATE"), ("1", "TWAP"), ("2", "VWAP"), ("3", "TWAP_RESET"), ("4", "VWAP_RESET"),
        ("5", "FAST_RESET"), ("6", "SLOW_RESET"), ("7", "TWAP_ALPHA"), ("8", "VWAP_ALPHA"),
        ("9", "TWAP_ALPHA_C"), ("10", "VWAP_ALPHA_C"), ("11", "SPDR_PULSE"),
    ), "0-10 from CustomTags.txt, 11 SpdrPulse from ClientOrderEntry.txt"),
    (5055, "SRProgressExposeTime", "INT", (), "only in ClientOrderEntry.txt"),
    (5056, "SRProgressSliceCnt", "INT", (),
     "seed 001 TwapSliceCount, ClientOrderEntry.txt SRTwapSliceCnt; CustomTags.txt name kept"),
    (5058, "SRVwapParticipation", "FLOAT", (), ""),
    (5060, "SRAuctionResponder", "STRING", (), ""),
    (5062, "SRMaxTakeExchFee", "FLOAT", (), ""),
    (5064, "SRMaxMakeExchFee", "FLOAT", (), ""),
    (5066, "SRIncTakeExchFee", "INT", EXCH_FEE_RULE, ""),
    (5068, "SRIncMakeExchFee", "INT", EXCH_FEE_RULE, ""),
    (5070, "SRMakeExchRule", "INT", (
        ("1", "MAX_PART"), ("2", "FEE_OPTIMAL"), ("3", "IMPRV_ONLY"), ("4", "FEE_STRICT"),
    ), ""),
    (5072, "SRCxlUPrcRange", "CHAR", Y_N, ""),
    (5074, "SRMinUBid", "FLOAT", (), ""),
    (5076, "SRMaxUAsk", "FLOAT", (), ""),
    (5078, "SRMinOptionPx", "FLOAT", (), ""),
    (5080, "SRMaxChildOrders", "INT", (), ""),
    (5082, "SRExchanges", "STRING", (), "comma-separated list, so STRING rather than MULTIPLEVALUESTRING"),
    (5083, "SRStageType", "INT", (("1", "STAGE_LOCK"), ("2", "STAGE_MODIFY"), ("3", "STAGE_REVIEW")), ""),
    (5084, "SRTimeInForce", "STRING", (
        ("Day", "DAY"), ("EXT", "EXTENDED_DAY"), ("WK", "WEEK"), ("EWK", "EXTENDED_WEEK"),
        ("IOC", "IMMEDIATE_OR_CANCEL"), ("GTD", "GOOD_TILL_DURATION"),
        ("1", "SEED_DAY"), ("2", "SEED_IOC"), ("3", "SEED_GTD"),
        ("4", "SEED_EXT_DAY"), ("5", "SEED_WEEK"), ("6", "SEED_EXT_WEEK"),
    ), "reference uses text codes, seed 001 digits 1-6 (Day, IOC, GTD, ExtDay, Week, ExtWeek); both accepted"),
    (5085, "SRStartDttm", "UTCTIMESTAMP", (), ""),
    (5086, "SROrderDuration", "INT", (), ""),
    (5088, "SRGoodTillDttm", "UTCTIMESTAMP", (), ""),
    (5090, "SRStartType", "INT", (("0", "IMMEDIATE"), ("1", "WAIT_TRIGGER"), ("2", "STAGED")), ""),
    (5092, "SRProgressTimeout", "INT", (), ""),
    (5094, "SROrderHandling", "INT", (
        ("1", "ACTIVE_TAKER"), ("2", "POST_ONLY"), ("3", "DMA"), ("4", "MKT_ON_OPN"), ("5", "MKT_ON_CLS"),
        ("6", "FACILITATE"), ("7", "MATRIX"), ("8", "LEGGER"), ("9", "SEEKER"), ("10", "SEEKER_LEGGER"),
        ("11", "CROSS_RESPONSE"), ("12", "AUCTION_RESPONSE"), ("13", "AWAY_ALGO"), ("14", "EXCH_PING"),
        ("19", "SWEEP_TAKE"), ("20", "COB_MAKER"),
    ), ""),
    (5096, "SRBalanceHandling", "INT", (
        ("0", "NO_POST"), ("1", "POST_WITH"), ("2", "POST_TURN"), ("3", "POST_IMPROVE"), ("4", "POST_LIMIT"),
        ("5", "POST_LMT_W"), ("6", "MAX_INTERN"), ("7", "POST_WTH_F"), ("8", "POST_IMPRV_R"),
        ("9", "POST_FLASH"), ("10", "POST_FLASH_W"), ("11", "POST_PEG"), ("12", "POST_FLASH_I"),
    ), "CustomTags.txt omits 0 NoPost and 5 PostLmtW; seed 001 and ClientOrderEntry.txt have them"),
    (5098, "SROrderLimitType", "INT", (
        ("0", "MARKET"), ("1", "MARKET_ARRIVAL"), ("2", "PRC"), ("3", "PRC_DE"), ("4", "PRC_DE_X"),
        ("5", "PRC_DE_T"), ("6", "PRC_DE_P"), ("7", "PRC_DE_XT"), ("8", "PRC_DE_XP"), ("9", "VOL"),
        ("10", "VOL_X"), ("11", "PRC_V"), ("12", "PRC_VX"), ("13", "VOL_PRC"), ("14", "REL_MID"),
        ("15", "REL_JOIN"), ("16", "REL_CROSS"), ("17", "SMRT_FAST"), ("18", "SMRT_NORM"), ("19", "REL_TURN"),
    ), "11/12 named PrcV/PrcVX as in seed 001 and CustomTags.txt; ClientOrderEntry.txt says VolF/VolFX"),
    (5100, "SRTakeLimitClass", "INT", LIMIT_CLASS, ""),
    (5102, "SRMakeLimitClass", "INT", LIMIT_CLASS, ""),
    (5104, "SRTakeReachRule", "INT", (
        ("0", "IMMEDIATE"), ("1", "DELAYED"), ("2", "PASSIVE"), ("3", "WEAK_ONLY"),
        ("4", "RESPOND_ONLY"), ("5", "FULL_SIZE"), ("6", "ISO_SWEEP"),
    ), "seed 001 lists 0-3; reference 0-6"),
    (5106, "SROrderPrcLimit", "PRICE", (), ""),
    (5107, "SROrderRefUBid", "PRICE", (), ""),
    (5108, "SROrderRefUPrc", "PRICE", (), ""),
    (5109, "SROrderRefUAsk", "PRICE", (), ""),
    (5110, "SROrderRefDelta", "FLOAT", (), ""),
    (5112, "SROrderRefGamma", "FLOAT", (), ""),
    (5114, "SROrderRefTheta", "FLOAT", (), ""),
    (5116, "SROrderVolLimit", "FLOAT", (), ""),
    (5118, "SRRateOverride", "FLOAT", (), ""),
    (5120, "SRSDivOverride", "FLOAT", (), ""),
    (5122, "SRDDivOverride", "STRING", (), ""),
    (5124, "SROverrideCode", "CHAR", (("S", "SDIV_ONLY"), ("D", "DDIV_ONLY"), ("B", "BOTH")), ""),
    (5126, "SROrderPrcOffset", "PRICE", (), ""),
    (5128, "SRTakeAlphaType", "INT", ALPHA_TYPE, ""),
    (5130, "SRMakeAlphaType", "INT", ALPHA_TYPE, ""),
    (5132, "SRTakeAlphaFactor", "FLOAT", (), ""),
    (5134, "SRMakeAlphaFactor", "FLOAT", (), ""),
    (5136, "SRTakeProbability", "FLOAT", (), ""),
    (5138, "SRMakeProbability", "FLOAT", (), ""),
    (5140, "SRTakeSurfPrcOffset", "FLOAT", (),
     "seed 001 gives srTakeSurfacePrcOffset as 5410; the reference has it at 5140 (5410 is SRExtTraderId)"),
    (5142, "SRTakeSurfVolOffset", "FLOAT", (), ""),
    (5144, "SRMakeSurfPrcOffset", "FLOAT", (), ""),
    (5146, "SRMakeSurfVolOffset", "FLOAT", (), ""),
    (5148, "SROrderRefEventMult", "FLOAT", (), ""),
    (5150, "SROrderRefEventDttm", "UTCTIMESTAMP", (), ""),
    (5152, "SRAutoHedge", "STRING", (
        ("N", "NO_HEDGE"), ("X", "FAST_CRX"), ("Y", "FAST_DRK"), ("Z", "SLOW_DRK"), ("F", "AUTO_CRX"),
        ("S", "AUTO_TRN"), ("M", "AUTO_MID"), ("A", "SPDR_AUTO"), ("1", "SPDR_10S"), ("3", "SPDR_30S"),
        ("9", "SPDR_90S"), ("5", "SPDR_5M"), ("H", "SPDR_30M"), ("D", "SPDR_DAY"),
        ("V1", "ALPHA_VWAP_1PCT"), ("V2", "ALPHA_VWAP_2PCT"), ("V5", "ALPHA_VWAP_5PCT"),
        ("V25", "ALPHA_VWAP_25PCT"), ("T", "STATIC"),
    ), "full CustomTags.txt list (seed 001 lists a subset); STRING because of V1..V25"),
    (5154, "SRHedgeInstrument", "INT", (
        ("0", "DEFAULT"), ("1", "FRONT_MONTH"), ("2", "FUT_UNDERLIER"), ("3", "STOCK"), ("4", "FUTURE"),
        ("5", "DIRECT_STOCK"), ("6", "DIRECT_FUTURE"), ("7", "GROUP_STOCK"), ("8", "GROUP_FUTURE"),
        ("9", "STK_UNDERLIER"),
    ), ""),
    (5156, "SRHedgeFKey", "STRING", (), ""),
    (5158, "SRHedgeRatio", "FLOAT", (), ""),
    (5160, "SRHedgeTIF", "STRING", (
        ("Day", "DAY"), ("IOC", "IMMEDIATE_OR_CANCEL"), ("GTD", "GOOD_TILL_DURATION"),
        ("EXT", "EXTENDED_DAY"), ("WK", "WEEK"), ("EWK", "EXTENDED_WEEK"),
    ), ""),
    (5162, "SRExternHedgeExDest", "STRING", (), ""),
    (5164, "SRExternHedgeParams", "STRING", (), ""),
    (5166, "SRFirmType", "STRING", (
        ("C", "CUSTOMER"), ("F", "FIRM"), ("MM", "MARKET_MAKER"), ("PC", "PRO_CUSTOMER"),
        ("BD", "BROKER_DEALER"), ("AwayMM", "AWAY_MM"), ("JBO", "FIRM_JBO"), ("BDC", "BRKR_DLR_CUST"),
    ), ""),
    (5167, "SRFutCustType", "STRING", (
        ("I", "INDIVIDUAL"), ("PR", "PROPRIETARY"), ("OM", "OTHER_MEMBER"), ("NM", "NON_MEMBER"),
    ), ""),
    (5168, "SROrderCapacity", "STRING", (
        ("A", "AGENCY"), ("P", "PRINCIPAL"), ("I", "INDIVIDUAL"), ("PR", "PROPRIETARY"),
        ("AOM", "AGENT_OTHER_MEMBER"),
    ), ""),
    (5170, "SRPositionType", "INT", (
        ("1", "NA"), ("2", "SHORT"), ("3", "LONG"), ("4", "EXEMPT"), ("5", "OPEN"), ("6", "CLOSE"), ("7", "AUTO"),
    ), ""),
    (5172, "SRShortSaleFlag", "INT", (
        ("1", "LONG"), ("2", "SHORT"), ("3", "EXEMPT"), ("4", "AUTO"), ("5", "OPEN"), ("6", "CLOSE"),
        ("7", "NA"), ("8", "COVER"),
    ), "seed 001 and CustomTags.txt agree (5=Open, 7=NA); ClientOrderEntry.txt's 1-5 with 5=NA not followed"),
    (5174, "SRNoCrossGroup", "STRING", (), ""),
    (5176, "SRExchTraderId", "STRING", (), ""),
    (5178, "SRLargeTraderId", "STRING", (), ""),
    (5180, "SRTradingLocation", "STRING", (), ""),
    (5182, "SRRefRMetric1Src", "INT", RISK_METRIC_SOURCE, ""),
    (5184, "SRRefRMetric2Src", "INT", RISK_METRIC_SOURCE, ""),
    (5186, "SRRefRMetric3Src", "INT", RISK_METRIC_SOURCE, ""),
    (5188, "SRRefRMetric4Src", "INT", RISK_METRIC_SOURCE, ""),
    (5190, "SRRefRMetric5Src", "INT", RISK_METRIC_SOURCE, ""),
    (5192, "SROrderRefRMetric1", "FLOAT", (), ""),
    (5194, "SROrderRefRMetric2", "FLOAT", (), ""),
    (5196, "SROrderRefRMetric3", "FLOAT", (), ""),
    (5198, "SROrderRefRMetric4", "FLOAT", (), ""),
    (5200, "SROrderRefRMetric5", "FLOAT", (), ""),
    (5202, "SRLeadSide", "CHAR", (
        ("B", "BUY"), ("S", "SELL"), ("1", "SEED_BUY"), ("2", "SEED_SELL"), ("0", "SEED_ANY"),
    ), "CustomTags.txt uses B/S, seed 001 1/2/0 (0=Any, ClientOrderEntry.txt 1/2); both accepted"),
    (5204, "SRMaxCompletionSlippage", "PRICE", (), ""),
    (5206, "SROrderRefPremium", "FLOAT", (), ""),
    (5228, "SRMakeSurfWidthOffset", "FLOAT", (), "only in ClientOrderEntry.txt"),
    (5229, "SRTakeSurfWidthOffset", "FLOAT", (), "only in ClientOrderEntry.txt"),
    (5230, "SRStockLegGiveup", "STRING", (), ""),
    (5250, "SRRiskGroupId", "STRING", (), "reference type long"),
    (5251, "SRMaxAccDayWtVegaLn", "FLOAT", (), "seed 001 swaps the long/short descriptions of 5251/5252; reference followed"),
    (5252, "SRMaxAccDayWtVegaSh", "FLOAT", (), "seed 001 swaps the long/short descriptions of 5251/5252; reference followed"),
    (5253, "SRMaxAccDayDDeltaLn", "FLOAT", (), ""),
    (5254, "SRMaxAccDayDDeltaSh", "FLOAT", (), ""),
    (5255, "SRMaxExpDayWtVegaLn", "FLOAT", (), ""),
    (5256, "SRMaxExpDayWtVegaSh", "FLOAT", (), ""),
    (5257, "SRMaxSymDayWtVegaLn", "FLOAT", (), ""),
    (5258, "SRMaxSymDayWtVegaSh", "FLOAT", (), ""),
    (5259, "SRMaxSymDayDDeltaLn", "FLOAT", (), ""),
    (5260, "SRMaxSymDayDDeltaSh", "FLOAT", (), ""),
    (5290, "SRUserData1", "STRING", (), ""),
    (5291, "SRUserData2", "STRING", (), ""),
    (5343, "SRWaitTriggerId", "STRING", (), "reference type long"),
    (5344, "SRWaitTriggerCount", "INT", (), ""),
    (5345, "SRWaitTriggerStripe", "STRING", (), ""),
    (5410, "SRExtTraderId", "STRING", (),
     "seed 001 puts srTakeSurfacePrcOffset at 5410; the reference's 5410 SRExtTraderId is kept (offset is 5140)"),
    (5430, "SRAuctionId", "STRING", (), ""),
    (5431, "SRAuctionType", "STRING", (), ""),
    (5518, "SRSurfPrcOffsetAsk", "PRICE", (), "only in seed 001 (surface limit: price offset, ask)"),
    (5536, "SRSurfPrcOffsetBid", "PRICE", (), "only in seed 001 (surface limit: price offset, bid)"),
    (5605, "SRRejectCode", "INT", (),
     "CustomTags.txt says string; ClientOrderEntry.txt says int with numeric codes (its Appendix C)"),
]

# Sent by the router only; every other custom field is an order instruction a client may send.
REPORT_FIELDS = {"SRRejectCode": ("ExecutionReport", "OrderCancelReject")}
ORDER_MESSAGES = ("NewOrderSingle", "OrderCancelReplaceRequest", "NewOrderMultileg", "MultilegOrderCancelReplace")
# Order instructions the router echoes on the order's ExecutionReports (router/engine/reports.py).
REPORT_FIELDS.update({name: ORDER_MESSAGES + ("ExecutionReport",) for name in (
    "SRStrategy", "SROrderRefRMetric1", "SROrderRefRMetric2", "SROrderRefRMetric3", "SROrderRefRMetric4")})

# Stock fields the SpiderRock reference makes optional: "54 Side N: 1 = Buy is assumed for the spread. Use LegSide."
OPTIONAL_FIELDS = (("NewOrderMultileg", "Side"), ("MultilegOrderCancelReplace", "Side"))
# Stock fields the reference puts on an ExecutionReport outside their FIX 4.4 group: a leg's report
# names its leg by LegRefID (654) beside MultiLegReportingType (442).
STANDARD_REPORT_FIELDS = {"ExecutionReport": ("LegRefID",)}
