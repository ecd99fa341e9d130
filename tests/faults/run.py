"""Kill the router at a fault point, restart it, finish the orders, and check nothing was lost.

One run: a `router exchange` process (the venues and their market; it outlives the router), a
`router serve` process armed with ROUTER_FAULT=<point>:<n>, and a FIX client that keeps its
sequence numbers across the router's restarts, as a real client does. The client sends a fixed
workload (marketable sweeps, a resting order replaced and canceled, an auto-hedged sweep) until
the router dies at the fault point; the router is started again unarmed on the same state; the
client logs on again, recovers what it missed (ResendRequest), asks the status of every order
the router acknowledged, cancels what still works and waits for every order to end. Then:

- every acknowledged order answers an OrderStatusRequest with the state the client last saw,
  or a later one (CumQty never goes back; a final state stays final);
- the client's reports agree with each other and with the store: the final CumQty of each order
  is the sum of its distinct fills (by ExecID), and the store holds the same CumQty;
- no child order was sent twice to a venue (the exchange counts submits per child ID), and no
  child the exchange has is unknown to the router's store;
- the router's inbound and outbound FIX sequence numbers continue, with every gap filled;
- `router store rebuild --check-only` finds the projection equal to the journal.

Used by tests/faults/test_kill_points.py (one run per point) and bench/faults.py (many runs).
"""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import simplefix

from router.fix.client import FixClient, fix_time, new_order_fields

REPO = Path(__file__).resolve().parents[2]
SWEEP = [(5094, "1"), (5096, "0"), (5100, "0"), (5102, "0")]
LIQUID = "AAPL  261218C00200000"
HEDGED = "AAPL  261218C00195000"
FINAL = {"2", "4", "8", "C", "3"}        # Filled, Canceled, Rejected, Expired, DoneForDay
# how many visits of each point the workload makes at least: the run kills at a seeded one of them
VISITS = {"journal_committed": 12, "child_sent": 4, "fill": 4, "cancel_replace": 3, "hedge": 2}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_sessions(path: Path, port: int) -> Path:
    path.write_text(f"[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort={port}\nStartTime=00:00:00\n"
                    "EndTime=00:00:00\nUseDataDictionary=Y\nSocketReuseAddress=Y\nResetOnLogon=N\n"
                    "PersistMessages=Y\n\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=ROUTER\n"
                    "TargetCompID=CLIENT1\n")
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "ROUTER_FAULT"}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


class Exchange:
    def __init__(self, work: Path) -> None:
        self._log = open(work / "exchange.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "router", "exchange", "--port", "0"], cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=self._log, env=_env())
        line = self.proc.stdout.readline().decode()
        if "exchange ready: port" not in line:
            raise RuntimeError(f"exchange did not start: {line!r}")
        self.port = int(line.rsplit(" ", 1)[1])

    def audit(self) -> dict[str, int]:
        from venues.remote import ExchangeLink
        link = ExchangeLink("127.0.0.1", self.port, peer="auditor")
        try:
            link.start(lambda report: None, _NoMarket())
            return link.audit()
        finally:
            link.close()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


class _NoMarket:
    def put_book(self, key, item) -> None:
        pass

    def put_print(self, item) -> None:
        pass


class Router:
    def __init__(self, work: Path, exchange: Exchange, fault: str | None) -> None:
        self.work = work
        self.port = free_port() if not (work / "port").exists() else int((work / "port").read_text())
        (work / "port").write_text(str(self.port))
        sessions = write_sessions(work / "sessions.cfg", self.port)
        env = _env(**({"ROUTER_FAULT": fault} if fault else {}))
        self._log = open(work / f"router-{time.monotonic_ns()}.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "router", "serve", "--sessions", str(sessions), "--state-dir", str(work / "state"),
             "--exchange", f"127.0.0.1:{exchange.port}"], cwd=REPO, stdout=self._log, stderr=self._log, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"router exited with {self.proc.returncode} before listening")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("router did not listen in time")

    def killed(self, timeout: float = 10.0) -> bool:
        try:
            return self.proc.wait(timeout) == -signal.SIGKILL
        except subprocess.TimeoutExpired:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()


