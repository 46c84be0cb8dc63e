"""What a person who has never seen Footfall does first, in a real browser against `footfall up --demo`: log in
with the printed login, find the live count, set up a second camera by drawing its line, read the hourly
chart, open a journey. Also: a phone's width never scrolls sideways, an analyst cannot reach the admin page,
and no page logs an error (the `page` fixture fails the test otherwise).

The tests share one server and build on each other in file order (the second camera's counts feed the
history the later tests read)."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.webapp.conftest import PETS_VIDEO, PHONE, Console, Demo, log_in, shoot

# Detection on the shared CPU is slow: counts and journeys appear within minutes, not seconds.
SLOW_MS = 240_000
FRAME = (480, 360)  # the PETS clip's size: the line is drawn in these pixels


def counts_of(page: Page, selector: str) -> str:
    return page.locator(selector).inner_text()


def test_log_in_and_watch_the_demo_count_change(page: Page, demo: Demo, screenshots: Path) -> None:
    wrong = page.context.new_page()  # its refused login is a 401 the browser reports, so not on `page`
    wrong.goto(demo.url)
    assert wrong.locator("#login").is_visible() and not wrong.locator("#view").is_visible()
    wrong.fill("#email", demo.username)
    wrong.fill("#password", "not the password")
    wrong.click("#login button[type=submit]")
    assert "Invalid" in wrong.locator("#login-error:not(:empty)").inner_text()
    shoot(wrong, screenshots, "login")
    wrong.close()
    log_in(page, demo)
    tile = page.locator("#cam-DEMO")
    before = tile.locator(".io").inner_text()
    # the count moves on its own: subscriptions, no reload
    page.wait_for_function("(before) => document.querySelector('#cam-DEMO .io').textContent !== before",
                           arg=before, timeout=SLOW_MS)
    tile.locator(".pic img:not([hidden])").wait_for(timeout=SLOW_MS)
    assert tile.locator("svg .in-arrow").count() == 1, "the door line's `in` arrow is drawn on the picture"
    assert "door: in" in (tile.locator("svg .counts").text_content() or "")
    assert page.locator("#conn").inner_text() == "live"
    shoot(page, screenshots, "live")


def test_an_alert_appears_as_it_happens_and_is_resolved(page: Page, demo: Demo) -> None:
    log_in(page, demo)
    page.wait_for_selector("#cam-DEMO")
    page.wait_for_selector("#conn:has-text('live')")
    calibrate = ('mutation($n: Int!) { calibrateOccupancy(cameraId: "DEMO", occupancyValue: $n, '
                 'notes: "headcount in the web app test") { occupancySetTo } }')
    calibrated = demo.graphql(calibrate, {"n": 12})  # twice the demo camera's capacity
    assert "errors" not in calibrated, calibrated
    page.locator(".alert.capacity_exceeded").first.wait_for(timeout=60_000)  # pushed, no reload
    alert_id = page.locator(".alert.capacity_exceeded").first.get_attribute("id")
    page.locator(f"#{alert_id} button:has-text('Resolve')").click()
    page.locator(f"#{alert_id}").wait_for(state="detached")
    assert "errors" not in demo.graphql(calibrate, {"n": 0})


def test_set_up_a_second_camera_by_drawing_its_line(page: Page, demo: Demo, screenshots: Path) -> None:
    log_in(page, demo)
    overview = page.context.new_page()  # the live page stays open while the camera is added
    overview_console = Console(overview)
    overview.goto(demo.url + "#/live")
    overview.wait_for_selector("#cam-DEMO")

    page.click("#nav >> text=Cameras")
    page.click("text=Add a camera")
    page.fill("input[name=name]", "Back door")
    assert page.input_value("input[name=id]") == "BACK_DOOR"  # the id follows the name
    page.fill("input[name=capacity]", "20")
    page.fill("input[name=source]", PETS_VIDEO)
    page.click("button:has-text('Add camera')")
    page.wait_for_url("**#/setup/BACK_DOOR")
    page.locator(".frame img:not([hidden])").wait_for(timeout=SLOW_MS)
    page.wait_for_function("() => document.querySelector('.frame svg').getAttribute('viewBox') === '0 0 480 360'")

    page.click("button:has-text('Draw a line')")
    box = page.locator(".frame svg").bounding_box()
    assert box is not None

    def click(x: float, y: float) -> None:
        page.mouse.click(box["x"] + box["width"] * x / FRAME[0], box["y"] + box["height"] * y / FRAME[1])

    click(240, 2)
    click(240, 358)
    arrow = page.locator(".frame svg .in-arrow")

    def points_right() -> bool:
        return float(arrow.get_attribute("x2") or 0) > float(arrow.get_attribute("x1") or 0)

    assert points_right(), "drawn top to bottom, `in` is walking to the right (the README's convention)"
    page.click("text=Flip in/out")
    assert not points_right()
    page.click("text=Flip in/out")
    assert points_right()
    page.fill("form[data-ref=draft] input[name=name]", "door")
    page.click("button:has-text('Save line')")
    page.wait_for_selector("tr[data-line] .linecounts")
    # the line reaches the running stream and people crossing it are counted
    page.wait_for_function("""() => {
        const cell = document.querySelector('tr[data-line] .linecounts');
        const [a, b] = (cell ? cell.textContent : '').split('/').map(Number);
        return a + b > 0; }""", timeout=SLOW_MS)
    shoot(page, screenshots, "camera-setup")

    overview.wait_for_selector("#cam-BACK_DOOR", timeout=60_000)  # appeared without a reload
    overview.locator("#cam-BACK_DOOR svg .in-arrow").wait_for(state="attached", timeout=SLOW_MS)
    overview.close()
    assert not overview_console.errors, overview_console.errors

    page.goto(demo.url + "#/setup")
    page.wait_for_selector("text=Back door")
    shoot(page, screenshots, "cameras")


def test_draw_a_zone_and_change_capacity_and_threshold(page: Page, demo: Demo, screenshots: Path) -> None:
    log_in(page, demo)
    page.goto(demo.url + "#/setup/BACK_DOOR")
    page.locator(".frame img:not([hidden])").wait_for(timeout=SLOW_MS)
    page.wait_for_function("() => document.querySelector('.frame svg').getAttribute('viewBox') === '0 0 480 360'")
    page.click("button:has-text('Draw a zone')")
    box = page.locator(".frame svg").bounding_box()
    assert box is not None
    for x, y in ((250, 150), (470, 150), (470, 350), (250, 350)):
        page.mouse.click(box["x"] + box["width"] * x / FRAME[0], box["y"] + box["height"] * y / FRAME[1])
    page.fill("form[data-ref=zoneDraft] input[name=name]", "shelves")
    page.click("button:has-text('Save zone')")
    page.wait_for_selector("[data-ref=zones]:has-text('shelves')", timeout=SLOW_MS)
    assert page.locator(".frame svg polygon").count() >= 1

    details = page.locator("form[data-ref=details]")
    details.locator("input[name=capacity]").fill("25")
    details.locator("button[type=submit]").click()
    page.locator("tr[data-line] input[data-act=threshold]").fill("0.6")
    page.locator("tr[data-line] input[data-act=threshold]").dispatch_event("change")
    query = '{ camera(id: "BACK_DOOR") { maxOccupancy lines { edges { node { confidenceThreshold } } } } }'
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # saved through the API, polled with a deadline
        camera = demo.graphql(query)["data"]["camera"]
        if camera["maxOccupancy"] == 25 and camera["lines"]["edges"][0]["node"]["confidenceThreshold"] == 0.6:
            break
        time.sleep(0.5)
    assert camera["maxOccupancy"] == 25, camera
    assert camera["lines"]["edges"][0]["node"]["confidenceThreshold"] == 0.6, camera
    shoot(page, screenshots, "camera-zone")


def test_read_the_hourly_chart_and_export_it(page: Page, demo: Demo, screenshots: Path) -> None:
    log_in(page, demo)
    page.click("#nav >> text=History")
    page.wait_for_selector(".chart svg, .chart [data-ref=nodata]")
    page.select_option("select[name=camera]", "DEMO")
    page.select_option("select[name=level]", "hourly")
    page.wait_for_selector(".chart svg")
    entries = [int(x) for x in page.locator("table.data tr td:nth-child(2)").all_inner_texts()]
    assert sum(entries) > 0, "the demo's entries are in the hourly chart"
    assert len(entries) >= 24, "every hour since yesterday has its bar, counted or not"
    with page.expect_download() as download:
        page.click("text=Download CSV")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert sum(int(r["entries"]) for r in rows) == sum(entries)
    shoot(page, screenshots, "history")
    page.click("button:has-text('Yesterday')")
    page.wait_for_selector(".chart svg, .chart [data-ref=nodata]")  # just started: empty, unless past midnight
    yesterday = page.evaluate("() => { const d = new Date(Date.now() - 86400000); "
                              "return new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10); }")
    assert page.input_value("input[name=from]") == page.input_value("input[name=to]") == yesterday
    page.click("button:has-text('Today')")
    page.wait_for_selector(".chart svg")
    page.select_option("select[name=level]", "daily")
    page.wait_for_selector(".chart svg")
    page.select_option("select[name=camera]", "")  # the whole facility
    page.wait_for_selector(".chart svg")


def test_open_a_journey_and_see_its_path(page: Page, demo: Demo, screenshots: Path) -> None:
    query = "{ journeys(first: 200) { edges { node { id path { x y } } } } }"
    journey = None
    deadline = time.monotonic() + SLOW_MS / 1000
    while journey is None and time.monotonic() < deadline:  # a journey with a path, polled with a deadline
        found = [e["node"] for e in demo.graphql(query)["data"]["journeys"]["edges"] if len(e["node"]["path"]) >= 2]
        journey = found[0] if found else None
        if journey is None:
            time.sleep(1)
    assert journey is not None, "the demo made no journey with a path"
    log_in(page, demo)
    page.click("#nav >> text=Journeys")
    page.click(f"a[href='#/journeys/{journey['id']}']")
    path = page.locator(".frame svg polyline.path")
    path.wait_for()
    assert len((path.get_attribute("points") or "").split()) == len(journey["path"])
    assert int(page.locator("[data-ref=points]").inner_text()) == len(journey["path"])
    page.wait_for_selector("text=Time per zone")
    shoot(page, screenshots, "journey")
    page.goto(demo.url + "#/journeys")
    page.wait_for_selector("table a")
    shoot(page, screenshots, "journeys")


def test_admin_creates_a_key_shown_once(page: Page, demo: Demo, screenshots: Path) -> None:
    log_in(page, demo)
    page.click("#nav >> text=Admin")
    page.fill("form[data-ref=newKey] input[name=name]", "door-camera")
    page.click("form[data-ref=newKey] button[type=submit]")
    page.wait_for_selector(".keyonce, .toast:not([hidden])")
    assert page.locator(".keyonce").count() == 1, page.locator(".toast").all_inner_texts()
    key = page.locator(".keyonce").inner_text()
    assert len(key) > 20
    page.wait_for_selector("text=door-camera")
    shoot(page, screenshots, "admin")
    page.reload()
    page.wait_for_selector("text=door-camera")
    assert key not in page.content(), "the key is shown only once"


def test_enrol_a_customer_from_a_photo_then_erase_the_face(page: Page, demo: Demo, shared_data: Path,
                                                           screenshots: Path) -> None:
    photo = shared_data / "faces" / "face_recognition" / "examples" / "obama_small.jpg"
    log_in(page, demo)
    page.click("#nav >> text=People")
    page.wait_for_selector("[data-ref=list] table, [data-ref=list] .empty:not(:has-text('Loading'))")
    form = page.locator("form[data-ref=enrol]")
    form.locator("input[name=name]").fill("Barack Example")
    form.locator("input[name=email]").fill("barack@shop.example")
    form.locator("input[name=photo]").set_input_files(str(photo))
    form.locator("input[name=consent]").check()
    form.locator("button[type=submit]").click()
    row = page.locator("tr:has-text('Barack Example')")
    row.locator(".face:has-text('enrolled')").wait_for(timeout=SLOW_MS)  # face models load on first use
    shoot(page, screenshots, "people")
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("text=Erase face").click()
    row.locator(".face:has-text('none')").wait_for()


def test_a_promotion_shows_on_the_display_of_its_zone(page: Page, demo: Demo, screenshots: Path) -> None:
    log_in(page, demo)
    page.click("#nav >> text=Promotions")
    create = page.locator("form[data-ref=create]")
    create.locator("input[name=title]").fill("Umbrellas two for one")
    create.locator("input[name=discount]").fill("50%")
    create.locator("input[name=zone]").fill("entrance")
    create.locator("button[type=submit]").click()
    page.wait_for_selector("[data-ref=list] >> text=Umbrellas two for one")
    display = page.locator("form[data-ref=newDisplay]")
    display.locator("input[name=zone]").fill("entrance")
    display.locator("input[name=name]").fill("Door screen")
    display.locator("button[type=submit]").click()
    card = page.locator("[data-display]:has-text('Door screen')")
    card.locator("li:has-text('Umbrellas two for one')").wait_for()
    shoot(page, screenshots, "promotions")
    page.reload()  # displays opened from this browser come back
    card.locator("li:has-text('Umbrellas two for one')").wait_for()


def test_a_platform_admin_switches_to_an_empty_shop_and_is_guided(page: Page, demo: Demo,
                                                                  screenshots: Path) -> None:
    created = demo.graphql('mutation { createOrganisation(id: "shop2", name: "Second shop") { id } }')
    assert "errors" not in created, created
    log_in(page, demo)
    page.wait_for_selector("#cam-DEMO")
    page.select_option("#org", "shop2")
    guide = page.locator(".guide")
    guide.wait_for()
    assert "No cameras yet" in guide.inner_text() and "footfall up --demo" in guide.inner_text()
    shoot(page, screenshots, "empty-shop")
    guide.locator("text=Add your first camera").click()
    page.wait_for_url("**#/setup/new")
    page.select_option("#org", "default")
    page.click("#nav >> text=Live")
    page.wait_for_selector("#cam-DEMO")


@pytest.mark.parametrize("route", ["live", "setup", "setup/BACK_DOOR", "setup/new", "history", "journeys", "people",
                                   "promotions", "admin"])
def test_a_phone_never_scrolls_sideways(page: Page, demo: Demo, route: str) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, demo)
    page.goto(demo.url + "#/" + route)
    page.wait_for_selector("#view > *")
    page.wait_for_load_state("networkidle")
    width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
    assert width <= PHONE["width"], f"#/{route} is {width}px wide on a {PHONE['width']}px phone"


def test_an_analyst_cannot_reach_the_admin_page(page: Page, demo: Demo) -> None:
    created = demo.graphql(
        'mutation { createUser(input: {username: "ana", password: "analyst-password-1", email: "ana@shop.example", '
        "role: ANALYST}) { username } }")
    assert "errors" not in created, created
    log_in(page, demo, "ana@shop.example", "analyst-password-1")
    assert page.locator("#role").inner_text() == "analyst"
    assert not page.locator("#nav a[data-page=admin]").is_visible()
    page.goto(demo.url + "#/admin")
    page.wait_for_url("**#/live")
    page.wait_for_selector("#cam-DEMO")
    assert page.locator("#cam-DEMO >> text=set up").count() == 0, "analysts read; they do not change cameras"
    page.goto(demo.url + "#/setup")
    page.wait_for_selector("text=Back door")
    assert page.locator("text=Add a camera").count() == 0
    # and the API refuses them whatever the page shows
    token = demo.token("ana", "analyst-password-1")
    refused = demo.graphql("{ users(first: 10) { totalCount } }", token=token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    page.click("#logout")
    page.wait_for_selector("#login:not([hidden])")
