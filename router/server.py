"""A running router: store, engine thread, venues and market, QuickFIX acceptor.

The venues and their simulated market run in one of three places (``exchange``):
``"spawn"`` a `router exchange` child process started and stopped with the server (what
`router serve` does), ``"HOST:PORT"`` an exchange already running (it outlives the router, so a
restarted router finds its children there), or ``None`` in the engine's own process and thread
(tests, and `router serve --in-process-market`)."""
from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

from router.app import Settings, build_system
from router.clock import LiveClock
from router.engine import RestoredState
from router.market import pricing
from router.fix.acceptor import Acceptor, RouterApplication, load_settings as load_fix_settings, session_accounts
from router.store.store import Store
from venues.fix_venue import FixVenueLink
from venues.remote import ExchangeLink, parse_address

log = logging.getLogger(__name__)

GC_FREEZE_INTERVAL_NS = 10_000_000_000
SPAWN = "spawn"
EXCHANGE_READY = "exchange ready: port "
EXCHANGE_START_TIMEOUT_S = 60.0
VENUE_LOGON_TIMEOUT_S = 10.0        # at start, how long to wait for the FIX venues' logons (then go on without)


class ExchangeProcess:
    """`router exchange` as a child process. It exits when we do, even if we are killed: its
    stdin is a pipe from us, and it stops when that pipe closes."""

    def __init__(self, config_path: Path, *, quiet_market: bool = False, protocol: str = "native",
                 state_dir: Path | None = None) -> None:
        argv = [sys.executable, "-m", "router", "--config", str(Path(config_path).resolve()), "exchange", "--port", "0",
                "--until-stdin-closes", "--protocol", protocol]
        if quiet_market:
            argv.append("--quiet-market")
        if state_dir is not None:
            argv += ["--state-dir", str(state_dir)]
        root = str(Path(__file__).resolve().parent.parent)      # the child runs this checkout's code
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.port = self._wait_ready()

    def _wait_ready(self) -> int:
        found: list[int] = []

        def read_ready_line() -> None:
            for line in self._proc.stdout:
                if line.startswith(EXCHANGE_READY):
                    found.append(int(line[len(EXCHANGE_READY):].split()[0]))
                    return
        reader = threading.Thread(target=read_ready_line, daemon=True)
        reader.start()
        reader.join(EXCHANGE_START_TIMEOUT_S)
        if not found:
            self.stop()
            raise RuntimeError(f"router exchange did not get ready in {EXCHANGE_START_TIMEOUT_S:g} s "
                               f"(exit code {self._proc.returncode})")
        return found[0]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                pipe.close()


def restore_from_store(store: Store, since_ns: int | None = None) -> RestoredState:
    """The working orders and the closed ones of the trading day since ``since_ns`` (all when None)."""
    return store.load_working(since_ns)


class RouterServer:
    def __init__(self, settings: Settings, *, sessions: Path | None = None, state_dir: Path | None = None,
                 store_url: str | None = None, background: bool = True, exchange: str | None = None,
                 venue_protocol: str = "native") -> None:
        self.settings = settings
        self.state_dir = (state_dir or settings.config_path.parent.parent / "var").resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.sessions_path = sessions or settings.sessions_path
        interval_ms = settings.router.store.projection_interval_ms
        self.store = Store(store_url or settings.store_url(state_dir),
                           projection_interval_s=interval_ms / 1000 if interval_ms else None)
        self.store.migrate()
        fix_settings = load_fix_settings(self.sessions_path, self.state_dir)
        self.app = RouterApplication(lambda request: self.engine.post(request), session_accounts(fix_settings),
                                     settings.accounts)
        self.clock = LiveClock()
        self.exchange_process: ExchangeProcess | None = None
        link = None
        if exchange == SPAWN:
            # over FIX its sequence numbers are kept next to ours, so both ends agree after a restart
            self.exchange_process = ExchangeProcess(settings.config_path, quiet_market=not background,
                                                    protocol=venue_protocol,
                                                    state_dir=self.state_dir / "exchange" if venue_protocol == "fix"
                                                    else None)
            exchange = self.exchange_process.address
        try:
            if exchange is not None and venue_protocol == "fix":
                link = FixVenueLink(*parse_address(exchange), [v.name for v in settings.venues],
                                    self.state_dir / "venue_store", now_ns=self.clock.now_ns,
                                    log_dir=self.state_dir / "venue_log")
            elif exchange is not None:
                link = ExchangeLink(*parse_address(exchange))
            self.system = build_system(clock=self.clock, market=settings.router.market,
                                       venue_configs=settings.venues, accounts=settings.accounts,
                                       engine_config=settings.router.engine, algo_settings=settings.router.algos,
                                       send=self.app.send, persistence=self.store, background=background,
                                       exchange=link)
        except BaseException:
            if link is not None:
                link.close()
            if self.exchange_process is not None:
                self.exchange_process.stop()
            raise
        self.engine = self.system.engine
        self.acceptor = Acceptor(fix_settings, self.app)
        self.ports = _accept_ports(fix_settings)

    def start(self) -> "RouterServer":
        log.info("pricing kernels ready in %.2f s", pricing.warm_up())
        day_began = self.engine.calendar.previous_close_ns(self.clock.now_ns())
        restored = restore_from_store(self.store, since_ns=day_began)
        self.engine.restore(restored)
        if restored.parents:
            log.info("restored %d parents of the day, %d of them open", len(restored.parents),
                     sum(1 for p in restored.parents if not p.closed))
        if self.store.last_damage is not None:
            log.error("started after journal damage: %s", self.store.last_damage.describe())
        self._freeze_heap()
        self.engine.start()
        link = self.system.exchange
        if isinstance(link, FixVenueLink) and not link.wait_logged_on(VENUE_LOGON_TIMEOUT_S):
            log.error("FIX venues not logged on after %g s: starting without them (%s)", VENUE_LOGON_TIMEOUT_S,
                      ", ".join(v for v in link.venues if not link.logged_on(v)))
        self.acceptor.start()
        return self

    def _freeze_heap(self) -> None:
        """Move everything alive into the collector's permanent generation, and again every ten
        seconds. A full collection walks every live order and stalled the engine for 50-90 ms
        under load (bench/fix_roundtrip p99); frozen objects are skipped. Acyclic garbage is still
        freed by reference counting; only a cycle among frozen objects would be kept."""
        gc.freeze()
        self.clock.call_later(GC_FREEZE_INTERVAL_NS, self._freeze_heap)

    def stop(self) -> None:
        # The engine first: once it is stopped nothing sends through a session being torn down.
        self.engine.stop()
        if self.system.background is not None:
            self.system.background.stop()
        if self.system.crypto is not None:
            self.system.crypto.stop()
        self.acceptor.stop()
        if self.system.exchange is not None:
            self.system.exchange.close()
        if self.exchange_process is not None:
            self.exchange_process.stop()
        self.store.close()

    def __enter__(self) -> "RouterServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _accept_ports(fix_settings) -> list[int]:
    ports = set()
    for session_id in fix_settings.getSessions():
        section = fix_settings.get(session_id)
        if section.has("SocketAcceptPort"):
            ports.add(int(section.getString("SocketAcceptPort")))
    return sorted(ports)