class ResumingClient(FixClient):
    """A FIX client whose sequence numbers survive the router's restarts: it logs on without a
    reset, fills the router's gaps with a ResendRequest and answers the router's own."""

    def __init__(self, port: int) -> None:
        super().__init__("127.0.0.1", port, "CLIENT1", "ROUTER", heartbeat_s=30, timeout=10.0)
        self.expected_in = 1
        self.seen_in: set[int] = set()
        self.gaps_filled = 0
        self.poss_resend = 0                  # reports the router sent again after its restart (97=Y)
        self.logon_seq: list[int] = []

    def connect(self, reset: bool = False) -> "ResumingClient":
        self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self._parser = simplefix.FixParser()
        self.send("A", [(98, "0"), (108, str(self.heartbeat_s)), *([(141, "Y")] if reset else [])])
        if reset:
            self.expected_in = 1
        logon = self.expect("A")
        if logon is None:
            raise ConnectionError("no Logon reply")
        return self

    def receive(self, timeout: float | None = None):
        while True:
            message = super().receive(timeout)
            if message is None:
                return None
            seq = int(message.get(34))
            msg_type = message.get(35)
            poss_dup = message.get(43) == b"Y"
            if message.get(97) == b"Y":
                self.poss_resend += 1
            if msg_type == b"A":
                self.logon_seq.append(seq)
            if msg_type == b"4":                          # SequenceReset (gap fill): next is 36
                self.seen_in.update(range(seq, int(message.get(36))))
                self.expected_in = max(self.expected_in, int(message.get(36)))
                continue
            if msg_type == b"2":                          # the router missed some of ours: gap-fill them
                begin = int(message.get(7))
                self._send_gap_fill(begin)
                continue
            if seq > self.expected_in and not poss_dup and msg_type != b"5":
                self.send("2", [(7, str(self.expected_in)), (16, "0")])
                self.gaps_filled += 1
            self.seen_in.add(seq)
            if not poss_dup:
                self.expected_in = max(self.expected_in, seq + 1)
            return message

    def _send_gap_fill(self, begin: int) -> None:
        message = simplefix.FixMessage()
        message.append_pair(8, "FIX.4.4", header=True)
        message.append_pair(35, "4", header=True)
        message.append_pair(49, self.sender, header=True)
        message.append_pair(56, self.target, header=True)
        message.append_pair(34, begin, header=True)
        message.append_pair(43, "Y", header=True)
        message.append_pair(52, fix_time(), header=True)
        message.append_pair(122, fix_time())
        message.append_pair(123, "Y")
        message.append_pair(36, self.seq + 1)
        self.send_raw(message.encode())

    def missing_in(self) -> list[int]:
        top = max(self.seen_in, default=0)
        return [seq for seq in range(1, top + 1) if seq not in self.seen_in]


@dataclass
class OrderView:
    """What the client knows of one order from the reports it got."""
    cl_ord_ids: list[str]
    status: str | None = None
    cum_qty: int = 0
    trades: dict[str, int] = field(default_factory=dict)    # ExecID -> LastQty
    order_id: str | None = None
    router_cl_ord_id: str | None = None     # the latest ClOrdID the router has for it (from its status)

    @property
    def acknowledged(self) -> bool:
        """The router took it: some report other than a reject came back."""
        return self.order_id is not None and self.status is not None and self.status != "8"


@dataclass
class RunResult:
    point: str
    nth: int
    killed: bool
    problems: list[str]
    orders: int
    fills: int
    resent: int               # ResendRequests the client had to send
    poss_resend: int = 0      # reports the router sent again from its journal (97=Y)

    @property
    def ok(self) -> bool:
        return self.killed and not self.problems


