"""`router tca` on a small store: the tables, the PNG plots and the HTML page, rendered in a
headless Chromium (Debian's `chromium`) to check that its tables and images are there."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from router.cli import main
from router.domain.enums import HedgeMode, Side
from router.store.store import Store
from tests.harness import CALL, Harness

UNDERLIER = "AAPL"


@pytest.fixture(scope="module")
def store_url(tmp_path_factory) -> str:
    """Two sweeps (one hedged), a resting order cancelled, the market moving after the fills."""
    url = f"sqlite:///{tmp_path_factory.mktemp('tca') / 'router.db'}"
    store = Store(url)
    store.migrate()
    h = Harness(persistence=store)
    h.quote("XNAS", UNDERLIER, bids=[(199.99, 5000)], asks=[(200.01, 5000)])
    h.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.00, 4)])
    h.quote("ARCO", CALL, asks=[(5.00, 6), (5.05, 20)])
    h.new("A1", Side.BUY, 10, 5.00)
    h.new("A2", Side.BUY, 5, 4.00)
    h.new("A4", Side.BUY, 8, 5.05, auto_hedge=HedgeMode.FAST_CRX, alt_auto_hedge_id="H4", order_ref_delta=0.5)
    h.settle(2.0)
    h.requote("XCBO", CALL, bids=[(4.70, 10)], asks=[(4.90, 4)])
    h.cancel("A3", "A2")
    h.settle(700)
    store.close()
    return url


def test_router_tca_prints_the_tables_and_writes_the_plots_and_the_page(store_url, tmp_path):
    plots = tmp_path / "report"
    result = CliRunner().invoke(main, ["tca", "--store", store_url, "--plots", str(plots)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Option cost per algo" in out and "Markouts vs mid" in out and "Auto-hedge fills" in out
    sweep_row = next(line for line in out.splitlines() if line.strip("│ ").startswith("sweep"))
    cells = [c.strip() for c in sweep_row.strip("│").split("│")]
    assert cells[1:3] == ["3", "18"]                       # 3 parents, 10 + 8 contracts filled
    assert cells[11] == "78%"                              # 18 of the 23 ordered
    for name in ("markouts.png", "cost_per_contract.png", "fill_rate.png", "index.html"):
        assert (plots / name).stat().st_size > 0, name
    assert (plots / "markouts.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_since_leaves_out_older_parents_and_a_bad_since_is_a_clear_error(store_url):
    later = CliRunner().invoke(main, ["tca", "--store", store_url, "--since", "2026-11-20T16:00:00Z"])
    assert later.exit_code == 0 and "no parents in the store since 2026-11-20T16:00:00Z" in later.output
    bad = CliRunner().invoke(main, ["tca", "--store", store_url, "--since", "last week"])
    assert bad.exit_code == 2 and "--since 'last week'" in bad.output


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and shutil.which("apt-get") and Path("/var/lib/dpkg").exists():
        try:        # quick on Debian (about 25 s); skipped below if it cannot be done
            subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            return None
        found = shutil.which("chromium")
    return found


_PROBE = """<!DOCTYPE html><html><body><pre id="out">waiting</pre><iframe id="report" src="index.html"></iframe>
<script>
document.getElementById("report").onload = function () {
  var page = this.contentDocument;
  document.getElementById("out").textContent = JSON.stringify({
    tables: Array.from(page.querySelectorAll("table")).map(function (t) {
      return {caption: t.caption.textContent, rows: t.tBodies[0].rows.length}; }),
    images: Array.from(page.images).map(function (i) {
      return {src: i.getAttribute("src"), width: i.naturalWidth, height: i.naturalHeight}; })});
};
</script></body></html>"""


def test_the_html_report_renders_in_headless_chromium_with_its_tables_and_images(store_url, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium: install Debian's `chromium` package to render the HTML report")
    plots = tmp_path / "report"
    assert CliRunner().invoke(main, ["tca", "--store", store_url, "--plots", str(plots)]).exit_code == 0
    (plots / "probe.html").write_text(_PROBE)
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                          "--virtual-time-budget=10000", "--dump-dom", (plots / "probe.html").as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    assert found and found.group(1) != "waiting", dom[:2000]
    rendered = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    captions = [t["caption"] for t in rendered["tables"]]
    assert any(c.startswith("Option cost per algo") for c in captions)
    assert any(c.startswith("Markouts vs mid") for c in captions)
    assert all(t["rows"] >= 1 for t in rendered["tables"])
    assert sorted(i["src"] for i in rendered["images"]) == ["cost_per_contract.png", "fill_rate.png", "markouts.png"]
    assert all(i["width"] > 100 and i["height"] > 100 for i in rendered["images"]), rendered["images"]
