"""The QuickFIX dictionary fix_specs/FIX44.xml: SpiderRock custom tags from seed 001 and the reference."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import quickfix as fix

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "fix_specs"
DICTIONARY = SPECS / "FIX44.xml"
SHARED = Path(__file__).resolve().parents[3] / "shared"
REFERENCE = SHARED / "reference" / "spiderrock"

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} (seeds and SpiderRock reference) is absent")

ORDER_MESSAGES = ("D", "G", "AB", "AC")
# Seed 001 tags that the reference places elsewhere (documented in FIX44.xml next to the field).
SEED_TAG_OVERRIDES = {5410: 5140}  # srTakeSurfacePrcOffset; the reference's 5410 is SRExtTraderId
SEED_TYPE_HINTS = {
    "int": {"INT"}, "integer (%)": {"INT"}, "float": {"FLOAT"}, "price": {"PRICE"},
    "string": {"STRING"}, "datetime": {"UTCTIMESTAMP"},
}
REJECT_REASONS = {
    fix.InvalidTagNumber: fix.SessionRejectReason_INVALID_TAG_NUMBER,
    fix.RequiredTagMissing: fix.SessionRejectReason_REQUIRED_TAG_MISSING,
    fix.TagNotDefinedForMessage: fix.SessionRejectReason_TAG_NOT_DEFINED_FOR_THIS_MESSAGE_TYPE,
    fix.IncorrectTagValue: fix.SessionRejectReason_VALUE_IS_INCORRECT,
    fix.IncorrectDataFormat: fix.SessionRejectReason_INCORRECT_DATA_FORMAT_FOR_VALUE,
}


# --- the dictionary as XML ---------------------------------------------------------------

def custom_fields() -> dict[int, ET.Element]:
    fields = ET.parse(DICTIONARY).getroot().find("fields")
    return {int(f.get("number")): f for f in fields if 5000 <= int(f.get("number")) < 10000}


def enum_values(field: ET.Element) -> set[str]:
    return {v.get("enum") for v in field.findall("value")}


def message_field_refs(msgtype: str) -> dict[str, str]:
    message = ET.parse(DICTIONARY).getroot().find(f"messages/message[@msgtype='{msgtype}']")
    return {f.get("name"): f.get("required") for f in message.findall("field")}


def test_every_client_sendable_custom_field_is_optional_in_every_order_message():
    sendable = {f.get("name") for f in custom_fields().values()} - {"SRRejectCode"}
    for msgtype in ORDER_MESSAGES:
        refs = message_field_refs(msgtype)
        assert sendable <= refs.keys(), msgtype
        assert all(refs[name] == "N" for name in sendable), msgtype


def test_reject_code_only_on_reports():
    assert message_field_refs("8")["SRRejectCode"] == "N"
    assert message_field_refs("9")["SRRejectCode"] == "N"
    assert custom_fields()[5605].get("type") == "INT"
    assert all("SRRejectCode" not in message_field_refs(m) for m in ORDER_MESSAGES)


def test_enum_values_are_described_and_numeric_codes_are_int():
    for number, field in custom_fields().items():
        values = field.findall("value")
        assert all(v.get("description") for v in values), number
        if values and all(v.get("enum").isdigit() for v in values):
            assert field.get("type") == "INT", f"{number}: CHAR would reject two-digit codes"
        if field.get("type") == "CHAR":
            assert all(len(v.get("enum")) == 1 for v in values), number


def test_union_enums_accept_seed_and_reference_codes():
    fields = custom_fields()
    assert {"Day", "EXT", "WK", "EWK", "IOC", "GTD", "1", "2", "3", "4", "5", "6"} == enum_values(fields[5084])
    assert {str(v) for v in range(13)} == enum_values(fields[5096])
    assert {"B", "S", "1", "2", "0"} == enum_values(fields[5202])
    assert {"N", "X", "Y", "Z", "F", "S", "M", "A", "1", "3", "9", "5", "H", "D", "V1", "V2", "V5", "V25", "T"} \
        == enum_values(fields[5152])
    assert {str(v) for v in [*range(1, 15), 19, 20]} == enum_values(fields[5094])
    assert {str(v) for v in range(20)} == enum_values(fields[5098])


def test_validation_is_not_switched_off_anywhere():
    lax = re.compile(r"(ValidateUserDefinedFields|ValidateFieldsHaveValues|ValidateFieldsOutOfOrder)\s*=\s*N"
                     r"|AllowUnknownMsgFields\s*=\s*Y", re.IGNORECASE)
    for path in [*(REPO / "config").rglob("*"), *SPECS.glob("*.xml")]:
        if path.is_file():
            assert not lax.search(path.read_text(errors="replace")), path


def test_generator_reproduces_committed_xml(tmp_path):
    out = tmp_path / "FIX44.xml"
    subprocess.run([sys.executable, str(SPECS / "build_dictionary.py"), "--out", str(out)], check=True)
    assert out.read_bytes() == DICTIONARY.read_bytes(), "rerun: python fix_specs/build_dictionary.py"


# --- seed 001 and the SpiderRock reference -----------------------------------------------

def seed_rows() -> list[tuple[list[int], str]]:
    """(tags, value text) for each row of seed 001's FIX tag tables.

    The tables lost their column breaks: "Order TypeActiveTaker50941" is tag 5094 value 1,
    "...RelTurn50980, 1, 2, ..., 19" is tag 5098 values 0..19, "...bid5518, 5536Price" two tags.
    The first 4-digit number starting with 5 is the tag; everything after it is the value column.
    """
    (seed,) = (SHARED / "seeds").glob("001_*.txt")
    rows, in_table = [], False
    for line in seed.read_text().splitlines():
        if line.endswith("FIX TagFIX Value"):
            in_table = True
        elif not line.strip():
            in_table = False
        elif in_table:
            match = re.search(r"(5\d{3}(?:, 5\d{3})*)(.*)$", line)
            assert match, f"no tag in seed row {line!r}"
            rows.append(([int(t) for t in match[1].split(", ")], match[2].strip()))
    return rows


@needs_shared
def test_seed_tags_and_enum_values_are_in_dictionary():
    fields, rows = custom_fields(), seed_rows()
    seed_tags = {tag for tags, _ in rows for tag in tags}
    assert {5094, 5096, 5098, 5100, 5102, 5152, 5172, 5258, 5518, 5536, 5410} <= seed_tags, "seed parse lost rows"
    for tags, value in rows:
        for tag in (SEED_TAG_OVERRIDES.get(t, t) for t in tags):
            assert tag in fields, f"seed tag {tag} not declared"
            if value.lower() in SEED_TYPE_HINTS:
                assert fields[tag].get("type") in SEED_TYPE_HINTS[value.lower()], (tag, value)
            elif value:
                codes = value.split(", ")
                assert all(re.fullmatch(r"[A-Z0-9]{1,3}", c) for c in codes), f"unparsed seed value {value!r}"
                assert set(codes) <= enum_values(fields[tag]), (tag, set(codes) - enum_values(fields[tag]))


@needs_shared
def test_custom_field_names_follow_the_reference():
    """Names come from CustomTags.txt, or ClientOrderEntry.txt for tags CustomTags.txt lacks."""
    pattern = re.compile(r"^(5\d{3}) (SR\w+)", re.MULTILINE)
    names = dict(pattern.findall((REFERENCE / "ClientOrderEntry.txt").read_text()))
    names.update(pattern.findall((REFERENCE / "CustomTags.txt").read_text()))
    seed_only = {5518, 5536}
    for number, field in custom_fields().items():
        if number not in seed_only:
            assert field.get("name") == names[str(number)], number


# --- QuickFIX validation -----------------------------------------------------------------

SOH = "\x01"
NOW = "20240102-14:30:00.000"
SINGLE = [("11", "C1"), ("54", "1"), ("60", NOW), ("40", "2"), ("44", "1.25"), ("38", "10"), ("55", "SPY")]
MULTILEG = [("11", "C1"), ("54", "1"), ("55", "SPY"), ("555", "2"),
            ("600", "SPY"), ("624", "1"), ("623", "1"), ("600", "SPY"), ("624", "2"), ("623", "1"),
            ("60", NOW), ("38", "10"), ("40", "2"), ("44", "0.50")]
BODIES = {"D": SINGLE, "G": [("41", "C0"), *SINGLE], "AB": MULTILEG, "AC": [("41", "C0"), *MULTILEG]}


@pytest.fixture(scope="module")
def dd() -> fix.DataDictionary:
    return fix.DataDictionary(str(DICTIONARY))


def fix_message(dd: fix.DataDictionary, msgtype: str, *extra: tuple[str, str]) -> fix.Message:
    body = "".join(f"{tag}={value}{SOH}" for tag, value in [
        ("35", msgtype), ("49", "CLIENT"), ("56", "ROUTER"), ("34", "1"), ("52", NOW), *BODIES[msgtype], *extra])
    head = f"8=FIX.4.4{SOH}9={len(body)}{SOH}"
    checksum = sum((head + body).encode()) % 256
    return fix.Message(f"{head}{body}10={checksum:03d}{SOH}", dd, True)


def reject_reason(dd: fix.DataDictionary, message: fix.Message) -> int | None:
    """The SessionRejectReason QuickFIX's Session would send, or None if the message is valid."""
    try:
        dd.validate(message)
    except tuple(REJECT_REASONS) as error:
        return REJECT_REASONS[type(error)]
    return None


