"""Venue adapters for venues that run in `router exchange`, another process (venues/sim/exchange.py).

One ``ExchangeLink`` (a TCP connection) carries every venue's traffic; a ``RemoteVenue`` per
venue name implements the adapter protocol (venues/base.py) over it. Commands are buffered and
leave together on ``flush()`` (the engine flushes after each batch: one write per batch). A
reader thread routes what comes back: venue reports to ``on_report`` (the engine's thread-safe
``post``), books and prints, still undecoded, to a ``MarketSink`` that keeps only what the
engine will need (the engine's conflating market inbox)."""
from __future__ import annotations

import logging
import queue
import socket
import threading
from typing import Callable, Protocol

from router.domain.events import CancelChild, ReplaceChild, SubmitChild, VenueReport

from .sim.wire import (BOOK_TAG, MARK_TAG, PRINT_TAG, PROTOCOL_VERSION, REPORT_TAGS, AuditReport, AuditRequest, FrameReader,
                       Hello, Reconcile, WireError, decode, encode)

log = logging.getLogger(__name__)

RECV_BYTES = 1 << 16


class MarketSink(Protocol):
    def put_book(self, key: tuple[str, str], item: object) -> None: ...
    def put_print(self, item: object) -> None: ...


class ExchangeError(ConnectionError):
    """The exchange is unreachable, went away, or does not speak our protocol."""


def parse_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"exchange address must be HOST:PORT, got {address!r}")
    return host, int(port)


class ExchangeLink:
    def __init__(self, host: str, port: int, *, peer: str = "router", timeout: float = 10.0) -> None:
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise ExchangeError(f"cannot reach the exchange at {host}:{port}: {exc}") from exc
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.address = f"{host}:{port}"
        self._reader = FrameReader()
        self._early: list[tuple] = []           # frames read with the hello answer
        self._unsent: list[bytes] = []
        self._send_lock = threading.Lock()
        self._audits: "queue.SimpleQueue[AuditReport]" = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.connected = True
        self.venues = self._handshake(peer)
        self._sock.settimeout(None)

    def _handshake(self, peer: str) -> tuple[str, ...]:
        self._sock.sendall(encode(Hello(peer)))
        while True:
            try:
                data = self._sock.recv(RECV_BYTES)
            except OSError as exc:
                raise ExchangeError(f"no hello from the exchange at {self.address}: {exc}") from exc
            if not data:
                raise ExchangeError(f"the exchange at {self.address} closed the connection (serving another router?)")
            frames = self._reader.feed(data)
            for index, frame in enumerate(frames):
                if frame[0] == Hello.__name__:
                    hello = decode(frame)
                    if hello.version != PROTOCOL_VERSION:
                        raise ExchangeError(f"exchange speaks protocol {hello.version}, we speak {PROTOCOL_VERSION}")
                    self._early = frames[index + 1:]
                    return hello.venues

    # ---- the reader thread

    def start(self, on_report: Callable[[VenueReport], None], market: MarketSink) -> "ExchangeLink":
        self._thread = threading.Thread(target=self._read_forever, args=(on_report, market),
                                        name="exchange-reader", daemon=True)
        self._thread.start()
        return self

    def _read_forever(self, on_report: Callable[[VenueReport], None], market: MarketSink) -> None:
        put_book, put_print = market.put_book, market.put_print
        frames, self._early = self._early, []
        try:
            while True:
                for frame in frames:
                    tag = frame[0]
                    if tag == BOOK_TAG:
                        put_book((frame[1], frame[2]), frame)
                    elif tag == PRINT_TAG:
                        put_print(frame)
                    elif tag == MARK_TAG:             # conflated like a book: only the latest mark counts
                        put_book((MARK_TAG, frame[1], frame[2]), frame)
                    elif tag in REPORT_TAGS:
                        on_report(decode(frame))
                    elif tag == AuditReport.__name__:
                        self._audits.put(decode(frame))
                    else:
                        log.warning("unexpected %s frame from the exchange", tag)
                data = self._sock.recv(RECV_BYTES)
                if not data:
                    self._reader.close()
                    raise ExchangeError("the exchange closed the connection")
                frames = self._reader.feed(data)
        except (OSError, WireError) as exc:
            if self.connected:
                log.error("lost the exchange at %s: %s", self.address, exc)
        finally:
            self.connected = False

    # ---- commands

    def send(self, message) -> None:
        """Queue one command; it leaves with the next ``flush``."""
        frame = encode(message)
        with self._send_lock:
            self._unsent.append(frame)

    def flush(self) -> None:
        with self._send_lock:
            if not self._unsent:
                return
            frames = len(self._unsent)
            data = b"".join(self._unsent)
            self._unsent.clear()
            if self.connected:
                try:
                    self._sock.sendall(data)
                    return
                except OSError as exc:
                    log.error("lost the exchange at %s: %s", self.address, exc)
                    self.connected = False
        # the children these were for time out and are reconciled (README, "Nothing hangs")
        log.error("exchange at %s is down: %d commands not sent", self.address, frames)

    def audit(self, timeout: float = 5.0) -> dict[str, int]:
        """Submits per child id, summed over venues, as the exchange counted them (across routers)."""
        self.send(AuditRequest())
        self.flush()
        try:
            report = self._audits.get(timeout=timeout)
        except queue.Empty:
            raise ExchangeError("no audit answer from the exchange") from None
        totals: dict[str, int] = {}
        for counts in report.submits.values():
            for child_id, count in counts.items():
                totals[child_id] = totals.get(child_id, 0) + count
        return totals

    def close(self) -> None:
        self.connected = False
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        if self._thread is not None:
            self._thread.join(2.0)


class RemoteVenue:
    """One venue of the exchange, as a venue adapter."""

    def __init__(self, name: str, link: ExchangeLink) -> None:
        if name not in link.venues:
            raise ExchangeError(f"the exchange at {link.address} runs no venue {name} (it runs {', '.join(link.venues)})")
        self.name = name
        self._link = link

    def submit(self, order: SubmitChild) -> None:
        self._link.send(order)

    def replace(self, order: ReplaceChild) -> None:
        self._link.send(order)

    def cancel(self, order: CancelChild) -> None:
        self._link.send(order)

    def reconcile(self, child_id: str) -> None:
        self._link.send(Reconcile(child_id, self.name))
