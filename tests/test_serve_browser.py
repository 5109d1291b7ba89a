"""The screening service in a real browser: Debian's Chromium driven by Playwright (no browser download).

A real uvicorn server runs on 127.0.0.1 in a thread; every request of the browser to another address is
refused (and fails the test), so the pages must work without internet.  The test logs in, uploads a land-boundary TXT, reads
the verdict (compared with the library's own screening of the file), opens a popup on the result map,
downloads the screening sheet (HTML and PDF) and keeps screenshots in ``tests/artifacts/``.  Any
Content-Security-Policy violation or script error on the way fails it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
import warnings

import pytest
from conftest import REPO, SAMPLE_CATALOG

playwright_api = pytest.importorskip("playwright.sync_api")

TXT = REPO / "tests" / "data" / "boundary_txt" / "xian80_arcpy_short_layout_utf8bom.txt"
ARTIFACTS = REPO / "tests" / "artifacts"
PASSWORD = "browser-test-pass"


def _chromium() -> str:
    given = os.environ.get("SANXIAN_CHROMIUM")
    found = shutil.which(given) if given else (shutil.which("chromium") or shutil.which("chromium-browser"))
    if not found:
        pytest.fail("headless Chromium is required: apt-get install -y chromium (scripts/setup_tests.sh), "
                    "or set SANXIAN_CHROMIUM")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    import uvicorn

    from sanxian_yidan.serve import create_app
    from sanxian_yidan.serve.users import add_user

    tmp = tmp_path_factory.mktemp("serve_browser")
    users = add_user(tmp / "users.toml", "planner", PASSWORD)
    app = create_app(SAMPLE_CATALOG, db=tmp / "serve.sqlite", users=users, warm=False)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(30)


@pytest.fixture(scope="module")
def expected():
    import sanxian_yidan as sx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sx.screen(sx.read_vector(TXT), sx.Catalog.load(SAMPLE_CATALOG), industry="C2614").to_records()


def test_login_upload_verdict_popup_and_sheet(server, expected, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900},
                                      locale="zh-CN")
        outside: list[str] = []

        def offline(route):                          # no internet: anything but the server is refused
            if route.request.url.startswith(server):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", offline)
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))

        page.goto(server + "/")
        assert page.url.endswith("/login")
        page.fill("input[name=username]", "planner")
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(server + "/")
        page.wait_for_function("document.querySelectorAll('#draw-map path').length > 0")  # outlines drawn
        page.wait_for_timeout(1000)                                   # let the view settle for the screenshot
        page.screenshot(path=str(ARTIFACTS / "serve_new_screening.png"), full_page=True)

        page.set_input_files("#file", str(TXT))
        page.fill("#upload-form input[name=industry]", "C2614")
        page.click("#upload-form button[type=submit]")
        page.wait_for_url("**/screenings/*", timeout=120_000)
        verdict = page.inner_text("#verdict")
        assert verdict.split()[0] == expected[0]["verdict_zh"]
        for finding in (f for f in expected[0]["findings"] if f["kind"] == "finding"):
            assert finding["rule_id"] in page.inner_text("table.findings")

        frame = page.frame_locator("#result-map")
        footprint = frame.locator(".leaflet-overlay-pane path.leaflet-interactive").first
        footprint.wait_for(state="attached", timeout=120_000)
        page.wait_for_timeout(1000)                                   # let the view settle
        page.locator("#result-map").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "serve_result_map.png"), full_page=False)
        _assert_opens_on_the_project(page, frame, expected[0])
        footprint.dispatch_event("click")
        popup = frame.locator(".leaflet-popup-content")
        popup.wait_for(timeout=30_000)
        assert expected[0]["id"] in popup.inner_text()
        page.wait_for_timeout(500)                                    # the map pans the popup into view
        _assert_popup_inside_the_frame(page, frame)
        page.screenshot(path=str(ARTIFACTS / "serve_result.png"), full_page=False)

        with page.expect_download(timeout=120_000) as html_download:
            page.click("a.sheet-html")
        sheet = tmp_path / "sheet.html"
        html_download.value.save_as(sheet)
        text = sheet.read_text(encoding="utf-8")
        assert expected[0]["verdict_zh"] in text or "禁止" in text
        with page.expect_download(timeout=180_000) as pdf_download:
            page.click("a.sheet-pdf")
        pdf = tmp_path / "sheet.pdf"
        pdf_download.value.save_as(pdf)
        assert pdf.read_bytes()[:5] == b"%PDF-"
        shutil.copy(pdf, ARTIFACTS / "serve_sheet.pdf")
        browser.close()
    assert not problems, f"browser errors (CSP violations or scripts): {problems}"
    assert not outside, f"pages asked for the network: {outside}"


def _assert_popup_inside_the_frame(page, frame) -> None:
    """The whole popup shows inside the result-map frame, and its tip points into the clicked footprint's
    box (the click carries no position, which Leaflet would anchor at the frame's corner)."""
    outer = page.locator("#result-map").bounding_box()
    box = frame.locator(".leaflet-popup").bounding_box()
    assert outer is not None and box is not None
    assert box["x"] >= outer["x"] and box["y"] >= outer["y"], (box, outer)
    assert box["x"] + box["width"] <= outer["x"] + outer["width"], (box, outer)
    assert box["y"] + box["height"] <= outer["y"] + outer["height"], (box, outer)
    tip = frame.locator(".leaflet-popup-tip-container").bounding_box()
    footprint = frame.locator(".leaflet-overlay-pane path.leaflet-interactive").first.bounding_box()
    assert tip is not None and footprint is not None
    centre_x = tip["x"] + tip["width"] / 2
    assert footprint["x"] - 1 <= centre_x <= footprint["x"] + footprint["width"] + 1, (tip, footprint)
    assert footprint["y"] - 1 <= tip["y"] + tip["height"] <= footprint["y"] + footprint["height"] + 1, (tip, footprint)


def _map_frame(page):
    return next(f for f in page.frames if f.url.endswith("/map"))


def _assert_opens_on_the_project(page, frame, record) -> None:
    """The result map opens on the screened parcel, not on the county: the footprint, in its verdict colour,
    lies inside the map and is tens of pixels wide (a ~1 ha parcel is narrower than the map view at any zoom up
    to the cap, so the cap ``result_max_zoom`` decides the zoom); its id is written beside it, and below
    ``marker_max_zoom`` the verdict-coloured marker disc carries that id."""
    from sanxian_yidan.maps import load_map_settings
    from sanxian_yidan.maps.styles import verdict_colours

    settings, colour = load_map_settings(), verdict_colours()[record["verdict"]]
    inner = _map_frame(page)
    zoom = "(() => { const k = Object.keys(window).find(n => /^map_[0-9a-f]+$/.test(n)); return window[k].getZoom(); })()"
    assert inner.evaluate(zoom) == settings.result_max_zoom
    view = frame.locator(".leaflet-container").bounding_box()
    footprint = frame.locator(f".leaflet-overlay-pane path.leaflet-interactive[fill='{colour}']:not([aria-describedby])")
    assert footprint.count() == 1
    box = footprint.bounding_box()
    assert view["x"] <= box["x"] and box["x"] + box["width"] <= view["x"] + view["width"]
    assert view["y"] <= box["y"] and box["y"] + box["height"] <= view["y"] + view["height"]
    assert box["width"] >= 20 and box["height"] >= 20, box            # a parcel, not a speck
    label = frame.locator(".leaflet-tooltip.sx-marker-label")
    assert label.count() == 1 and label.inner_text().strip() == record["id"]
    marker = frame.locator(f".leaflet-sxMarkers-pane path[aria-describedby='{label.get_attribute('id')}']")
    assert marker.count() == 1 and marker.get_attribute("fill") == colour   # above the layers, in its own pane
    # zoomed out to county level the disc shows again, in the verdict colour, with the id
    inner.evaluate("(() => { const k = Object.keys(window).find(n => /^map_[0-9a-f]+$/.test(n)); "
                   f"window[k].setZoom({settings.marker_max_zoom - 3}, {{animate: false}}); }})()")
    page.wait_for_timeout(500)
    assert float(marker.get_attribute("fill-opacity")) == 1.0
    assert label.inner_text().strip() == record["id"]
    page.screenshot(path=str(ARTIFACTS / "serve_result_map_zoomed_out.png"), full_page=False)
    inner.evaluate("(() => { const k = Object.keys(window).find(n => /^map_[0-9a-f]+$/.test(n)); "
                   f"window[k].setZoom({settings.result_max_zoom}, {{animate: false}}); }})()")
    page.wait_for_timeout(500)
    page.evaluate("window.scrollTo(0, 0)")   # back where the test found the page (the downloads are clicked next)


def _browser(pw):
    return pw.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])


