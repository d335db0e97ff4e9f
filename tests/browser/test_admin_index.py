"""The browser set-up itself: a staff member logs in and the admin index renders."""

from __future__ import annotations

from selenium.webdriver.common.by import By


def test_staff_log_in_and_see_the_admin_index(admin_browser) -> None:
    admin_browser.open("/admin/")
    heading = admin_browser.driver.find_element(By.CSS_SELECTOR, "#site-name, h1")
    assert heading.text
    assert "Log in" not in admin_browser.driver.title
