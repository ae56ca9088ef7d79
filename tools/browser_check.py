"""The admin checked in a real browser: .venv/bin/python tools/browser_check.py

Starts the app itself as in production (gunicorn, DEBUG off, WhiteNoise serving the static files) on a free loopback
port over a throwaway SQLite file migrated and filled by seed_demo (90 days of history). In headless Chromium driven
by Selenium (chromium-driver), in a 1400 px wide window, it signs in to /admin/ as the demo store's owner and opens
the dashboard, a product's page and an order's page (where an order placed meanwhile must show as a live notice,
through the live stream served by uvicorn beside gunicorn, as `make run` serves it), then as the platform admin
another store's dashboard over 90 days (the store switcher). It fails on any browser console error, any static file
the server did not serve (a 4xx under /static/) and any 5xx; the dashboards must draw their charts; the product page
must fit the window (the document and its variants table scroll no sideways) and its options' rows must add and
remove (in a variant added on the page too). Screenshots go to docs/screenshots/ (--screenshots DIR).

Chromium and its driver come from the OS packages: missing, they are installed with apt-get when it can (as root);
where no browser can be had the check is skipped with a message and exits 0, so CI passes on such a machine.
Takes 20-45 s once the browser is there.
"""

import argparse
import base64
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# payments/management/commands/seed_demo.py
OWNER, PLATFORM_ADMIN, PASSWORD = "owner@alpha.demo", "admin@demo.store", "demo-pass-2026"
PACKAGES = ["chromium", "chromium-driver"]
CHROMIUM_NAMES = ["chromium", "chromium-browser", "google-chrome"]
DRIVER_NAMES = ["chromedriver"]
WIDTH = 1400  # the admin must fit a 1400 px wide screen (no sideways scrolling), pages are checked at it
FIND_PAGES = """
from django.db.models import Count
from catalog.models import Product
from orders.models import Order
product = Product.objects.filter(store__slug="alpha", status="published", images__isnull=False).annotate(
    count=Count("variants")).order_by("-count", "pk").first()
order = Order.objects.filter(store__slug="alpha", status="processing").order_by("-created_at", "-pk").first()
print("PAGES", product.pk, order.pk)
"""
# A guest's order in the demo store, placed from another process while the admin's order page is open: its
# live notice must show there (live/static/live/admin-live.js, through uvicorn's stream).
PLACE_ORDER = """
from django.db import transaction
from catalog.models import Variant
from orders import services
from orders.models import ShippingMethod
from stores.models import Store
store = Store.objects.get(slug="alpha")
variant = Variant.objects.filter(store=store, product__status="published").order_by("-stock_quantity", "pk")[0]
with transaction.atomic():
    cart = services.cart_create(store=store)
    services.cart_item_add(cart=cart, variant_id=variant.pk, quantity=1)
    order = services.order_place(store=store, cart=cart, email="live@example.com", customer_name="Live Check",
                                 shipping_address={"line1": "1 Main St", "city": "Tripoli", "country": "LY"},
                                 payment_method="cod", shipping_method_id=ShippingMethod.objects.filter(
                                     store=store, is_active=True).values_list("pk", flat=True).first())
print("ORDER", order.number)
"""
# The page is no wider than the window, and the variants table no wider than its box (which would scroll it).
FITS = """
const page = document.documentElement, box = document.querySelector("#variants-group .formset-wrapper");
return {page: page.scrollWidth, window: window.innerWidth, table: box ? box.scrollWidth : 0,
        box: box ? box.clientWidth : 0};
"""
# The options of the first variant: "Add" gives a row to fill, its cross takes it away again; a variant added with
# "Add another Variant" gets rows named after its own index.
ROWS = """
const rows = document.querySelector("#variants-group tbody.original .key-value-rows");
const before = rows.children.length;
rows.parentElement.querySelector(".key-value-add").click();
const added = rows.children.length, blank = rows.lastElementChild.querySelector("input").value === "";
rows.lastElementChild.querySelector(".key-value-remove").click();
const removed = rows.children.length;
document.querySelector("#variants-group .add-row").click();
const fresh = [...document.querySelectorAll("#variants-group tbody.template:not(.empty-form)")].pop();
fresh.querySelector(".key-value-add").click();
const names = [...fresh.querySelectorAll(".key-value-row input")].map(input => input.name);
return {before, added, blank, removed, names};
"""


class Skip(Exception):
    """No browser can be had here."""


def say(message: str) -> None:
    print(f"browser check: {message}", flush=True)


def find(names: list[str]) -> str | None:
    return next((path for path in map(shutil.which, names) if path), None)


