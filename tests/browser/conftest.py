"""Admin pages in a real headless browser: Debian's Chromium driven by Selenium.

The browser and its driver come from Debian's packages (``chromium``, ``chromium-driver``;
``.ci/run`` installs them when missing). Both paths are given to Selenium, so Selenium
Manager never looks for, or downloads, a browser. Without them the tests skip on a
developer's machine and fail where services are required (CI).

``admin_browser`` logs a staff superuser in through the admin's login form on pytest-django's
``live_server`` and returns an ``AdminBrowser``: ``open(path)`` loads a page after checking
its HTTP status with the same session, and ``assert_charts()`` checks that every chart on
the page is a decoded image with real content.
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import missing_service
from tests.factories import StaffFactory

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ADMIN_PASSWORD = "browser-test-password"

# Counts the distinct colours of an image drawn on a canvas (every 4th pixel each way): a
# blank or single-colour image has one or two, a chart with axes, text and data has dozens.
DISTINCT_COLOURS_JS = """
const image = arguments[0];
const canvas = document.createElement("canvas");
canvas.width = image.naturalWidth;
canvas.height = image.naturalHeight;
const context = canvas.getContext("2d");
context.drawImage(image, 0, 0);
const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
const colours = new Set();
for (let y = 0; y < canvas.height; y += 4) {
  for (let x = 0; x < canvas.width; x += 4) {
    const i = (y * canvas.width + x) * 4;
    colours.add(pixels[i] * 65536 + pixels[i + 1] * 256 + pixels[i + 2]);
  }
}
return colours.size;
"""


@dataclass
class AdminBrowser:
    driver: object
    base_url: str

    def status_of(self, path: str) -> int:
        """The HTTP status of ``path`` for the logged-in session (a browser does not expose it)."""
        session = self.driver.get_cookie("sessionid")
        request = urllib.request.Request(
            self.base_url + path, headers={"Cookie": f"sessionid={session['value']}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def open(self, path: str) -> None:
        status = self.status_of(path)
        assert status == 200, f"{path} answered {status}"
        self.driver.get(self.base_url + path)

    def assert_charts(self, *, at_least: int = 1, min_width: int = 200) -> list:
        from selenium.webdriver.common.by import By

        charts = self.driver.find_elements(By.CSS_SELECTOR, "img.chart")
        assert len(charts) >= at_least, f"{len(charts)} charts on {self.driver.current_url}"
        for chart in charts:
            alt = chart.get_attribute("alt")
            assert alt, "a chart without alt text"
            loaded = self.driver.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth;", chart
            )
            assert loaded and loaded >= min_width, f"chart {alt!r} did not load ({loaded})"
            colours = self.driver.execute_script(DISTINCT_COLOURS_JS, chart)
            assert colours >= 8, f"chart {alt!r} is nearly blank ({colours} colours)"
        return charts


@pytest.fixture
def browser() -> Iterator[object]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        missing_service(
            "the browser tests need Debian's chromium and chromium-driver "
            "(apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",  # the width the admin's lists must fit
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def admin_browser(browser, live_server) -> AdminBrowser:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    staff = StaffFactory(is_superuser=True)
    staff.set_password(ADMIN_PASSWORD)
    staff.save()
    browser.get(live_server.url + "/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys(staff.username)
    browser.find_element(By.NAME, "password").send_keys(ADMIN_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    # click() returns before the login response arrives: wait for its session cookie.
    try:
        WebDriverWait(browser, 30).until(lambda driver: driver.get_cookie("sessionid"))
    except TimeoutException:
        pytest.fail("the admin login did not succeed", pytrace=False)
    return AdminBrowser(driver=browser, base_url=live_server.url)