def _login(page, server: str) -> None:
    page.goto(server + "/login")
    page.fill("input[name=username]", "planner")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(server + "/")


def test_draw_a_polygon_on_the_offline_map_and_screen_it(server):
    problems: list[str] = []
    with playwright_api.sync_playwright() as pw:
        browser = _browser(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.on("pageerror", lambda e: problems.append(str(e)))
        _login(page, server)
        page.wait_for_function("document.querySelectorAll('#draw-map path').length > 0")
        box = page.locator("#draw-map").bounding_box()
        page.click("[data-draw=Polygon]")
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        for dx, dy in ((0, 0), (40, 0), (40, 30), (0, 30)):
            page.mouse.click(cx + dx, cy + dy)
        page.click("[data-action=finish]")
        drawn = page.input_value("#draw-geojson")
        shape = json.loads(drawn)["features"][0]["geometry"]
        assert shape["type"] == "Polygon" and len(shape["coordinates"][0]) == 5     # 4 clicks + closing vertex
        page.select_option("#draw-form select[name=project_type]", "pv")
        page.click("#draw-form button[type=submit]")
        page.wait_for_url("**/screenings/*", timeout=120_000)
        assert page.inner_text("#verdict").strip()
        browser.close()
    assert not problems, problems


def test_text_from_an_upload_is_shown_as_text_in_the_map_popup(server):
    evil = "<img src=x onerror=alert(2)><script>alert(1)</script>"
    with playwright_api.sync_playwright() as pw:
        browser = _browser(pw)
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        _login(page, server)
        token = page.evaluate("document.querySelector('input[name=csrf]').value")
        body = {"geojson": {"type": "Feature", "properties": {"id": "X1", "name": evil},
                            "geometry": {"type": "Point", "coordinates": [113.3745, 31.688]}}, "industry": "C2614"}
        response = page.request.post(server + "/api/screen", data=json.dumps(body),
                                     headers={"content-type": "application/json", "x-csrf-token": token})
        assert response.status == 200, response.text()
        key = response.json()["id"]
        page.goto(f"{server}/screenings/{key}/map")
        footprint = page.locator(".leaflet-overlay-pane path.leaflet-interactive").first
        footprint.wait_for(state="attached", timeout=120_000)
        footprint.dispatch_event("click")
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=30_000)
        assert evil in popup.inner_text()                       # shown literally, not run
        page.goto(f"{server}/screenings/{key}")
        assert evil in page.inner_text("main")
        browser.close()
    assert not dialogs, f"text from the upload ran as script: {dialogs}"
