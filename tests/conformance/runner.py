"""Runner for QuickFIX-style FIX session acceptance scripts (``*.def``).

Script lines (see /work/shared/conformance/README.md):

    iCONNECT           open a TCP connection to the acceptor
    I<msg>             send a message (``|`` below stands for SOH)
    E<msg>             read the next message and compare it field by field
    eDISCONNECT        expect the acceptor to close the connection
    iDISCONNECT        close the connection ourselves
    # ...              comment

An optional ``<digit>,`` after the first letter (``I1,``, ``e2,``) names one of
several connections; without it the step uses connection 1.

Messages go through the same treatment as in QuickFIX's own Ruby runner
(test/Reflector.rb, test/Comparator.rb): ``<TIME>``/``<TIME+N>``/``<TIME-N>``
become UTC now (± N seconds) as ``YYYYMMDD-HH:MM:SS``; BodyLength (9) and
CheckSum (10) are computed only when the script does not give them, so
deliberately wrong ones (2m_BodyLengthValueNotCorrect, 3b_InvalidChecksum) go
out verbatim, and a line that does not start with ``8=`` (2t) is sent as is.
Expected messages get the same treatment, then are compared with the received
one: same tags in the same order, exact values except for the tags listed in
``fields.fmt``, whose values must match (re.search, unanchored) a regex.
"""

from __future__ import annotations

import re
import select
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

SOH = "\x01"
# Long enough for heartbeat-driven messages at the scripts' shortest
# HeartBtInt (6 s: TestRequest goes out after 1.2 * 6 = 7.2 s of silence).
EXPECT_TIMEOUT = 10.0
# "expect the acceptor to close the connection within about 10 s"
DISCONNECT_TIMEOUT = 10.0

_STEP = re.compile(r"^(?P<kind>[IEie])(?:(?P<conn>\d+),)?(?P<body>.*)$", re.DOTALL)
_TIME = re.compile(r"<TIME(?:(?P<sign>[+-])(?P<secs>\d+))?>")
_HEADER = re.compile(rb"8=[^\x01]*\x019=(\d+)\x01")
_CHECKSUM = re.compile(r"(?:^|\x01)(10=.*)$", re.DOTALL)
_MSG_TYPE = re.compile(r"(?:^|\x01)35=([^\x01]*)\x01")
ADMIN_MSG_TYPES = {"0", "1", "2", "3", "4", "5", "A"}


def msg_type(message: str) -> str | None:
    m = _MSG_TYPE.search(message)
    return m[1] if m else None


class ScriptError(Exception):
    """The script itself is malformed."""


class ConformanceFailure(AssertionError):
    """The acceptor did not behave as the script expects."""


@dataclass(frozen=True)
class Step:
    line_no: int
    kind: str  # "connect" | "close" | "send" | "expect" | "expect_disconnect"
    conn: int
    message: str = ""  # template with <TIME> markers, SOH-separated

    def describe(self) -> str:
        what = {
            "connect": "iCONNECT",
            "close": "iDISCONNECT",
            "send": "I",
            "expect": "E",
            "expect_disconnect": "eDISCONNECT",
        }[self.kind]
        return f"line {self.line_no} ({what}, connection {self.conn})"


@dataclass
class Script:
    path: Path
    steps: list[Step]

    @property
    def name(self) -> str:
        return self.path.stem

    def expects_echo(self) -> bool:
        """True if the script expects an application message it sent echoed back.

        QuickFIX's test acceptor reflects NewOrderSingle (35=D) and
        SecurityDefinition (35=d); a router acks orders with an
        ExecutionReport and does not take SecurityDefinitions, so such
        scripts do not apply to it.
        """
        sent = {msg_type(s.message) for s in self.steps if s.kind == "send"}
        return any(
            s.kind == "expect" and msg_type(s.message) in sent - ADMIN_MSG_TYPES
            for s in self.steps
        )


