"""The live status page in a real browser: headless Chromium driven by Selenium.

Rows appear and disappear as connections open and close, the table sorts and
filters, the close button closes that connection and says so, and the page
logs nothing to the console.  With ``SELREACTOR_SCREENSHOT=path`` set, the
test saves a screenshot of the page there (the one in the docs was taken so).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest

from protocols.echo import EchoHandler
from protocols.status import plugin as status_plugin
from reactor.embedding import ReactorThread
from tests.externals import needs, program

pytestmark = [
    needs("chromium", "chromium"),
    needs("chromedriver", "chromium-driver"),
    pytest.mark.slow,
    pytest.mark.timeout(120),
]

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is a test dependency")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver import Chrome as WebDriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

FLAGS = (
    "--headless",
    "--no-sandbox",  # the tests may run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1500,900",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    options = Options()
    options.binary_location = program("chromium", "chromium")
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=program("chromedriver", "chromium-driver"))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


def name(sock: socket.socket) -> str:
    return "{}:{}".format(*sock.getsockname())


def echo_rows(driver: WebDriver, echo_port: int) -> list[str]:
    """The peers of the echo listener's rows, in the table's order."""
    rows = []
    try:
        for tr in driver.find_elements(By.CSS_SELECTOR, "#connections tbody tr"):
            local = tr.find_element(By.CSS_SELECTOR, 'td[data-column="local"]').text
            if local == f"127.0.0.1:{echo_port}":
                rows.append(tr.get_attribute("data-peer") or "")
    except StaleElementReferenceException:  # the page redrew meanwhile: look again
        return echo_rows(driver, echo_port)
    return rows


def wait(driver: WebDriver, condition: Callable[[], object], what: str) -> object:
    """Until ``condition()`` is true, and what it returned; an element the page
    redrew meanwhile means look again."""
    return WebDriverWait(
        driver, 15, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
    ).until(lambda d: condition(), what)


def cell(driver: WebDriver, peer: str, column: str) -> str:
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-peer="{peer}"]')
    return str(row.find_element(By.CSS_SELECTOR, f'td[data-column="{column}"]').text)


def click(driver: WebDriver, selector: str) -> bool:
    driver.find_element(By.CSS_SELECTOR, selector).click()
    return True


def test_the_page_follows_the_table_live(browser: WebDriver) -> None:
    with ReactorThread() as rt, contextlib.ExitStack() as stack:
        reactor = rt.reactor
        echo = rt.call(reactor.listen, lambda peer: EchoHandler(), "127.0.0.1", 0)
        factory = status_plugin.make_factory(reactor, argparse.Namespace())
        status = rt.call(reactor.listen, factory, "127.0.0.1", 0)
        rt.call(setattr, echo, "plugin", "echo")  # as reactor serve names them
        rt.call(setattr, status, "plugin", "status")

        def connect(size: int) -> socket.socket:
            s = stack.enter_context(socket.create_connection(("127.0.0.1", echo.port), 10))
            s.sendall(b"e" * size)
            got = b""
            while len(got) < size:
                got += s.recv(65536)
            return s

        a, b, c = connect(300), connect(100), connect(200)
        browser.get(f"http://127.0.0.1:{status.port}/")
        peers = {name(a), name(b), name(c)}
        wait(browser, lambda: set(echo_rows(browser, echo.port)) == peers, "three rows")
        wait(browser, lambda: cell(browser, name(a), "plugin") == "echo", "the plugin named")

        d = connect(50)  # a row appears...
        gone = name(d)
        wait(browser, lambda: gone in echo_rows(browser, echo.port), "the new row")
        d.close()  # ...and goes
        wait(browser, lambda: gone not in echo_rows(browser, echo.port), "the row gone")

        wait(browser, lambda: click(browser, 'th[data-column="bytes_in"]'), "a sort")
        ascending = [name(b), name(c), name(a)]
        wait(browser, lambda: echo_rows(browser, echo.port) == ascending, "sorted ascending")
        wait(browser, lambda: click(browser, 'th[data-column="bytes_in"]'), "the other way")
        wait(browser, lambda: echo_rows(browser, echo.port) == ascending[::-1], "descending")

        screenshot = os.environ.get("SELREACTOR_SCREENSHOT")
        if screenshot:
            browser.save_screenshot(screenshot)

        field = browser.find_element(By.ID, "filter")
        field.send_keys(f":{b.getsockname()[1]}")
        wait(browser, lambda: echo_rows(browser, echo.port) == [name(b)], "filtered")
        assert "1 matching" in browser.find_element(By.ID, "range").text
        field.clear()
        field.send_keys(" ")  # clear() fires no input event; a blank filter is no filter
        wait(browser, lambda: len(echo_rows(browser, echo.port)) == 3, "unfiltered")

        closed = name(c)
        # read through wait: the live page may redraw the row between find and read
        conn_id = str(wait(browser, lambda: cell(browser, closed, "id"), "its id"))
        wait(browser, lambda: click(browser, f'tr[data-peer="{closed}"] button.close'), "close")
        message = browser.find_element(By.ID, "message")
        wait(browser, lambda: f"closed connection #{conn_id}" in message.text, "the report")
        assert closed in message.text
        c.settimeout(10)
        assert c.recv(10) == b""  # the peer saw the close
        wait(browser, lambda: closed not in echo_rows(browser, echo.port), "closed row gone")

        # selenium leaves get_log untyped; its entries are dicts with "level" and "message"
        get_log = cast("Callable[[str], list[dict[str, object]]]", browser.get_log)
        errors = [entry for entry in get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []
