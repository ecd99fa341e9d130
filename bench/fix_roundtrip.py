"""NewOrderSingle -> first ExecutionReport over loopback: the router against a bare QuickFIX
acceptor that acks at once, in the same run, with the same sessions file and load client.

The load client pre-encodes every order (sequence numbers, checksums) before the clock starts
and keeps a window of orders in flight, so it is not the bottleneck. The router runs its
default configuration (SQLite store, five simulated venues, background market) with one
change: the BENCH account may hold a million working orders. Each order is a 1-lot Day sweep
at a limit below the market, so the router does the whole acceptance path — decode, journal
(group commit), risk, algo, SOR — and answers New, one report per order like the bare peer.
With --ioc the orders are IOC instead, and the router also ends each one (New, Canceled).

    python bench/fix_roundtrip.py [--orders 3000] [--window 32] [--repeat 3] [--ioc]

Last line: router_orders_per_s=... bare_orders_per_s=... ratio=... router_p50_us=... ...
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from router.fix.client import FixClient  # noqa: E402

SOH = b"\x01"
SYMBOL = "AAPL  261218C00190000"
_CL_ORD_ID = re.compile(rb"\x0111=([^\x01]*)\x01")


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


def encode(fields: list[tuple[int, str]]) -> bytes:
    body = "".join(f"{tag}={value}\x01" for tag, value in fields).encode()
    head = b"8=FIX.4.4\x019=" + str(len(body)).encode() + SOH
    checksum = sum(head + body) % 256
    return head + body + b"10=" + f"{checksum:03d}".encode() + SOH


def write_config(work: Path) -> Path:
    """The default configuration, plus an account limit big enough for the benchmark's orders."""
    for name in ("router.toml", "venues.toml", "accounts.toml"):
        (work / name).write_text((REPO / "config" / name).read_text())
    with open(work / "accounts.toml", "a") as accounts:
        accounts.write("\n[accounts.BENCH]\nlimits = { max_open_orders = 1000000 }\n")
    return work / "router.toml"


_RUNS = iter(range(1, 1 << 30))


def pre_encode(count: int, first_seq: int, tif: str) -> tuple[list[bytes], list[bytes]]:
    run = next(_RUNS)         # ClOrdIDs must be unique across runs on one session
    now = datetime.now(timezone.utc)
    stamp = (now + timedelta(seconds=2)).strftime("%Y%m%d-%H:%M:%S.000")
    orders, ids = [], []
    for i in range(count):
        cl_ord_id = f"B{run}-{i}"
        orders.append(encode([
            (35, "D"), (49, "BENCH"), (56, "ROUTER"), (34, str(first_seq + i)), (52, stamp),
            (11, cl_ord_id), (55, SYMBOL), (54, "1"), (60, stamp), (38, "1"), (40, "2"), (44, "0.05"),
            (59, tif), (5094, "1"), (5096, "0"), (5100, "0"), (5102, "0")]))
        ids.append(cl_ord_id.encode())
    return orders, ids


def run_load(port: int, count: int, window: int, tif: str = "0") -> tuple[float, list[float]]:
    client = FixClient("127.0.0.1", port, "BENCH", "ROUTER", heartbeat_s=60, timeout=30).connect()
    orders, ids = pre_encode(count, client.seq + 1, tif)
    sock = client._sock
    sock.settimeout(None)
    sent_at: dict[bytes, int] = {}
    latencies: list[float] = []
    buffer = b""
    next_order = 0
    started = time.perf_counter_ns()
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
        if end < 0:
            continue
        end = buffer.find(SOH, end + 4)
        if end < 0:
            continue
        complete, buffer = buffer[:end + 1], buffer[end + 1:]
        for match in _CL_ORD_ID.finditer(complete):
            began = sent_at.pop(match.group(1), None)
            if began is not None:
                latencies.append((now - began) / 1000.0)
    elapsed = (time.perf_counter_ns() - started) / 1e9
    client.seq += count
    client.close()
    return count / elapsed, latencies


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not listen in time")


def measure(kind: str, orders: int, window: int, tif: str,
            router_flags: tuple[str, ...] = ()) -> tuple[float, list[float], float]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as tmp:
        work = Path(tmp)
        port = free_port()
        sessions = work / "sessions.cfg"
        write_sessions(sessions, port)
        if kind == "router":
            argv = [sys.executable, "-m", "router", "--config", str(write_config(work)), "serve",
                    "--sessions", str(sessions), "--state-dir", str(work), *router_flags]
        else:
            argv = [sys.executable, str(REPO / "bench" / "bare_acceptor.py"), "--sessions", str(sessions)]
        proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env={**os.environ, "PYTHONPATH": str(REPO)})
        try:
            wait_port(port, proc)
            run_load(port, min(500, orders), window, tif)        # warm-up
            cpu_before = process_cpu_seconds(proc.pid)
            rate, latencies = run_load(port, orders, window, tif)
            cpu_us_per_order = (process_cpu_seconds(proc.pid) - cpu_before) / orders * 1e6
            return rate, latencies, cpu_us_per_order
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all threads): robust to other load on the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    if os.environ.get("BENCH_CPU_SPLIT"):
        print(f"  utime {int(fields[11])} stime {int(fields[12])}", flush=True)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--window", type=int, default=32, help="orders in flight")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each; medians are reported")
    parser.add_argument("--ioc", action="store_true", help="IOC orders: the router also cancels each one")
    parser.add_argument("--quiet-market", action="store_true", help="ablation: no background market in the router")
    args = parser.parse_args()

    results: dict[str, list[tuple[float, list[float], float]]] = {"router": [], "bare": []}
    for round_ in range(args.repeat):
        for kind in ("bare", "router"):
            flags = ("--quiet-market",) if args.quiet_market else ()
            rate, latencies, cpu = measure(kind, args.orders, args.window, "3" if args.ioc else "0", flags)
            results[kind].append((rate, latencies, cpu))
            print(f"round {round_ + 1} {kind:>6}: {rate:8.0f} orders/s  p50 {pct(latencies, .5):7.0f} us  "
                  f"p99 {pct(latencies, .99):7.0f} us  server cpu {cpu:6.0f} us/order", flush=True)

    def summary(kind: str) -> tuple[float, float, float, float]:
        runs = results[kind]
        return (statistics.median(r for r, _, _ in runs), statistics.median(pct(l, .5) for _, l, _ in runs),
                statistics.median(pct(l, .99) for _, l, _ in runs), statistics.median(c for _, _, c in runs))

    router, bare = summary("router"), summary("bare")
    print(f"router_orders_per_s={router[0]:.0f} bare_orders_per_s={bare[0]:.0f} ratio={router[0] / bare[0]:.2f} "
          f"router_p50_us={router[1]:.0f} router_p99_us={router[2]:.0f} bare_p50_us={bare[1]:.0f} "
          f"bare_p99_us={bare[2]:.0f} router_cpu_us_per_order={router[3]:.0f} bare_cpu_us_per_order={bare[3]:.0f}")


if __name__ == "__main__":
    main()
