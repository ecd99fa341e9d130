"""NewOrderSingle -> first ExecutionReport over loopback: the router against a bare QuickFIX
acceptor that acks at once, in the same run, with the same sessions file and load client.

Each order is a marketable 1-lot sweep: a buy limited well above the ask or a sell well below
the bid, round-robin over every option of the default simulated market, so the router does the
whole path — decode, journal (group commit), risk, algo, SOR, a child to a venue — answers New,
and then reports the fill. The router runs its default configuration (SQLite store, five
simulated venues, background market) with one change: the BENCH account's limits let the
benchmark's orders through. The load client pre-encodes every order (sequence numbers,
checksums) before the clock starts, so it is not the bottleneck.

Each round starts, in turn, the bare acceptor, the router and the router with --quiet-market,
each a fresh process, and measures:
  - throughput: ``--window`` orders in flight (bare and router);
  - latency one order at a time (window 1): bare, the router with the market running at its
    default rate (``live_*``), and the router with the market quiet (``router_*``; with no
    quotes at all its orders cannot trade and rest, so that path is decode, risk, algo, commit).
Server CPU is the server's process and the processes it started (the router's exchange).
The last line gives medians over ``--repeat`` rounds.

    python bench/fix_roundtrip.py [--orders 3000] [--latency-orders 1000] [--window 32] [--repeat 3]
                                  [--ioc] [--quick]

Last line: router_orders_per_s=... bare_orders_per_s=... ratio=... router_p50_us=... router_p99_us=...
bare_p50_us=... bare_p99_us=... live_p50_us=... live_p99_us=... (then CPU and pipelined latencies)
"""
from __future__ import annotations

import argparse
import gc
import itertools
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from router.fix.client import FixClient  # noqa: E402

SOH = b"\x01"
BUY_LIMIT = "50"          # above every ask of the default market (the dearest option is about $15)
SELL_LIMIT = "0.05"       # below every bid (the cheapest is about $1.35); on every tick grid
_CL_ORD_ID = re.compile(rb"\x0111=([^\x01]*)\x01")
_REJECTS = (b"\x0139=8\x01", b"\x0135=3\x01", b"\x0135=j\x01", b"\x0135=5\x01")
_FILL = b"\x01150=F\x01"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_sessions(path: Path, port: int) -> None:
    path.write_text(f"""[DEFAULT]
ConnectionType=acceptor
SocketAcceptPort={port}
StartTime=00:00:00
EndTime=00:00:00
UseDataDictionary=Y
DataDictionary={REPO / 'fix_specs' / 'FIX44.xml'}
FileStorePath={path.parent / 'store'}
FileLogPath={path.parent / 'log'}
SocketNodelay=Y

[SESSION]
BeginString=FIX.4.4
SenderCompID=ROUTER
TargetCompID=BENCH
""")


def write_config(work: Path) -> Path:
    """The default configuration, plus BENCH account limits its orders never reach."""
    for name in ("router.toml", "venues.toml", "accounts.toml", "participants.toml"):
        (work / name).write_text((REPO / "config" / name).read_text())
    with open(work / "accounts.toml", "a") as accounts:
        accounts.write("\n[accounts.BENCH]\nlimits = { max_order_qty = 1000000, max_order_notional = 1e12, "
                       "max_open_orders = 1000000 }\n")
    return work / "router.toml"


def option_symbols() -> list[str]:
    """Every option of the default simulated market, in the router's own order."""
    from router.app import load_settings
    from router.market.securities import SecurityMaster
    market = load_settings().router.market
    return [o.symbol for o in SecurityMaster.from_chains(market.underliers, datetime.now(timezone.utc).date()).options()]


def encode(fields: list[tuple[int, str]]) -> bytes:
    body = "".join(f"{tag}={value}\x01" for tag, value in fields).encode()
    head = b"8=FIX.4.4\x019=" + str(len(body)).encode() + SOH
    checksum = sum(head + body) % 256
    return head + body + b"10=" + f"{checksum:03d}".encode() + SOH


_RUNS = itertools.count(1)


