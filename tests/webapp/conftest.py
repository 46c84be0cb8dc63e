"""The web app in a real browser: Debian's chromium driven by Playwright against a real `footfall up --demo`.

`footfall up --demo` runs as a subprocess on free ports with its own data directory (the demo's sample video
is the PETS 2009 clip from the shared test data, linked where the demo looks for it; the same folder is the
media root new cameras may stream from). The tests log in with the password it prints on its first start.

Screenshots of every page at desktop and phone sizes go to `$FOOTFALL_SCREENSHOTS` (default
`tests/webapp/screenshots/`, ignored by git) for a reviewer to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from footfall.services.core.embedded import free_port
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PETS_VIDEO = "pets2009_s2l1_480x360.avi"
START_TIMEOUT_S = 240


@dataclass
class Demo:
    url: str
    username: str
    password: str
    data_dir: Path
    output: list[str] = field(default_factory=list)

    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, username: str | None = None, password: str | None = None) -> str:
        """A bearer token, one login per user (logins are rate limited)."""
        key = username or self.username
        if key not in self.tokens:
            self.tokens[key] = self._login(username, password)
        return self.tokens[key]

    def _login(self, username: str | None, password: str | None) -> str:
        r = httpx.post(self.url + "admin/login", json={"username": username or self.username,
                                                       "password": password or self.password}, timeout=30)
        r.raise_for_status()
        return r.json()["access_token"]

    def graphql(self, query: str, variables: dict | None = None, *, token: str | None = None) -> dict:
        r = httpx.post(self.url + "graphql", json={"query": query, "variables": variables or {}},
                       headers={"Authorization": f"Bearer {token or self.token()}"}, timeout=30)
        return r.json()


def _processes_using(path: Path) -> list[int]:
    out = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    return [int(line.split(None, 1)[0]) for line in out.splitlines() if str(path) in line and " ps -ww " not in line]


@pytest.fixture(scope="package")
def demo(shared_data: Path) -> Iterator[Demo]:
    """`footfall up --demo` on free ports, for this folder's tests only (it streams video: stopped after them);
    its login read from what it printed."""
    # Not pytest's tmp_path: other pytest sessions of the same user prune its numbered folders while we run.
    with tempfile.TemporaryDirectory(prefix="footfall-webapp-") as tmp:
        yield from _demo(Path(tmp), shared_data)


def _demo(root: Path, shared_data: Path) -> Iterator[Demo]:
    video = shared_data / "video" / PETS_VIDEO
    assert video.is_file(), f"{video} is missing from the shared test data"
    data_dir = root / "data"
    (data_dir / "samples").mkdir(parents=True)
    (data_dir / "samples" / "vtest.avi").symlink_to(video)  # where the demo looks for its sample video
    http_port, grpc_port = free_port(), free_port()
    env = {**os.environ, "FOOTFALL_DATA_DIR": str(data_dir), "FOOTFALL_LOG_LEVEL": "WARNING",
           "FOOTFALL_MEDIA_ROOTS": f'["{video.parent}"]'}
    for name in ("FOOTFALL_DATABASE_URL", "FOOTFALL_NATS_URL", "FOOTFALL_ADMIN_PASSWORD", "FOOTFALL_CONFIG_FILE"):
        env.pop(name, None)
    footfall = Path(sys.executable).parent / "footfall"
    stderr = open(root / "stderr.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(footfall), "up", "--demo", "--port", str(http_port), "--grpc-port", str(grpc_port)],
                            env=env, stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True)
    output: list[str] = []
    printed = threading.Event()

    def read() -> None:  # drain stdout for the whole run; note when the password has been printed
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line.rstrip("\n"))
            if "password:" in line:
                printed.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{http_port}/"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert proc.poll() is None, (root / "stderr.log").read_text()[-3000:]
            try:
                if httpx.get(url + "health", timeout=2).status_code == 200 and printed.is_set():
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail("footfall up --demo did not become healthy and print its login: " + "\n".join(output))
        text = "\n".join(output)
        username = re.search(r"as '([^']+)'", text)
        password = re.search(r"password: (\S+)", text)
        assert username and password, text
        yield Demo(url, username.group(1), password.group(1), data_dir, output)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for pid in _processes_using(data_dir):  # never leave the embedded servers behind
            os.kill(pid, signal.SIGTERM)
        stderr.close()


def chromium_path() -> str:
    path = os.environ.get("FOOTFALL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(path).is_file(), "Debian's chromium is needed: apt-get install -y chromium (tests/run.sh does)"
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: while Playwright's sync API is open the thread counts as running an event loop, so the
    # asyncio tests of other modules could not start theirs.
    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where chromium's sandbox cannot start
        b = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    path = Path(os.environ.get("FOOTFALL_SCREENSHOTS") or Path(__file__).parent / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


class Console:
    """Errors the pages logged (console errors, failed loads, uncaught exceptions)."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._message)
        page.on("pageerror", lambda err: self.errors.append(f"uncaught: {err}"))

    def _message(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text} ({message.location.get('url', '')})")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) at desktop size; the test fails if any page logged an error."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(30_000)
    p = context.new_page()
    console = Console(p)
    yield p
    context.close()
    assert not console.errors, "the pages logged errors:\n" + "\n".join(console.errors)


_SESSIONS: dict[str, list] = {}  # username -> the cookies of its first login (logins are rate limited)


def log_in(page: Page, demo: Demo, username: str | None = None, password: str | None = None) -> None:
    """Through the login form the first time for each user; later with that session's cookies."""
    username = username or demo.username
    if username in _SESSIONS:
        page.context.add_cookies(_SESSIONS[username])
        page.goto(demo.url)
    else:
        page.goto(demo.url)
        page.fill("#email", username)
        page.fill("#password", password or demo.password)
        page.click("#login button[type=submit]")
    page.wait_for_selector("#nav:not([hidden])")
    _SESSIONS[username] = page.context.cookies()


def shoot(page: Page, screenshots: Path, name: str) -> None:
    """The page at desktop size and at a phone's width, full length."""
    size = page.viewport_size
    page.screenshot(path=str(screenshots / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")  # reflowed
    page.screenshot(path=str(screenshots / f"{name}-phone.png"), full_page=True)
    if size:
        page.set_viewport_size(size)