def test_unknown_enum_value_is_rejected_as_incorrect_value(dd):
    assert reject_reason(dd, fix_message(dd, "D", ("5094", "99"))) == fix.SessionRejectReason_VALUE_IS_INCORRECT


def test_unknown_tag_is_rejected_as_invalid_tag(dd):
    assert reject_reason(dd, fix_message(dd, "D", ("9999", "x"))) == fix.SessionRejectReason_INVALID_TAG_NUMBER


def test_bad_format_is_rejected(dd):
    assert reject_reason(dd, fix_message(dd, "D", ("5094", "ActiveTaker"))) \
        == fix.SessionRejectReason_INCORRECT_DATA_FORMAT_FOR_VALUE


def test_report_field_is_not_accepted_on_orders(dd):
    assert reject_reason(dd, fix_message(dd, "D", ("5605", "12"))) \
        == fix.SessionRejectReason_TAG_NOT_DEFINED_FOR_THIS_MESSAGE_TYPE
    assert dd.isMsgField("8", 5605) and dd.isMsgField("9", 5605)


def test_option_algo_order_is_valid(dd):
    order = fix_message(
        dd, "D",
        ("541", "20250117"), ("202", "450"), ("201", "1"), ("461", "OCXXXS"), ("167", "OPT"),
        ("5094", "1"), ("5096", "0"), ("5098", "19"), ("5100", "3"), ("5102", "0"), ("5084", "IOC"),
        ("5088", NOW), ("5082", "CBOE,ISE"), ("5140", "0.05"), ("5518", "0.10"), ("5536", "-0.10"),
        ("5152", "V25"), ("5172", "8"), ("5010", "H1"), ("5410", "trader7"),
    )
    assert reject_reason(dd, order) is None


@pytest.mark.parametrize("tag, value", [
    ("5084", code) for code in ("Day", "EXT", "WK", "EWK", "IOC", "GTD", "1", "6")
] + [("5096", "0"), ("5096", "5"), ("5096", "12"), ("5202", "B"), ("5202", "0"), ("5054", "11"), ("5104", "6")])
def test_seed_and_reference_codes_are_both_valid(dd, tag, value):
    assert reject_reason(dd, fix_message(dd, "D", (tag, value))) is None


@pytest.mark.parametrize("msgtype", ORDER_MESSAGES)
def test_order_messages_accept_custom_fields(dd, msgtype):
    assert reject_reason(dd, fix_message(dd, msgtype, ("5082", "CBOE"), ("5094", "8"), ("5202", "1"))) is None