def parse_script(path: Path) -> Script:
    steps = []
    text = path.read_bytes().decode("latin-1")
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        m = _STEP.match(line)
        if m is None:
            raise ScriptError(f"{path.name}:{line_no}: cannot parse {line!r}")
        kind, body = m["kind"], m["body"]
        conn = int(m["conn"] or 1)
        if kind == "I":
            steps.append(Step(line_no, "send", conn, body))
        elif kind == "E":
            steps.append(Step(line_no, "expect", conn, body))
        elif kind == "i" and body == "CONNECT":
            steps.append(Step(line_no, "connect", conn))
        elif kind == "i" and body == "DISCONNECT":
            steps.append(Step(line_no, "close", conn))
        elif kind == "e" and body == "DISCONNECT":
            steps.append(Step(line_no, "expect_disconnect", conn))
        elif kind == "e" and body == "CONNECT":
            pass  # a no-op in QuickFIX's runner as well
        else:
            raise ScriptError(f"{path.name}:{line_no}: unknown step {line!r}")
    return Script(path, steps)


def load_patterns(path: Path) -> dict[str, re.Pattern[str]]:
    """fields.fmt: one ``tag=regex`` per line."""
    patterns = {}
    for line in path.read_text().splitlines():
        if line.strip():
            tag, _, regex = line.partition("=")
            patterns[tag] = re.compile(regex)
    return patterns


def substitute_time(message: str, now: datetime) -> str:
    def repl(m: re.Match[str]) -> str:
        offset = int(m["secs"] or 0) * (-1 if m["sign"] == "-" else 1)
        return (now + timedelta(seconds=offset)).strftime("%Y%m%d-%H:%M:%S")

    return _TIME.sub(repl, message)


def checksum(data: str) -> str:
    return f"{sum(data.encode('latin-1')) % 256:03d}"


def complete(message: str) -> str:
    """Add BodyLength and CheckSum unless the message already has them."""
    if not message.startswith("8="):
        return message  # deliberately malformed (e.g. 2t): send it as is
    head, _, rest = message.partition(SOH)
    head += SOH
    has_length = f"{SOH}9=" in message
    trailer = ""
    if m := _CHECKSUM.search(rest):
        rest, trailer = rest[: m.start(1)], m[1]
    length = "" if has_length else f"9={len(rest)}{SOH}"
    if not trailer:
        trailer = f"10={checksum(head + length + rest)}{SOH}"
    return head + length + rest + trailer


def split_fields(message: str) -> list[tuple[str, str]]:
    """``[(tag, value), ...]`` in message order."""
    return [(tag, value) for tag, _, value in (f.partition("=") for f in message.split(SOH) if f)]


def compare(expected: str, actual: str, patterns: dict[str, re.Pattern[str]]) -> str | None:
    """None when ``actual`` matches ``expected``, else the first difference."""
    exp, act = split_fields(expected), split_fields(actual)
    for i, ((etag, evalue), (atag, avalue)) in enumerate(zip(exp, act), start=1):
        if etag != atag:
            return f"field #{i}: expected tag {etag}, got tag {atag}"
        pattern = patterns.get(etag)
        if pattern is not None:
            if not pattern.search(avalue):
                return f"field #{i} (tag {etag}): {avalue!r} does not match /{pattern.pattern}/"
        elif evalue != avalue:
            return f"field #{i} (tag {etag}): expected {evalue!r}, got {avalue!r}"
    if len(exp) != len(act):
        extra = exp[len(act):] if len(exp) > len(act) else act[len(exp):]
        which = "missing" if len(exp) > len(act) else "unexpected"
        tags = ", ".join(tag for tag, _ in extra)
        return f"{len(exp)} fields expected, got {len(act)} ({which}: {tags})"
    return None


def readable(message: str) -> str:
    return message.replace(SOH, "|")