class Workload:
    def __init__(self, client: ResumingClient, seed: int) -> None:
        self.client = client
        self.rng = random.Random(seed)
        self.views: dict[str, OrderView] = {}        # by the first ClOrdID
        self.by_cl_ord_id: dict[str, OrderView] = {}
        self.hedge_ids: set[str] = set()

    def absorb(self, message) -> None:
        if message.get(35) != b"8":
            return
        cl = message.get(11).decode()
        if cl in self.hedge_ids:
            return
        view = self.by_cl_ord_id.get(cl)
        if view is None:
            return
        exec_type = message.get(150).decode()
        if message.get(37) is not None and message.get(37) != b"NONE":
            view.order_id = message.get(37).decode()
        if exec_type == "I":                        # a status answer is checked apart
            return
        view.status = message.get(39).decode()
        view.cum_qty = max(view.cum_qty, int(message.get(14)))
        if exec_type == "F":
            view.trades[message.get(17).decode()] = int(message.get(32))

    def pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            message = self.client.receive(left)
            if message is None:
                return
            self.absorb(message)

    def _new(self, cl: str, side: str, qty: int, symbol: str, price: float, extra=()) -> None:
        view = OrderView([cl])
        self.views[cl] = self.by_cl_ord_id[cl] = view
        self.client.send("D", new_order_fields(cl, side, qty, symbol, price, extra=[*SWEEP, *extra]))

    def _chain(self, first: str, cl: str) -> None:
        """``cl`` joins the order's chain (a cancel or replace); ``first`` is its first ClOrdID."""
        view = self.views[first]
        view.cl_ord_ids.append(cl)
        self.by_cl_ord_id[cl] = view

    def steps(self) -> list:
        """The workload, one callable per client message, each followed by a seeded pause."""
        hedged = [(5152, "X"), (5010, "H2"), (5110, "0.5")]
        self.hedge_ids.add("H2")
        return [
            lambda: self._new("S1", "1", 3, LIQUID, 9.00),
            lambda: self._new("R1", "1", 5, LIQUID, 0.50),
            lambda: self._new("S2", "1", 2, HEDGED, 12.00, extra=hedged),
            lambda: self._change("G", "R1", "R1b", [(38, "6"), (40, "2"), (44, "0.55")]),
            lambda: self._new("S3", "1", 4, LIQUID, 9.00),
            lambda: self._new("R2", "1", 3, LIQUID, 0.40),
            lambda: self._change("F", "R1", "R1c", []),
            lambda: self._new("S4", "1", 2, LIQUID, 9.00),
            lambda: self._change("G", "R2", "R2b", [(38, "3"), (40, "2"), (44, "0.45")]),
            lambda: self._new("S5", "1", 1, HEDGED, 12.00, extra=[(5152, "X"), (5010, "H5"), (5110, "0.5")]),
        ]

    def _change(self, msg_type: str, first: str, cl: str, fields: list) -> None:
        view = self.views[first]
        orig = view.cl_ord_ids[-1]      # the last one sent: a client does not wait for the answer
        self._chain(first, cl)
        self.client.send(msg_type, [(11, cl), (41, orig), (55, LIQUID), (54, "1"), (60, fix_time()), *fields])

    def send_from(self, step: int) -> int:
        """Send the workload from ``step``; return the number of steps sent. Raises nothing: a
        router dying under it ends it early (ConnectionError)."""
        steps = self.steps()
        self.hedge_ids.add("H5")
        sent = step
        try:
            for action in steps[step:]:
                action()
                sent += 1
                self.pump(self.rng.uniform(0.05, 0.3))
            self.pump(1.0)
        except (ConnectionError, OSError):
            pass
        return sent


def run_once(work: Path, point: str, nth: int, seed: int) -> RunResult:
    work.mkdir(parents=True, exist_ok=True)
    exchange = Exchange(work)
    router = None
    problems: list[str] = []
    try:
        # the router's start-up commits once (its restore) before any order
        router = Router(work, exchange, f"{point}:{nth + 1 if point == 'journal_committed' else nth}")
        client = ResumingClient(router.port).connect(reset=True)
        workload = Workload(client, seed)
        sent = workload.send_from(0)
        killed = router.killed(timeout=15.0)
        if not killed:
            router.stop()
            return RunResult(point, nth, False, [f"the router did not die at {point}:{nth}"], 0, 0, 0)
        client.close()
        router.stop()
        router = Router(work, exchange, None)
        client.port = router.port
        client.connect()
        workload.pump(1.5)
        problems += _check_status(workload)      # what it last saw, or later
        workload.send_from(sent)                 # the rest of the day, on the restarted router
        _finish(workload)
        problems += _check_final(workload, client)
        router.stop()
        router = None
        problems += _check_exchange_and_store(work, exchange)
        return RunResult(point, nth, True, problems, len(workload.views),
                         sum(len(v.trades) for v in workload.views.values()), client.gaps_filled, client.poss_resend)
    finally:
        if router is not None:
            router.stop()
        exchange.stop()


