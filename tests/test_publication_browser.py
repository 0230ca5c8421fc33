"""A municipality page rendered in real headless Chromium (Debian's package) without any network.

Chromium runs in an empty network namespace (``unshare --net``, as CI runs as root) and is told to
resolve no host and use a dead proxy besides, so a page that needed anything from elsewhere would not
draw. The rendered DOM (``--dump-dom``) must hold one drawn plotly chart (``.main-svg``) per chart the
page carries. A copy of the page that loads plotly.js from a CDN instead is the control: it draws nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_publications_for_people import publish_years

pytestmark = pytest.mark.slow  # a real headless Chromium

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# the background-networking flags keep Chromium from calling home at start (machines/python.md)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
         "--virtual-time-budget=10000", "--dump-dom")


def offline() -> list[str]:
    """``unshare --net`` where this user may make a network namespace (root, as in CI)."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "--net", "true"], capture_output=True).returncode == 0:
        return [unshare, "--net"]
    return []


def rendered(page: Path, profile: Path) -> str:
    command = [*offline(), CHROMIUM, *FLAGS, f"--user-data-dir={profile}", page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def chromium():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs the Debian packages chromium and chromium-driver")
        pytest.skip("Chromium is not installed (apt-get install chromium chromium-driver)")
    return CHROMIUM


def test_a_municipality_page_draws_its_charts_without_network(chromium, tmp_path):
    exports = publish_years(tmp_path, (2024, 2025))
    page = exports / "ceo" / "2025" / "gemeenten" / "0363.html"
    html = page.read_text(encoding="utf-8")
    charts = html.count('class="rmj-chart"')
    assert charts == 7  # beside the sub-region and region, and six trends over the years

    dom = rendered(page, tmp_path / "profile")
    drawn = re.findall(r'<div class="chart js-plotly-plot" id="chart-\d+">', dom)
    assert len(drawn) == charts, "not every chart was drawn"
    assert dom.count('class="main-svg"') >= charts
    assert "Amsterdam-Amstelland" in dom and "Gemaakt op 1 december 2026" in dom

    # the control: the same page, plotly.js from a CDN instead of inlined, draws nothing offline
    library = re.search(r'<script type="text/javascript" id="plotly-js">.*?</script>', html, flags=re.S)
    online = tmp_path / "online.html"
    online.write_text(html[:library.start()] + '<script src="https://cdn.plot.ly/plotly-3.0.1.min.js"></script>'
                      + html[library.end():], encoding="utf-8")
    assert 'class="main-svg"' not in rendered(online, tmp_path / "profile-online")