class Connection:
    """A raw TCP connection that reads FIX messages framed by BodyLength."""

    def __init__(self, host: str, port: int):
        self.sock = socket.create_connection((host, port), timeout=5)
        self.buf = b""
        self.eof = False

    def send(self, message: str) -> None:
        self.sock.sendall(message.encode("latin-1"))

    def close(self) -> None:
        self.sock.close()

    def _frame(self) -> str | None:
        """Pop one complete message from the buffer, if there is one."""
        m = _HEADER.match(self.buf)
        if m is None:
            if len(self.buf) >= 2 and not self.buf.startswith(b"8="):
                raise ConformanceFailure(f"received garbage: {self.buf[:200]!r}")
            return None
        body_end = m.end() + int(m[1])
        trailer_end = self.buf.find(b"\x01", body_end)
        if trailer_end == -1:
            return None
        if self.buf[body_end:body_end + 3] != b"10=":
            raise ConformanceFailure(f"BodyLength does not end at CheckSum: {self.buf!r}")
        frame, self.buf = self.buf[:trailer_end + 1], self.buf[trailer_end + 1:]
        return frame.decode("latin-1")

    def read(self, timeout: float) -> str | None:
        """The next message; None on disconnect; ConformanceFailure on timeout."""
        deadline = time.monotonic() + timeout
        while (message := self._frame()) is None:
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.sock], [], [], remaining)[0]:
                raise TimeoutError
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            self.buf += chunk
            if not chunk:
                self.eof = True
                if self.buf:
                    raise ConformanceFailure(f"disconnected mid-message: {self.buf!r}")
        return message


@dataclass
class Run:
    script: Script
    host: str
    port: int
    patterns: dict[str, re.Pattern[str]]
    connections: dict[int, Connection] = field(default_factory=dict)
    transcript: list[str] = field(default_factory=list)

    def fail(self, step: Step, reason: str) -> None:
        tail = "\n".join(f"    {line}" for line in self.transcript[-12:])
        raise ConformanceFailure(
            f"{self.script.name}: {step.describe()}: {reason}\n  transcript (last lines):\n{tail}"
        ) from None

    def conn(self, step: Step) -> Connection:
        if step.conn not in self.connections:
            self.fail(step, "connection is not open")
        return self.connections[step.conn]

    def execute(self) -> None:
        try:
            for step in self.script.steps:
                getattr(self, step.kind)(step)
        finally:
            for c in self.connections.values():
                c.close()

    def connect(self, step: Step) -> None:
        if step.conn in self.connections:
            self.connections.pop(step.conn).close()
        self.connections[step.conn] = Connection(self.host, self.port)
        self.transcript.append(f"[{step.conn}] connected")

    def close(self, step: Step) -> None:
        self.conn(step).close()
        del self.connections[step.conn]
        self.transcript.append(f"[{step.conn}] closed by us")

    def send(self, step: Step) -> None:
        message = complete(substitute_time(step.message, datetime.now(timezone.utc)))
        try:
            self.conn(step).send(message)
        except (BrokenPipeError, ConnectionResetError):
            # The acceptor already hung up; the next E/e step reports it.
            self.transcript.append(f"[{step.conn}] >> (peer gone) {readable(message)}")
            return
        self.transcript.append(f"[{step.conn}] >> {readable(message)}")

    def expect(self, step: Step) -> None:
        expected = complete(substitute_time(step.message, datetime.now(timezone.utc)))
        try:
            actual = self.conn(step).read(EXPECT_TIMEOUT)
        except TimeoutError:
            self.fail(step, f"no message within {EXPECT_TIMEOUT:g} s\n  expected: {readable(expected)}")
        if actual is None:
            self.fail(step, f"acceptor disconnected\n  expected: {readable(expected)}")
        self.transcript.append(f"[{step.conn}] << {readable(actual)}")
        reason = compare(expected, actual, self.patterns)
        if reason:
            self.fail(
                step,
                f"{reason}\n  expected: {readable(expected)}\n  got:      {readable(actual)}",
            )

    def expect_disconnect(self, step: Step) -> None:
        try:
            message = self.conn(step).read(DISCONNECT_TIMEOUT)
        except TimeoutError:
            self.fail(step, f"connection still open after {DISCONNECT_TIMEOUT:g} s")
        if message is not None:
            self.transcript.append(f"[{step.conn}] << {readable(message)}")
            self.fail(step, f"expected a disconnect, got: {readable(message)}")
        self.connections.pop(step.conn).close()
        self.transcript.append(f"[{step.conn}] disconnected by acceptor")


def run_script(script: Script, host: str, port: int, patterns: dict[str, re.Pattern[str]]) -> None:
    """Run every step; raises ConformanceFailure at the first deviation."""
    Run(script, host, port, patterns).execute()
