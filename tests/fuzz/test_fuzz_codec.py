"""Whatever a client sends, decoding never raises: the router gets a command or a reject."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from router.domain.commands import ClientRequest
from router.fix.codec import decode

TAGS = [1, 11, 37, 38, 40, 41, 44, 54, 55, 59, 60, 126, 200, 201, 202, 205, 311, 461, 530, 541, 555, 600, 623,
        624, 654, 5044, 5080, 5082, 5084, 5086, 5088, 5094, 5096, 5098, 5100, 5102, 5106, 5116, 5118, 5120, 5122,
        5124, 5126, 5140, 5999]
VALUES = st.one_of(st.text(max_size=12), st.integers(-10**6, 10**6).map(str),
                   st.floats(allow_nan=True, allow_infinity=True).map(str),
                   st.sampled_from(["", "0", "1", "2", "C", "P", "20261120-15:00:00", "20261218", "[0.25:0.5]", "Y"]))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["D", "F", "G", "H", "q", "AB", "AC"]), st.lists(st.tuples(st.sampled_from(TAGS), VALUES),
                                                                      max_size=25))
def test_decode_never_raises(msg_type, pairs):
    request = decode(msg_type, pairs, "S", "ACC", 1)
    assert isinstance(request, ClientRequest)
    assert (request.command is None) == (request.reject_text is not None)