def pre_encode(count: int, first_seq: int, tif: str, symbols: list[str]) -> tuple[list[bytes], list[bytes]]:
    """Marketable 1-lot sweeps, alternating buy and sell over the symbols so no book runs dry."""
    run = next(_RUNS)         # ClOrdIDs must be unique across runs on one session
    stamp = (datetime.now(timezone.utc) + timedelta(seconds=2)).strftime("%Y%m%d-%H:%M:%S.000")
    orders, ids = [], []
    for i in range(count):
        cl_ord_id = f"B{run}-{i}"
        buy = (i // len(symbols)) % 2 == 0
        orders.append(encode([
            (35, "D"), (49, "BENCH"), (56, "ROUTER"), (34, str(first_seq + i)), (52, stamp),
            (11, cl_ord_id), (55, symbols[i % len(symbols)]), (54, "1" if buy else "2"), (60, stamp), (38, "1"),
            (40, "2"), (44, BUY_LIMIT if buy else SELL_LIMIT), (59, tif),
            (5094, "1"), (5096, "0"), (5100, "0"), (5102, "0")]))
        ids.append(cl_ord_id.encode())
    return orders, ids


@dataclass
class Load:
    rate: float                       # orders per second, first report to first report
    latencies: list[float]            # microseconds, send to first ExecutionReport
    fills: int                        # fill reports seen before the last first report
    cpu_us_per_order: float = 0.0     # the server's, all threads


def run_load(port: int, count: int, window: int, tif: str, symbols: list[str]) -> Load:
    client = FixClient("127.0.0.1", port, "BENCH", "ROUTER", heartbeat_s=60, timeout=30).connect()
    orders, ids = pre_encode(count, client.seq + 1, tif, symbols)
    sock = client._sock
    sock.settimeout(30)
    sent_at: dict[bytes, int] = {}
    latencies: list[float] = []
    buffer = b""
    next_order = fills = 0
    gc.disable()
    started = time.perf_counter_ns()
    try:
        while len(latencies) < count:
            while next_order < count and len(sent_at) < window:
                sent_at[ids[next_order]] = time.perf_counter_ns()
                sock.sendall(orders[next_order])
                next_order += 1
            data = sock.recv(1 << 20)
            if not data:
                raise ConnectionError("acceptor closed the connection")
            now = time.perf_counter_ns()
            buffer += data
            end = buffer.rfind(b"\x0110=")
            if end < 0 or (end := buffer.find(SOH, end + 4)) < 0:
                continue
            complete, buffer = buffer[:end + 1], buffer[end + 1:]
            if any(reject in complete for reject in _REJECTS):
                raise RuntimeError(f"the acceptor rejected an order: {complete[-600:]!r}")
            fills += complete.count(_FILL)
            for match in _CL_ORD_ID.finditer(complete):
                began = sent_at.pop(match.group(1), None)
                if began is not None:
                    latencies.append((now - began) / 1000.0)
        elapsed = (time.perf_counter_ns() - started) / 1e9
    finally:
        gc.enable()
    drain(sock)
    client.seq += count
    client.close()
    return Load(count / elapsed, latencies, fills)


def drain(sock: socket.socket, quiet_s: float = 0.2) -> None:
    """Read what the server still sends (late fills) so the next run does not count it."""
    sock.settimeout(quiet_s)
    try:
        while sock.recv(1 << 20):
            pass
    except (socket.timeout, OSError):
        pass


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not listen in time")


def server_argv(kind: str, work: Path, sessions: Path) -> list[str]:
    if kind == "bare":
        return [sys.executable, str(REPO / "bench" / "bare_acceptor.py"), "--sessions", str(sessions)]
    quiet = ("--quiet-market",) if kind == "quiet" else ()
    return [sys.executable, "-m", "router", "--config", str(write_config(work)), "serve",
            "--sessions", str(sessions), "--state-dir", str(work), *quiet]


@dataclass
class Plan:
    orders: int
    latency_orders: int
    window: int
    warmup: int
    tif: str
    symbols: list[str] = field(default_factory=list)


def measure(kind: str, plan: Plan, throughput: bool) -> tuple[Load, Load | None]:
    """One fresh server: warm-up, then latency one order at a time, then (if asked) throughput."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as tmp:
        work = Path(tmp)
        port = free_port()
        sessions = work / "sessions.cfg"
        write_sessions(sessions, port)
        proc = subprocess.Popen(server_argv(kind, work, sessions), cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
        failed = True
        try:
            wait_port(port, proc)
            run_load(port, plan.warmup, plan.window, plan.tif, plan.symbols)
            latency = run_load(port, plan.latency_orders, 1, plan.tif, plan.symbols)
            load = None
            if throughput:
                cpu_before = process_cpu_seconds(proc.pid)
                load = run_load(port, plan.orders, plan.window, plan.tif, plan.symbols)
                load.cpu_us_per_order = (process_cpu_seconds(proc.pid) - cpu_before) / plan.orders * 1e6
            failed = False
            return latency, load
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                _, errors = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, errors = proc.communicate()
            if failed:
                print(f"{kind} server's stderr:\n{errors.decode(errors='replace')[-3000:]}", file=sys.stderr)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all threads) and of the processes it started (the
    router's `router exchange`): robust to other load on the machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(process_cpu_seconds(child) for child in child_pids(pid))


def child_pids(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children += [int(child) for child in task.read_text().split()]
        except OSError:
            pass
    return children


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def describe(label: str, load: Load) -> str:
    text = (f"{label:<22} {load.rate:8.0f} orders/s  p50 {pct(load.latencies, .5):7.0f} us  "
            f"p99 {pct(load.latencies, .99):7.0f} us  fills {load.fills}/{len(load.latencies)}")
    return text + (f"  server cpu {load.cpu_us_per_order:5.0f} us/order" if load.cpu_us_per_order else "")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=3000, help="orders per throughput run")
    parser.add_argument("--latency-orders", type=int, default=1000, help="orders per one-at-a-time run")
    parser.add_argument("--window", type=int, default=32, help="orders in flight in a throughput run")
    parser.add_argument("--warmup", type=int, default=300, help="orders sent to each server before measuring")
    parser.add_argument("--repeat", type=int, default=3, help="alternating rounds; medians are reported")
    parser.add_argument("--ioc", action="store_true", help="IOC orders instead of Day")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few orders, one round")
    args = parser.parse_args(argv)
    if args.quick:
        args.orders, args.latency_orders, args.warmup, args.repeat = 150, 40, 20, 1
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    plan = Plan(args.orders, args.latency_orders, args.window, args.warmup, "3" if args.ioc else "0",
                option_symbols())
    latency: dict[str, list[Load]] = {"bare": [], "router": [], "quiet": []}
    throughput: dict[str, list[Load]] = {"bare": [], "router": []}
    for round_ in range(1, args.repeat + 1):
        for kind in ("bare", "router", "quiet"):
            one_at_a_time, pipelined = measure(kind, plan, throughput=kind in throughput)
            latency[kind].append(one_at_a_time)
            name = {"bare": "bare", "router": "router live", "quiet": "router quiet"}[kind]
            print(f"round {round_} {describe(name + ' window 1', one_at_a_time)}", flush=True)
            if pipelined is not None:
                throughput[kind].append(pipelined)
                print(f"round {round_} {describe(f'{name} window {args.window}', pipelined)}", flush=True)

    def median(loads: list[Load], of) -> float:
        return statistics.median(of(load) for load in loads)

    def p50(load: Load) -> float:
        return pct(load.latencies, .5)

    def p99(load: Load) -> float:
        return pct(load.latencies, .99)

    router_rate = median(throughput["router"], lambda load: load.rate)
    bare_rate = median(throughput["bare"], lambda load: load.rate)
    figures = {
        "router_orders_per_s": router_rate, "bare_orders_per_s": bare_rate,
        "ratio": f"{router_rate / bare_rate:.2f}",
        "router_p50_us": median(latency["quiet"], p50), "router_p99_us": median(latency["quiet"], p99),
        "bare_p50_us": median(latency["bare"], p50), "bare_p99_us": median(latency["bare"], p99),
        "live_p50_us": median(latency["router"], p50), "live_p99_us": median(latency["router"], p99),
        "router_cpu_us_per_order": median(throughput["router"], lambda load: load.cpu_us_per_order),
        "bare_cpu_us_per_order": median(throughput["bare"], lambda load: load.cpu_us_per_order),
        "pipelined_router_p50_us": median(throughput["router"], p50),
        "pipelined_router_p99_us": median(throughput["router"], p99),
        "pipelined_bare_p50_us": median(throughput["bare"], p50),
        "pipelined_bare_p99_us": median(throughput["bare"], p99),
    }
    print(" ".join(f"{key}={value if isinstance(value, str) else f'{value:.0f}'}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
