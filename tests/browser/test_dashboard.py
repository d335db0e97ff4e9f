"""The admin dashboard in a real browser, at 1,280 px: reached from the admin index, every
chart a decoded image with real content, on an empty database and on one with data."""

from __future__ import annotations

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from tests.recommender.conftest import trained_mood_model  # noqa: F401 - a fixture
from tests.recommender.test_dashboard import (
    CHART_COUNT,
    DASHBOARD,
    EMPTY_DATABASE_CHARTS,
    build_dashboard_data,
    register_evaluated_model,
)


def open_dashboard_from_the_index(admin_browser) -> None:
    admin_browser.open("/admin/")
    link = admin_browser.driver.find_element(By.LINK_TEXT, "Dashboard")
    assert link.get_attribute("href").endswith(DASHBOARD)
    # The link's target answers 200 (a browser cannot tell a 500 page from any other).
    admin_browser.open(DASHBOARD)
    assert admin_browser.driver.find_element(By.CSS_SELECTOR, "#content h1").text == "Dashboard"


def assert_fits_the_window(admin_browser) -> None:
    overflow = admin_browser.driver.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth;"
    )
    assert overflow <= 0, f"the dashboard is {overflow} px wider than the window"


def chart_alts(admin_browser) -> list[str]:
    charts = admin_browser.assert_charts(at_least=CHART_COUNT)
    return [chart.get_attribute("alt") for chart in charts]


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_on_an_empty_database(admin_browser):
    open_dashboard_from_the_index(admin_browser)

    assert chart_alts(admin_browser) == EMPTY_DATABASE_CHARTS
    assert_fits_the_window(admin_browser)


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_with_data(admin_browser, trained_mood_model):  # noqa: F811
    version = register_evaluated_model(trained_mood_model)
    build_dashboard_data(version=version, now=timezone.now())

    open_dashboard_from_the_index(admin_browser)

    alts = chart_alts(admin_browser)
    assert len(alts) == CHART_COUNT
    assert not set(alts) & set(EMPTY_DATABASE_CHARTS), alts
    assert_fits_the_window(admin_browser)
    # The pages the dashboard links to answer too.
    for link in admin_browser.driver.find_elements(By.CSS_SELECTOR, "#content-main a[href]"):
        href = link.get_attribute("href").removeprefix(admin_browser.base_url)
        assert admin_browser.status_of(href) == 200, href
