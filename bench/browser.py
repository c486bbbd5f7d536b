"""Browser cost of the playground page while it trains, next to a bare page that only paints the map.

Starts the real server (`python app.py` on a free loopback port), opens the page in Debian's Chromium (headless,
through Playwright), presses play and measures over `--seconds`:
- frames drawn per second on the page (the page's `window.__playgroundStats.framesDrawn`);
- CPU of all Chromium processes together (psutil: user + system time of the browser and its children, before and
  after, over wall time), as a percentage of one core; and the server's CPU for reference.
Then the same for a "bare" page built here, in a document of the server's own origin: it only connects, decodes
the same `map_update` frames with the page's decoder (static/js/frames.js), paints the 100×100 map and six 10×10
thumbnails with a 256-entry lookup table, and acknowledges each frame after drawing it. Prints one JSON object.

    .venv/bin/python bench/browser.py [--seconds 20] [--screenshot docs/screenshot.png]

Targets (docs): page CPU <= 35% of one core and >= 25 frames/s on this 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import psutil
from playwright.sync_api import sync_playwright

from bench.load import server_pid
from tests.chromium import CHROMIUM, launch
from tests.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[1]

VIEWPORT = {"width": 1280, "height": 900}
READY = "() => { const s = window.__playgroundStats; return s && s.configs > 0 && s.drawnFrame > s.configFrame; }"

# The baseline: the least a page can do with the same frames (no network diagram, chart, text or points). It runs
# in a real document of the server (its /healthz page, so a genuine loopback origin that may open the websocket and
# import the Socket.IO client), set up through Playwright's evaluate, which the page's CSP does not apply to.
BARE_SETUP = """async () => {
  const { io } = await import("/vendor/socket.io.esm.min.js");
  const { decodeFrame } = await import("/static/js/frames.js");     // the compact frames, as the page decodes them
  document.body.replaceChildren();
  const SHADES = [];
  const stops = [[245, 147, 34], [232, 234, 235], [8, 119, 189]];
  for (let k = 0; k < 31; k++) {
    const t = k / 30, [a, b, f] = t < 0.5 ? [stops[0], stops[1], t * 2] : [stops[1], stops[2], t * 2 - 1];
    SHADES.push(a.map((c, i) => Math.round(c + (b[i] - c) * f)));
  }
  const lut = new Uint32Array(256);
  for (let q = 0; q < 256; q++) {
    const [r, g, b] = q === 255 ? [180, 180, 180] : SHADES[Math.min(q >> 3, 30)];
    lut[q] = ((160 << 24) | (b << 16) | (g << 8) | r) >>> 0;
  }
  function painter(cssSize, size) {
    const canvas = document.createElement("canvas");
    canvas.width = size; canvas.height = size;
    canvas.style.width = cssSize + "px"; canvas.style.height = cssSize + "px";
    document.body.append(canvas);
    const context = canvas.getContext("2d"), image = context.createImageData(size, size);
    const pixels = new Uint32Array(image.data.buffer);
    return (bytes, offset) => {
      for (let i = 0; i < size * size; i++) pixels[i] = lut[bytes[offset + i]];
      context.putImageData(image, 0, 0);
    };
  }
  const paintMap = painter(260, 100);
  const thumbs = Array.from({ length: 6 }, () => painter(30, 10));
  const bare = window.__bare = { framesDrawn: 0, connected: false };
  let pending = null, acks = [], scheduled = false;
  const socket = io();
  bare.transport = () => socket.io.engine.transport.name;
  bare.play = () => socket.emit("start_training");
  socket.on("connect", () => { bare.connected = true; });
  function draw() {
    scheduled = false;
    const frame = pending, done = acks;
    pending = null; acks = [];
    try {
      if (frame) {
        paintMap(new Uint8Array(frame.heatmap), 0);
        const t = new Uint8Array(frame.thumbnails);
        thumbs.forEach((paint, i) => { if ((i + 1) * 100 <= t.length) paint(t, i * 100); });
        bare.framesDrawn++;
      }
    } finally { done.forEach((ack) => ack()); }
  }
  socket.on("map_update", (payload, ack) => decodeFrame(payload).then((frame) => {
    pending = frame;
    if (ack) acks.push(ack);
    if (!scheduled) { scheduled = true; requestAnimationFrame(draw); }
  }));
}"""


def chromium_processes() -> list[psutil.Process]:
    """The browser and all its children: every Chromium process started under this script."""
    found = []
    for process in psutil.Process().children(recursive=True):
        try:
            if "chrom" in process.name().lower():
                found.append(process)
        except psutil.NoSuchProcess:
            pass
    return found


def cpu_seconds(processes) -> dict[int, float]:
    times = {}
    for process in processes:
        try:
            t = process.cpu_times()
            times[process.pid] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return times


def measure(page, count_frames: str, seconds: float, server: LiveServer) -> dict:
    """Frames drawn and CPU over `seconds` of training (after a short warm-up)."""
    page.wait_for_timeout(2000)
    server_process = psutil.Process(server_pid(server))
    before_cpu = cpu_seconds(chromium_processes())
    before_server = server_process.cpu_times()
    before_frames = page.evaluate(count_frames)
    started = time.monotonic()
    time.sleep(seconds)
    after_frames = page.evaluate(count_frames)
    wall = time.monotonic() - started
    after_cpu = cpu_seconds(chromium_processes())
    after_server = server_process.cpu_times()
    browser_cpu = sum(after - before_cpu.get(pid, 0.0) for pid, after in after_cpu.items())
    server_cpu = (after_server.user + after_server.system) - (before_server.user + before_server.system)
    return {
        "frames_per_second": round((after_frames - before_frames) / wall, 1),
        "chromium_cpu_percent_of_one_core": round(100 * browser_cpu / wall, 1),
        "server_cpu_percent_of_one_core": round(100 * server_cpu / wall, 1),
        "chromium_processes": len(after_cpu),
        "seconds": round(wall, 1),
    }


def run_page(browser, server: LiveServer, seconds: float) -> dict:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        page.wait_for_function(READY, timeout=30000)
        page.click("#play-pause-button")
        result = measure(page, "() => window.__playgroundStats.framesDrawn", seconds, server)
        result["epoch_at_end"] = page.locator("#iter-number").text_content()
        return result
    finally:
        context.close()


def run_bare(browser, server: LiveServer, seconds: float) -> dict:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(server.url + "/healthz")
        page.evaluate(BARE_SETUP)
        page.wait_for_function("() => window.__bare.connected && window.__bare.framesDrawn > 0", timeout=30000)
        page.evaluate("() => window.__bare.play()")
        result = measure(page, "() => window.__bare.framesDrawn", seconds, server)
        result["transport"] = page.evaluate("() => window.__bare.transport()")
        return result
    finally:
        context.close()


def screenshot(browser, server: LiveServer, path: Path, training_seconds: float = 5.0) -> None:
    """The default config after a few seconds of training, at 1280×900."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        page.wait_for_function(READY, timeout=30000)
        page.click("#play-pause-button")
        page.wait_for_timeout(training_seconds * 1000)
        page.mouse.move(1, 1)
        page.screenshot(path=str(path))
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring time per page (default 20)")
    parser.add_argument("--screenshot", type=Path, help="also save a 1280×900 screenshot after 5 s of training")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium)")
    server = LiveServer()
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                if args.screenshot:
                    screenshot(browser, server, args.screenshot)
                page = run_page(browser, server, args.seconds)
                bare = run_bare(browser, server, args.seconds)
            finally:
                browser.close()
    finally:
        server.stop()
    print(
        json.dumps(
            {
                "page": page,
                "bare": bare,
                "targets": {"chromium_cpu_percent_of_one_core": 35, "frames_per_second": 25},
                "page_meets_targets": page["chromium_cpu_percent_of_one_core"] <= 35
                and page["frames_per_second"] >= 25,
                "machine": {"cores": psutil.cpu_count(), "chromium": CHROMIUM},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