def browser_find() -> tuple[str, str]:
    """Chromium and chromedriver, installed from the OS packages when missing and this process may."""
    chromium, driver = find(CHROMIUM_NAMES), find(DRIVER_NAMES)
    if chromium and driver:
        return chromium, driver
    apt = shutil.which("apt-get")
    if not apt or os.geteuid() != 0:
        raise Skip(f"no Chromium and chromedriver here, and apt-get cannot install {' '.join(PACKAGES)} "
                   "(needs Debian/Ubuntu and root)")
    say(f"installing {' '.join(PACKAGES)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]
    try:
        if subprocess.run(install, env=env, capture_output=True, timeout=600).returncode != 0:
            subprocess.run([apt, "update", "-qq"], env=env, capture_output=True, timeout=300)
            result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600)
            if result.returncode != 0:
                raise Skip(f"apt-get could not install {' '.join(PACKAGES)}: {result.stderr.strip()[-300:]}")
    except subprocess.TimeoutExpired as exc:
        raise Skip("apt-get took too long (no package mirror reachable?)") from exc
    chromium, driver = find(CHROMIUM_NAMES), find(DRIVER_NAMES)
    if not (chromium and driver):
        raise Skip("apt-get ran but Chromium or chromedriver is still missing")
    return chromium, driver


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(workdir: Path, port: int) -> dict[str, str]:
    """Production settings on loopback over plain HTTP, in a throwaway directory."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "AWS_STORAGE_BUCKET_NAME"}}
    env.update({
        "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}", "MEDIA_ROOT": str(workdir / "media"),
        "ALLOWED_HOSTS": "127.0.0.1", "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port}",
        "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0", "SECURE_HSTS_SECONDS": "0",
        "STRIPE_API_BASE": "http://127.0.0.1:9",  # seed_demo leaves Stripe out when nothing answers there
    })
    env["FIELD_ENCRYPTION_KEY"] = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def wait_until_up(url: str, server: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server stopped while starting")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the server did not answer {url} within {seconds:.0f} s")


def browser_open(chromium: str, driver_path: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={WIDTH},1000", "--hide-scrollbars", "--lang=en-US"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


class Check:
    def __init__(self, driver, base: str, screenshots: Path) -> None:
        self.driver, self.base, self.screenshots = driver, base, screenshots
        self.problems: list[str] = []
        self.pages: list[str] = []

    def console_errors(self, page: str) -> None:
        for entry in self.driver.get_log("browser"):
            if entry["level"] in ("SEVERE", "ERROR"):
                self.problems.append(f"{page}: console error: {entry['message']}")

    def open(self, page: str, path: str, *, ready: str) -> None:
        """Opens ``path``, waits until the JavaScript expression ``ready`` holds, checks the console, saves a
        full-page screenshot as <page>.png."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver.get(self.base + path)
        try:
            WebDriverWait(self.driver, 15).until(lambda driver: driver.execute_script(f"return Boolean({ready});"))
        except TimeoutException:
            self.problems.append(f"{page}: {path} never got ready ({ready}); at {self.driver.current_url}")
        time.sleep(0.5)  # the charts' animation
        self.console_errors(page)
        height = self.driver.execute_script("return document.documentElement.scrollHeight;")
        self.driver.set_window_size(WIDTH, min(max(height, 800), 4000))
        self.screenshots.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(self.screenshots / f"{page}.png"))
        self.driver.set_window_size(WIDTH, 1000)
        self.pages.append(page)
        say(f"{page}: {path} ({self.driver.title})")
        self.fits(page)

    def fits(self, page: str) -> None:
        """The open page at WIDTH: no sideways scrolling of the page, nor of a variants table on it."""
        sizes = self.driver.execute_script(FITS)
        if sizes["page"] > sizes["window"]:
            self.problems.append(f"{page}: {sizes['page']} px wide in a {sizes['window']} px window")
        if sizes["table"] > sizes["box"]:
            self.problems.append(f"{page}: the variants table is {sizes['table']} px wide in {sizes['box']} px")
        say(f"{page}: {sizes['page']} px wide in a {sizes['window']} px window"
            + (f", its variants table {sizes['table']} px in {sizes['box']} px" if sizes["box"] else ""))

    def key_value_rows(self, page: str) -> None:
        """The options' rows are added and removed in the browser, in a new variant too."""
        rows = self.driver.execute_script(ROWS)
        fine = (rows["added"] == rows["before"] + 1 and rows["blank"] and rows["removed"] == rows["before"]
                and rows["names"] and all(re.fullmatch(r"variants-\d+-options_(key|value)", name)
                                          for name in rows["names"]))
        if not fine:
            self.problems.append(f"{page}: the options' rows did not add or remove as expected: {rows}")
        self.console_errors(page)

    def live_notice(self, page: str, env: dict[str, str]) -> None:
        """An order placed meanwhile shows as a notice on the open admin page, linking to the order."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        wait = WebDriverWait(self.driver, 20)
        try:
            wait.until(lambda driver: driver.execute_script(
                "return document.documentElement.dataset.liveStream === 'open';"))
        except TimeoutException:
            self.problems.append(f"{page}: the admin's live stream never opened")
            return
        found = [line.split() for line in manage(env, "shell", "-c", PLACE_ORDER).splitlines()]
        number = next(words for words in found if words[:1] == ["ORDER"])[1]
        notice = f"[...document.querySelectorAll('#live-notices .live-notice')].find(note => " \
                 f"note.textContent.includes('#{number}'))"
        try:
            wait.until(lambda driver: driver.execute_script(f"return Boolean({notice});"))
        except TimeoutException:
            self.problems.append(f"{page}: no live notice of the new order {number}")
            return
        href = self.driver.execute_script(f"return {notice}.getAttribute('href');")
        if not re.fullmatch(r"/admin/orders/order/\d+/change/", href or ""):
            self.problems.append(f"{page}: the live notice links to {href!r}, not the order's admin page")
        self.console_errors(page)
        say(f"{page}: the new order {number} showed as a live notice")

    def login(self, email: str) -> None:
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver.delete_all_cookies()
        self.driver.get(f"{self.base}/admin/login/?next=/admin/")
        self.console_errors("login")
        self.driver.find_element(By.NAME, "username").send_keys(email)
        self.driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        self.driver.find_element(By.NAME, "password").submit()
        try:
            WebDriverWait(self.driver, 15).until(lambda driver: "/admin/login/" not in driver.current_url)
        except TimeoutException:
            errors = self.driver.find_elements(By.CSS_SELECTOR, ".errornote, .errorlist")
            raise RuntimeError(f"signing in as {email} failed: "
                               + " ".join(error.text for error in errors)) from None


def server_problems(log: Path) -> list[str]:
    """Requests the server answered with a 4xx under /static/ or with a 5xx anywhere (gunicorn's access log:
    '"GET /static/x.js HTTP/1.1" 404')."""
    problems = []
    for line in log.read_text(errors="replace").splitlines():
        parts = line.split('"')
        if len(parts) < 3 or not parts[2].split():
            continue
        request, status = parts[1].split(), parts[2].split()[0]
        path = request[1] if len(request) > 1 else ""
        if status.isdigit() and (int(status) >= 500 or (path.startswith("/static/") and int(status) >= 400)):
            problems.append(f"server answered {status} to {parts[1]}")
    return problems


def run(screenshots: Path) -> int:
    started = time.monotonic()
    try:
        import selenium  # noqa: F401 - requirements.txt pins it
    except ImportError as exc:
        raise Skip("the selenium package is missing (make install)") from exc
    chromium, driver_path = browser_find()
    with tempfile.TemporaryDirectory(prefix="browser-check-") as tmp:
        workdir, port, stream_port = Path(tmp), free_port(), free_port()
        env, base = app_env(workdir, port), f"http://127.0.0.1:{port}"
        # as `make run`: the live stream on uvicorn beside the WSGI server, which the admin's script opens
        env.update({"LIVE_STREAM_URL": f"http://127.0.0.1:{stream_port}/api/v1/stream", "CORS_ALLOWED_ORIGINS": base})
        say("migrating and seeding a throwaway SQLite database")
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        found = [line.split() for line in manage(env, "shell", "-c", FIND_PAGES).splitlines()]
        _, product_id, order_id = next(words for words in found if words[:1] == ["PAGES"])
        log = workdir / "access.log"
        server = subprocess.Popen(
            [str(Path(PYTHON).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--access-logfile", str(log), "--error-logfile", str(workdir / "error.log")],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stream = subprocess.Popen(
            [str(Path(PYTHON).parent / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port",
             str(stream_port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(workdir / "stream.log", "w"))  # noqa: SIM115
        driver = None
        try:
            wait_until_up(f"{base}/admin/login/", server)
            wait_until_up(f"http://127.0.0.1:{stream_port}/api/v1/stream?probe=1", stream)
            driver = browser_open(chromium, driver_path)
            check = Check(driver, base, screenshots)
            check.login(OWNER)
            charts = "document.querySelectorAll('canvas.chart').length >= 2 && window.Chart && " \
                     "[...document.querySelectorAll('canvas.chart')].every(canvas => Chart.getChart(canvas))"
            check.open("admin-dashboard", "/admin/", ready=f"document.getElementById('dashboard-figures') && {charts}")
            check.open("admin-product", f"/admin/catalog/product/{product_id}/change/",
                       ready="document.getElementById('product_form')")
            check.key_value_rows("admin-product")
            check.open("admin-order", f"/admin/orders/order/{order_id}/change/",
                       ready="document.getElementById('order_form')")
            check.live_notice("admin-order", env)
            # a platform superuser picks any store in the switcher
            check.login(PLATFORM_ADMIN)
            check.open("admin-dashboard-switcher", "/admin/?store=beta&period=90d",
                       ready=f"document.getElementById('store-switcher') && {charts}")
        finally:
            if driver is not None:
                driver.quit()
            for process in (server, stream):
                process.terminate()
                process.wait(timeout=30)
        served = server_problems(log)
    for problem in check.problems + served:
        print(f"  FAILED {problem}", flush=True)
    failed = {page for page in check.pages if any(problem.startswith(f"{page}:") for problem in check.problems)}
    say(f"screenshots in {screenshots}; {time.monotonic() - started:.0f} s")
    # one line per page, and the server's log as one more check
    print(f"browser: {len(check.pages) - len(failed) + (not served)} passed, {len(failed) + bool(served)} failed",
          flush=True)
    return 1 if check.problems or served else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshots", type=Path, default=ROOT / "docs" / "screenshots")
    arguments = parser.parse_args()
    try:
        return run(arguments.screenshots.resolve())
    except Skip as exc:
        say(f"SKIPPED: {exc}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
