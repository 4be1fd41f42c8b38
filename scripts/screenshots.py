"""Screenshots of every dashboard page, for the README (``docs/screenshots/*.png``).

Signs in through the form with headless Chromium (Debian's ``chromium`` + ``chromium-driver``)
and saves one PNG per page. Run it against a stack with demo data (``make run`` prints the URL,
user and password)::

    .venv/bin/python scripts/screenshots.py --url http://127.0.0.1:8050 \\
        --user storepulse --password '...' [--start 2026-09-01 --end 2026-11-26]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

PAGES = ("", "sales", "customers", "inventory", "alerts", "reports", "digests")
# Extra URL parameters per page: the Sales page is shown comparing with the previous period.
EXTRA_QUERY = {"sales": "compare=previous_period"}
ROOT = Path(__file__).resolve().parents[1]


def browser(width: int = 1400, height: int = 1000) -> webdriver.Chrome:
    """Headless Chromium at a fixed window size."""
    options = webdriver.ChromeOptions()
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--hide-scrollbars",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(options=options)


def sign_in(driver: webdriver.Chrome, url: str, user: str, password: str) -> None:
    driver.get(f"{url}/login")
    driver.find_element(By.ID, "login-username").send_keys(user)
    driver.find_element(By.ID, "login-password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, 20).until(ec.presence_of_element_located((By.ID, "shell-sign-out")))


def settle(driver: webdriver.Chrome, timeout: float = 20) -> None:
    """Wait until Dash has no request in flight and the page content is drawn."""
    deadline = time.monotonic() + timeout
    time.sleep(0.5)
    while time.monotonic() < deadline:
        busy = driver.execute_script(
            "return !!document.querySelector('[data-dash-is-loading=\"true\"]') "
            "|| !document.querySelector('#_pages_content > *');"
        )
        if not busy:
            break
        time.sleep(0.2)
    time.sleep(1.0)  # Plotly and AG Grid animate their first draw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8050")
    parser.add_argument("--user", default="storepulse")
    parser.add_argument("--password", required=True)
    parser.add_argument("--start")
    parser.add_argument("--end")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    query = f"?start={args.start}&end={args.end}" if args.start and args.end else ""
    driver = browser()
    try:
        driver.get(f"{args.url}/login")
        driver.save_screenshot(str(args.out / "signin.png"))
        sign_in(driver, args.url, args.user, args.password)
        for page in PAGES:
            extra = EXTRA_QUERY.get(page, "")
            page_query = f"{query}&{extra}" if query and extra else query or (f"?{extra}" if extra else "")
            driver.get(f"{args.url}/{page}{page_query}")
            settle(driver)
            # The window is taller than the page it shows by the browser's own frame
            height, frame = driver.execute_script(
                "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]"
            )
            driver.set_window_size(1400, max(900, min(int(height) + int(frame) + 24, 2600)))
            settle(driver, 5)
            target = args.out / f"{page or 'overview'}.png"
            driver.save_screenshot(str(target))
            print(f"saved {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
            driver.set_window_size(1400, 1000)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