def _ask_status(workload: Workload, view: OrderView):
    workload.client.send("H", [(11, view.cl_ord_ids[0]), (55, LIQUID), (54, "1")])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        message = workload.client.receive(1.0)
        if message is None:
            continue
        if message.get(35) == b"8" and message.get(150) == b"I" and message.get(11).decode() in view.cl_ord_ids:
            return message
        workload.absorb(message)
    return None


def _check_status(workload: Workload) -> list[str]:
    problems = []
    for first, view in workload.views.items():
        if not view.acknowledged:
            continue
        answer = _ask_status(workload, view)
        if answer is None:
            problems.append(f"{first}: no answer to OrderStatusRequest")
            continue
        status, cum = answer.get(39).decode(), int(answer.get(14))
        view.router_cl_ord_id = answer.get(11).decode()
        if view.cl_ord_ids[-1] != view.router_cl_ord_id:     # a request the router never took: go on from its chain
            view.cl_ord_ids.append(view.router_cl_ord_id)
        if answer.get(58) is not None and b"Unknown order" in answer.get(58):
            problems.append(f"{first}: acknowledged (last seen {view.status}, CumQty {view.cum_qty}) "
                            f"but now unknown")
        elif cum < view.cum_qty:
            problems.append(f"{first}: CumQty went back from {view.cum_qty} to {cum}")
        elif view.status in FINAL and status != view.status:
            problems.append(f"{first}: final {view.status} became {status}")
    return problems


def _finish(workload: Workload) -> None:
    for first, view in workload.views.items():
        if view.acknowledged and view.status not in FINAL:
            workload._change("F", first, f"{first}x{len(view.cl_ord_ids)}", [])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if all(v.status in FINAL for v in workload.views.values() if v.acknowledged):
            break
        workload.pump(0.2)
    workload.pump(2.0)          # hedges finish after their option orders


def _check_final(workload: Workload, client: ResumingClient) -> list[str]:
    problems = []
    for first, view in workload.views.items():
        if not view.acknowledged:
            continue
        if view.status not in FINAL:
            problems.append(f"{first}: still {view.status} after the cancel")
        if sum(view.trades.values()) != view.cum_qty:
            problems.append(f"{first}: CumQty {view.cum_qty} but the client's fills sum to "
                            f"{sum(view.trades.values())} ({view.trades})")
    if client.missing_in():
        problems.append(f"inbound FIX sequence numbers missing: {client.missing_in()[:10]}")
    if len(client.logon_seq) >= 2 and client.logon_seq[-1] <= client.logon_seq[-2]:
        problems.append(f"the router's sequence numbers restarted: logons at {client.logon_seq}")
    workload.final = {view.order_id: view.cum_qty for view in workload.views.values() if view.order_id}
    return problems


def _check_exchange_and_store(work: Path, exchange: Exchange) -> list[str]:
    from router.store.store import Store

    problems = []
    submits = exchange.audit()
    twice = {child: count for child, count in submits.items() if count > 1}
    if twice:
        problems.append(f"children sent twice to a venue: {twice}")
    store = Store(f"sqlite:///{work / 'state' / 'router.db'}")
    try:
        known = {child.child_id for parent in store.parents() for child in store.children(parent.order_id)}
        unknown = sorted(set(submits) - known)
        if unknown:
            problems.append(f"children at the exchange the router's store does not know: {unknown}")
        for parent in store.parents():
            fills = sum(f.qty for f in store.fills(parent.order_id) if f.role.value == "W")
            if fills != parent.cum_qty:
                problems.append(f"{parent.order_id}: stored CumQty {parent.cum_qty}, stored fills {fills}")
    finally:
        store.close()
    rebuild = subprocess.run([sys.executable, "-m", "router", "store", "rebuild", "--check-only", "--store",
                              f"sqlite:///{work / 'state' / 'router.db'}"], cwd=REPO, env=_env(),
                             capture_output=True, text=True, timeout=120)
    if rebuild.returncode != 0:
        problems.append(f"store rebuild --check-only failed: {rebuild.stdout[-800:]}{rebuild.stderr[-800:]}")
    return problems
