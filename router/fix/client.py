"""A light FIX 4.4 initiator on simplefix, for `router client`, the demo, tests and benchmarks.

It logs on with ResetSeqNumFlag (141=Y) so every run starts a fresh sequence, answers
TestRequests, and hands back application messages as simplefix messages.
"""
from __future__ import annotations

import socket
import time
from datetime import datetime, timezone

import simplefix

from router.fix.codec import format_price


def fix_time(when: datetime | None = None) -> str:
    when = when or datetime.now(timezone.utc)
    return when.strftime("%Y%m%d-%H:%M:%S.") + f"{when.microsecond // 1000:03d}"


class FixClient:
    def __init__(self, host: str, port: int, sender: str, target: str, *, heartbeat_s: int = 30,
                 password: str | None = None, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.target = host, port, sender, target
        self.heartbeat_s, self.password, self.timeout = heartbeat_s, password, timeout
        self.seq = 0
        self._sock: socket.socket | None = None
        self._parser = simplefix.FixParser()
        self.received: list[simplefix.FixMessage] = []

    # ---- session

    def connect(self) -> "FixClient":
        self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        fields = [(98, "0"), (108, str(self.heartbeat_s)), (141, "Y")]
        if self.password:
            fields.append((554, self.password))
        self.send("A", fields)
        logon = self.expect("A")
        if logon is None:
            raise ConnectionError("no Logon reply")
        return self

    def logout(self) -> None:
        if self._sock is None:
            return
        try:
            self.send("5", [])
            self.expect("5", timeout=2.0)
        except OSError:
            pass
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> "FixClient":
        return self.connect()

    def __exit__(self, *exc) -> None:
        self.logout()

    # ---- messages

    def build(self, msg_type: str, fields: list[tuple[int, str]]) -> simplefix.FixMessage:
        self.seq += 1
        message = simplefix.FixMessage()
        message.append_pair(8, "FIX.4.4", header=True)
        message.append_pair(35, msg_type, header=True)
        message.append_pair(49, self.sender, header=True)
        message.append_pair(56, self.target, header=True)
        message.append_pair(34, self.seq, header=True)
        message.append_pair(52, fix_time(), header=True)
        for tag, value in fields:
            message.append_pair(tag, value)
        return message

    def send(self, msg_type: str, fields: list[tuple[int, str]]) -> None:
        self.send_raw(self.build(msg_type, fields).encode())

    def send_raw(self, data: bytes) -> None:
        assert self._sock is not None, "not connected"
        self._sock.sendall(data)

    def receive(self, timeout: float | None = None) -> simplefix.FixMessage | None:
        """The next message of any type; None on timeout. Answers TestRequests on the way."""
        assert self._sock is not None, "not connected"
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            message = self._parser.get_message()
            if message is not None:
                if message.get(35) == b"1":
                    self.send("0", [(112, message.get(112).decode())])
                    continue
                self.received.append(message)
                return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._sock.settimeout(remaining)
            try:
                data = self._sock.recv(65536)
            except socket.timeout:
                return None
            if not data:
                raise ConnectionError("connection closed by the router")
            self._parser.append_buffer(data)

    def expect(self, msg_type: str, timeout: float | None = None) -> simplefix.FixMessage | None:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while (remaining := deadline - time.monotonic()) > 0:
            message = self.receive(remaining)
            if message is None:
                return None
            if message.get(35) == msg_type.encode():
                return message
        return None

    def until(self, predicate, timeout: float | None = None) -> list[simplefix.FixMessage]:
        """Collect messages until one satisfies ``predicate`` (inclusive) or the time runs out."""
        got = []
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while (remaining := deadline - time.monotonic()) > 0:
            message = self.receive(remaining)
            if message is None:
                break
            got.append(message)
            if predicate(message):
                break
        return got


def is_final_report(message: simplefix.FixMessage) -> bool:
    """An ExecutionReport or reject that ends an order's life (filled, canceled, rejected, expired)."""
    msg_type = message.get(35)
    if msg_type in (b"3", b"j", b"9"):
        return True
    return msg_type == b"8" and message.get(39) in (b"2", b"4", b"8", b"C")


def new_order_fields(cl_ord_id: str, side: str, qty: int, symbol: str, price: float | None, *,
                     tif: str = "0", extra: list[tuple[int, str]] | None = None) -> list[tuple[int, str]]:
    fields = [(11, cl_ord_id), (55, symbol), (54, side), (60, fix_time()), (38, str(qty)),
              (40, "2" if price is not None else "1")]
    if price is not None:
        fields.append((44, format_price(price)))
    fields.append((59, tif))
    fields.extend(extra or [])
    return fields
