"""The screening service (`sanxian serve`), in process: every route, auth rule, CSRF, CSP and bad upload.

Verdicts and findings shown by the service are compared with an independent run of
``sanxian_yidan.screen`` on the same input; the service must add nothing and lose nothing.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import tempfile
import warnings
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE_CATALOG

pytest.importorskip("starlette")
with warnings.catch_warnings():
    # starlette 1.x suggests 'httpx2' for its test client; httpx is what it supports today
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from sanxian_yidan.serve import create_app  # noqa: E402
from sanxian_yidan.serve.security import CSP, MAP_CSP  # noqa: E402
from sanxian_yidan.serve.store import Session  # noqa: E402
from sanxian_yidan.serve.users import add_user, load_users  # noqa: E402

TXT = REPO / "tests" / "data" / "boundary_txt" / "xian80_arcpy_short_layout_utf8bom.txt"
PASSWORDS = {"wang": "wang-secret-pass", "li": "li-secret-passw", "boss": "boss-secret-pass"}
#: A point in the sample's data (Suizhou city centre), known to meet prohibiting rules for a chemical plant.
POINT = (113.3745, 31.6880)


def _settings(tmp: Path, **changes: object) -> Path:
    """A copy of the packaged serve.toml with some values replaced (``table.key=value``)."""
    from sanxian_yidan.datafiles import packaged_path

    text = packaged_path("serve.toml").read_text(encoding="utf-8")
    for dotted, value in changes.items():
        table, key = dotted.split("__")
        section = re.search(rf"^\[{table}\]$.*?(?=^\[|\Z)", text, re.S | re.M)
        assert section is not None
        new = re.sub(rf"^{key} = .*$", f"{key} = {value}", section.group(0), count=1, flags=re.M)
        text = text.replace(section.group(0), new)
    path = tmp / "serve.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("users") / "users.toml"
    add_user(path, "wang", PASSWORDS["wang"])
    add_user(path, "li", PASSWORDS["li"])
    add_user(path, "boss", PASSWORDS["boss"], role="admin")
    return path


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, users_file: Path):
    tmp = tmp_path_factory.mktemp("serve")
    return create_app(SAMPLE_CATALOG, db=tmp / "serve.sqlite", users=users_file, warm=False)


@pytest.fixture(scope="module")
def local_app(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("serve_local")
    return create_app(SAMPLE_CATALOG, db=tmp / "serve.sqlite", warm=False)


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "no CSRF token in the form"
    return match.group(1)


def login(app, name: str) -> TestClient:
    client = TestClient(app)
    token = _csrf(client.get("/login").text)
    r = client.post("/login", data={"csrf": token, "username": name, "password": PASSWORDS[name]},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    return client


def upload(client: TestClient, payload: bytes, name: str = "parcel.txt", **fields: str):
    token = _csrf(client.get("/").text)
    return client.post("/screen", data={"csrf": token, "mode": "upload", **fields}, files={"file": (name, payload)},
                       follow_redirects=False)


@pytest.fixture(scope="module")
def expected_txt():
    """Independent screening of the TXT sample with the library (industry C2614)."""
    import warnings

    import sanxian_yidan as sx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sx.screen(sx.read_vector(TXT), sx.Catalog.load(SAMPLE_CATALOG), industry="C2614")
    return result.to_records()


# -- security: auth, CSRF, headers ---------------------------------------------------------------------
def test_pages_need_login_and_api_needs_a_token(app):
    client = TestClient(app)
    for path in ("/", "/history", "/screenings/0123456789abcdef", "/screenings/0123456789abcdef/map"):
        r = client.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/login"), path
    r = client.post("/api/screen", json={"geojson": {"type": "Point", "coordinates": list(POINT)}})
    assert r.status_code == 401 and "请先登录" in r.json()["error"]["message"]
    assert client.get("/api/basemap.geojson").status_code == 401
    assert client.get("/healthz").json()["catalog_version"] == app.state.service.engine.version


def test_login_rules(app):
    client = TestClient(app)
    page = client.get("/login")
    assert page.status_code == 200 and "登录" in page.text and "Log in" in page.text
    token = _csrf(page.text)
    wrong = client.post("/login", data={"csrf": token, "username": "wang", "password": "nope"}, follow_redirects=False)
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    unknown = client.post("/login", data={"csrf": token, "username": "ghost", "password": "x" * 12})
    assert unknown.status_code == 401
    no_csrf = TestClient(app).post("/login", data={"username": "wang", "password": PASSWORDS["wang"]})
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text
    ok = client.post("/login", data={"csrf": token, "username": "wang", "password": PASSWORDS["wang"]},
                     follow_redirects=False)
    assert ok.status_code == 303
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=28800" in cookie
    assert client.get("/", follow_redirects=False).status_code == 200


def test_expired_session_goes_back_to_login(app):
    state = app.state.service
    state.store.add_session("expired-token", Session("wang", "user", "csrf", 1.0))
    client = TestClient(app, cookies={state.settings.session.cookie: "expired-token"})
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    client = TestClient(app, headers={"authorization": "Bearer expired-token"})
    assert client.post("/api/screen", json={"coordinates": "113.37,31.69"}).status_code == 401


def test_logout_ends_the_session(app):
    client = login(app, "li")
    token = _csrf(client.get("/").text)
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    r = client.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_screen_form_refuses_missing_or_forged_csrf(app):
    client = login(app, "wang")
    for token in (None, "forged"):
        data = {"mode": "paste", "coordinates": "113.37,31.69"} | ({"csrf": token} if token else {})
        r = client.post("/screen", data=data)
        assert r.status_code == 403 and "CSRF" in r.text


def test_every_page_sends_the_content_security_policy(app):
    client = login(app, "wang")
    for path in ("/", "/history", "/api/openapi.json", "/static/app.css", "/static/vendor/leaflet.js"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-security-policy"] == CSP, path
        assert r.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self';" in CSP and "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    login_page = TestClient(app).get("/login")
    assert login_page.headers["content-security-policy"] == CSP


def test_no_page_loads_anything_from_another_host(app):
    from sanxian_yidan.maps.page import external_references

    client = login(app, "wang")
    page = client.get("/").text
    assert external_references(page) == []
    assert "<script>" not in page and " style=" not in page        # the CSP would block them
    assert external_references(client.get("/static/vendor/leaflet.css").text) == []


# -- screening through the pages -----------------------------------------------------------------------
def test_upload_txt_shows_the_libraries_verdict_findings_and_access_lists(app, expected_txt):
    client = login(app, "wang")
    r = upload(client, TXT.read_bytes(), industry="C2614 有机化学原料制造")
    assert r.status_code == 303, r.text[:2000]
    page = client.get(r.headers["location"])
    assert page.status_code == 200
    expected = expected_txt[0]
    verdict = re.search(r'id="verdict">\s*([^<]+?)\s*<', page.text).group(1)
    assert verdict == expected["verdict_zh"]
    for finding in (f for f in expected["findings"] if f["kind"] == "finding"):
        assert finding["rule_id"] in page.text
        assert _html(finding["source"]) in page.text           # every finding cites its source
    for unit in expected["access_lists"]:
        assert _html(unit["code"]) in page.text
        for key in ("space", "pollution", "risk", "resource"):
            if unit[key]:
                assert _html(unit[key]) in page.text
    assert "1980西安坐标系" in page.text or "Xian 1980" in page.text  # the reader's datum note reaches the user
    assert "/tmp" not in page.text and "sanxian-serve-" not in page.text
    from sanxian_yidan.maps.page import external_references

    assert external_references(page.text) == [] and "<script>" not in page.text


def _html(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def test_downloads_json_gpkg_sheet_and_map(app, expected_txt):
    import pyogrio

    client = login(app, "wang")
    key = upload(client, TXT.read_bytes(), industry="C2614").headers["location"].rsplit("/", 1)[1]
    data = client.get(f"/screenings/{key}/screening.json")
    assert "attachment" in data.headers["content-disposition"]
    records = data.json()
    assert [r["verdict"] for r in records] == [r["verdict"] for r in expected_txt]
    assert [f["rule_id"] for f in records[0]["findings"]] == [f["rule_id"] for f in expected_txt[0]["findings"]]
    gpkg = client.get(f"/screenings/{key}/screening.gpkg")
    assert gpkg.content[:16] == b"SQLite format 3\0"
    with tempfile.NamedTemporaryFile(suffix=".gpkg") as fh:
        fh.write(gpkg.content)
        fh.flush()
        layers = {name for name, _ in pyogrio.list_layers(fh.name)}
    assert {"projects", "overlaps", "findings"} <= layers
    pid = records[0]["id"]
    sheet = client.get(f"/screenings/{key}/sheet/{pid}.html")
    assert sheet.status_code == 200 and "attachment" in sheet.headers["content-disposition"]
    assert records[0]["verdict_zh"] in sheet.text and "script-src" not in sheet.headers["content-security-policy"]
    assert client.get(f"/screenings/{key}/sheet/NOPE.html").status_code == 404
    page = client.get(f"/screenings/{key}/map")
    assert page.headers["content-security-policy"] == MAP_CSP
    assert "L.map" in page.text or "leaflet" in page.text.lower()
    result = client.get(f"/screenings/{key}").text
    assert f'src="/screenings/{key}/map" sandbox="allow-scripts"' in result


def test_paste_and_draw(app):
    client = login(app, "wang")
    token = _csrf(client.get("/").text)
    pasted = client.post("/screen", data={"csrf": token, "mode": "paste", "industry": "C2614",
                                          "coordinates": f"{POINT[0]}, {POINT[1]}"}, follow_redirects=False)
    assert pasted.status_code == 303, pasted.text[:1500]
    records = client.get(pasted.headers["location"] + "/screening.json").json()
    assert len(records) == 1 and records[0]["footprint"].startswith("point")
    square = [[113.37, 31.69], [113.38, 31.69], [113.38, 31.70], [113.37, 31.70], [113.37, 31.69]]
    drawn = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "D1"}, "geometry": {"type": "Polygon", "coordinates": [square]}}]}
    r = client.post("/screen", data={"csrf": token, "mode": "draw", "project_type": "pv",
                                     "geojson": json.dumps(drawn)}, follow_redirects=False)
    assert r.status_code == 303, r.text[:1500]
    rec = client.get(r.headers["location"] + "/screening.json").json()[0]
    assert rec["project_type"] == "pv" and rec["footprint"].startswith("polygon")
    # about 0.01 degrees square at 31.7 N: 947 m x 1,112 m (hand-computed), i.e. ~105 ha
    assert rec["area_m2"] == pytest.approx(1.053e6, rel=0.01)


def test_text_from_uploads_is_escaped(app):
    client = login(app, "wang")
    evil = "<script>alert(1)</script>"
    body = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "X1", "name": evil},
                                                       "geometry": {"type": "Point", "coordinates": list(POINT)}}]}
    r = upload(client, json.dumps(body).encode(), name=f"{evil}.geojson", industry="C2614")
    assert r.status_code == 303, r.text[:1500]
    page = client.get(r.headers["location"]).text
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert evil not in client.get("/history").text


# -- history -------------------------------------------------------------------------------------------
def test_users_see_only_their_own_history_and_the_admin_sees_all(app):
    wang, li, boss = login(app, "wang"), login(app, "li"), login(app, "boss")
    key = upload(li, TXT.read_bytes(), industry="C2614").headers["location"].rsplit("/", 1)[1]
    assert key in li.get("/history").text
    assert key not in wang.get("/history").text
    for path in (f"/screenings/{key}", f"/screenings/{key}/screening.json", f"/screenings/{key}/map"):
        assert wang.get(path).status_code == 404, path
    assert wang.get(f"/api/screenings/{key}", headers={"x-csrf-token": _csrf(wang.get("/").text)}).status_code == 404
    assert key in boss.get("/history").text and boss.get(f"/screenings/{key}").status_code == 200
    db = sqlite3.connect(app.state.service.store.path)
    (version,) = db.execute("SELECT catalog_version FROM screenings WHERE id = ?", (key,)).fetchone()
    assert version == app.state.service.engine.version and len(version) == 16


def test_downloads_of_a_result_no_longer_in_memory_are_recomputed(app):
    client = login(app, "wang")
    key = upload(client, TXT.read_bytes(), industry="C2614").headers["location"].rsplit("/", 1)[1]
    engine = app.state.service.engine
    before = engine.kept(key).records
    engine._results.clear()  # as if many screenings had pushed it out
    assert client.get(f"/screenings/{key}/screening.gpkg").status_code == 200
    assert engine.kept(key).records == before


def test_request_log_has_who_what_verdict_and_no_secret(app):
    client = login(app, "boss")
    r = upload(client, TXT.read_bytes(), industry="C2614")
    assert r.status_code == 303
    rows = app.state.service.store.requests(500)
    mine = [row for row in rows if row[1] == "boss" and row[3] == "/screen"]
    assert mine and mine[0][4] == 303 and mine[0][5] == "prohibited"
    dump = sqlite3.connect(app.state.service.store.path).iterdump()
    text = "\n".join(dump)
    assert all(p not in text for p in PASSWORDS.values())
    token = client.cookies.get(app.state.service.settings.session.cookie)
    assert token and token not in text


# -- bad and hostile uploads ---------------------------------------------------------------------------
@pytest.fixture
def no_leftovers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Temporary files go to a private folder, which must be empty after each request."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    assert list(folder.iterdir()) == []


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("name, payload, status, words", [pytest.param(*case, id=case[0]) for case in [
    ("bomb.zip", _zip({"layer.shp": b"\0" * (40 << 20)}), 422, ["压缩炸弹", "zip bomb"]),
    ("escape.zip", _zip({"../../etc/evil.shp": b"x", "ok.dbf": b"y"}), 422, ["压缩包之外", "outside its folder"]),
    ("picture.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, 422, ["无法识别", "Unrecognised file type"]),
    ("layer.shp", b"\x00\x00\x27\x0a" + b"\0" * 96, 422, [".dbf", "zip the .shp"]),
    ("empty.zip", _zip({"readme.md": b"hello"}), 422, ["无法识别", "without a shapefile"]),
    ("words.txt", "这不是坐标 / not coordinates\n".encode() * 3, 422, ["file 'words.txt'", "坐标列"]),
]])
def test_bad_uploads_get_a_bilingual_error_and_leave_nothing(app, no_leftovers, name, payload, status, words):
    client = login(app, "wang")
    r = upload(client, payload, name=name, industry="C2614")
    assert r.status_code == status, r.text[:2000]
    message = re.search(r'<pre class="error" role="alert">(.*?)</pre>', r.text, re.S).group(1)
    assert "解决办法 / Fix" in message or "Fix:" in message
    for word in words:
        assert _html(word) in message
    assert "sanxian-serve-" not in message and str(no_leftovers) not in message


def test_oversized_upload_is_refused(tmp_path: Path, users_file: Path, no_leftovers):
    small = create_app(SAMPLE_CATALOG, db=tmp_path / "s.sqlite", users=users_file, warm=False,
                       settings=_settings(tmp_path, upload__max_bytes=2000))
    client = login(small, "wang")
    r = upload(client, b"x," * 5000, name="big.csv")
    assert r.status_code == 413 and "MB" in r.text and "max_bytes" in r.text
    huge = upload(client, b"0" * (2 << 20), name="huge.csv")       # past the limit + slack: cut off while arriving
    assert huge.status_code == 413
    api = client.post("/api/screen", content=b"{" + b" " * (3 << 20) + b"}",
                      headers={"content-type": "application/json", "x-csrf-token": _csrf(client.get("/").text)})
    assert api.status_code == 413


def test_too_many_projects_and_time_limit(tmp_path: Path, users_file: Path):
    limited = create_app(SAMPLE_CATALOG, db=tmp_path / "s.sqlite", users=users_file, warm=False,
                         settings=_settings(tmp_path, upload__max_projects=2, screening__time_limit_s=1e-9))
    client = login(limited, "wang")
    three = "\n\n".join(f"{POINT[0] + i / 100},{POINT[1]}" for i in range(3))
    token = _csrf(client.get("/").text)
    r = client.post("/screen", data={"csrf": token, "mode": "paste", "coordinates": three})
    assert r.status_code == 422 and "最多研判 2 个项目" in r.text
    r = client.post("/screen", data={"csrf": token, "mode": "paste", "coordinates": f"{POINT[0]},{POINT[1]}"})
    assert r.status_code == 422 and "时限" in r.text and "time limit" in r.text


def test_screening_errors_use_the_cli_messages(app):
    client = login(app, "wang")
    token = _csrf(client.get("/").text)
    r = client.post("/screen", data={"csrf": token, "mode": "paste", "industry": "Z9999",
                                     "coordinates": f"{POINT[0]},{POINT[1]}"})
    assert r.status_code == 422 and "Z9999" in r.text
    r = client.post("/screen", data={"csrf": token, "mode": "paste", "coordinates": "438000,3507000"})
    assert r.status_code == 422 and "EPSG:4547" in r.text          # metres given as degrees: names the CRS
    r = client.post("/screen", data={"csrf": token, "mode": "upload"})
    assert r.status_code == 422 and "没有收到项目边界" in r.text


# -- JSON API ------------------------------------------------------------------------------------------
def test_api_login_screen_and_fetch(app, expected_txt):
    client = TestClient(app)
    bad = client.post("/api/login", json={"username": "wang", "password": "wrong"})
    assert bad.status_code == 401
    token = client.post("/api/login", json={"username": "wang", "password": PASSWORDS["wang"]}).json()["token"]
    auth = {"authorization": f"Bearer {token}"}
    txt = TXT.read_text(encoding="utf-8-sig")
    r = client.post("/api/screen", json={"coordinates": txt, "industry": "C2614", "name": "红线"}, headers=auth)
    assert r.status_code == 200, r.text[:1500]
    body = r.json()
    assert body["verdict"] == expected_txt[0]["verdict"]
    assert [p["verdict"] for p in body["projects"]] == [p["verdict"] for p in expected_txt]
    assert body["catalog_version"] == app.state.service.engine.version
    again = client.get(f"/api/screenings/{body['id']}", headers=auth).json()
    assert again["projects"] == body["projects"] and again["user"] == "wang"
    assert any("Xian 1980" in n for n in body["notes"]) and again["notes"] == body["notes"]   # the TXT's datum
    straight, swapped = (client.post("/api/screen", json={"coordinates": f"{x},{y}", "crs": "EPSG:4326",
                                                          "industry": "C2614"}, headers=auth).json()
                         for x, y in (POINT, POINT[::-1]))
    assert not any("swapped" in n for n in straight["notes"])
    assert any("swapped back" in n and "颠倒" in n for n in swapped["notes"])       # the caller learns of the repair
    assert swapped["projects"][0]["verdict"] == straight["projects"][0]["verdict"]
    assert client.post("/api/screen", content=b"x=1", headers={**auth, "content-type": "application/x-www-form-urlencoded"}
                       ).status_code == 415
    assert client.post("/api/screen", content=b"{not json", headers={**auth, "content-type": "application/json"}
                       ).status_code == 400
    err = client.post("/api/screen", json={"geojson": {"type": "Point", "coordinates": [POINT[0], 320.8]}}, headers=auth)
    assert err.status_code == 422 and "320.8" in err.json()["error"]["message"]
    for empty in ({}, {"coordinates": "  \n"}, {"geojson": None, "industry": "C2614"}):
        message = client.post("/api/screen", json=empty, headers=auth).json()["error"]["message"]
        assert "没有项目边界" in message and "No project boundary" in message and "/api/screen" in message
        assert "'geojson'" in message and "file type" not in message


def test_api_from_a_browser_session_needs_the_csrf_header(app):
    client = login(app, "wang")
    body = {"geojson": {"type": "Point", "coordinates": list(POINT)}, "industry": "C2614"}
    assert client.post("/api/screen", json=body).status_code == 401
    ok = client.post("/api/screen", json=body, headers={"x-csrf-token": _csrf(client.get("/").text)})
    assert ok.status_code == 200 and ok.json()["verdict"] == "prohibited"


def test_openapi_describes_the_api(app):
    doc = TestClient(app).get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) >= {"/api/login", "/api/screen", "/api/screenings/{id}"}
    props = doc["paths"]["/api/screen"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert {"geojson", "coordinates", "crs", "industry", "project_type", "radius_m"} <= set(props)


def test_basemap_outlines_are_wgs84(app):
    client = login(app, "wang")
    data = client.get("/api/basemap.geojson").json()
    roles = {f["properties"]["role"] for f in data["features"]}
    assert "admin_boundary" in roles
    xs = [c[0] for f in data["features"][:3] for c in f["geometry"]["coordinates"][:5]
          if f["geometry"]["type"] == "LineString"]
    assert xs and all(112 < x < 115 for x in xs)


# -- local server (no users file) ----------------------------------------------------------------------
def test_local_server_needs_no_login_but_keeps_csrf(local_app):
    client = TestClient(local_app)
    page = client.get("/")
    assert page.status_code == 200 and "local" in page.text
    assert client.get("/login", follow_redirects=False).headers["location"] == "/"
    r = client.post("/screen", data={"mode": "paste", "coordinates": f"{POINT[0]},{POINT[1]}"})
    assert r.status_code == 403
    api = TestClient(local_app).post("/api/screen", json={"geojson": {"type": "Point", "coordinates": list(POINT)},
                                                          "industry": "C2614"})
    assert api.status_code == 200 and api.json()["verdict"] == "prohibited"


# -- command line and users file -----------------------------------------------------------------------
def test_serve_refuses_other_hosts_without_users_file():
    from typer.testing import CliRunner

    from sanxian_yidan.cli import app as cli
    from sanxian_yidan.cli.serve import is_loopback

    r = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert r.exit_code == 2
    assert "users" in r.output and "sanxian serve adduser" in r.output
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")


def test_adduser_writes_argon2_hashes_only(tmp_path: Path):
    from typer.testing import CliRunner

    from sanxian_yidan.cli import app as cli

    path = tmp_path / "users.toml"
    r = CliRunner().invoke(cli, ["serve", "adduser", str(path), "zhang", "--admin", "--password-stdin"],
                           input="correct horse battery\n")
    assert r.exit_code == 0, r.output
    text = path.read_text(encoding="utf-8")
    assert "correct horse" not in text and "$argon2id$" in text
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_users(path)["zhang"].role == "admin"
    short = CliRunner().invoke(cli, ["serve", "adduser", str(path), "zhao", "--password-stdin"], input="short\n")
    assert short.exit_code == 2 and "10" in short.output


def test_worker_processes_build_the_same_app_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                   users_file: Path):
    from sanxian_yidan.serve.app import CONFIG_ENV, app_from_env

    options = {"catalog": str(SAMPLE_CATALOG), "db": str(tmp_path / "w.sqlite"), "users": str(users_file),
               "settings": None, "secure_cookies": True, "warm": False}
    monkeypatch.setenv(CONFIG_ENV, json.dumps(options))
    worker = app_from_env()
    state = worker.state.service
    assert state.secure_cookies and set(state.users) == set(PASSWORDS) and state.store.path == tmp_path / "w.sqlite"
    client = TestClient(worker, base_url="https://testserver")
    token = _csrf(client.get("/login").text)
    r = client.post("/login", data={"csrf": token, "username": "wang", "password": PASSWORDS["wang"]},
                    follow_redirects=False)
    assert "Secure" in r.headers["set-cookie"]


# -- every format the toolkit reads ----------------------------------------------------------------------
DATA = REPO / "tests" / "data"


def _built(tmp: Path, kind: str) -> Path:
    """A small project file written here: zipped shapefile, GeoPackage or CSV around the city centre."""
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame({"id": ["S1", "S2"], "name": ["甲", "乙"]},
                             geometry=[shapely.box(113.370, 31.690, 113.373, 31.692),
                                       shapely.Point(113.3745, 31.6880)], crs="EPSG:4326")
    if kind == "gpkg":
        frame.to_file(tmp / "p.gpkg", driver="GPKG")
        return tmp / "p.gpkg"
    if kind == "csv":
        path = tmp / "p.csv"
        path.write_text("id,name,lon,lat\nC1,甲,113.3745,31.6880\nC2,乙,113.3600,31.7000\n", encoding="utf-8")
        return path
    folder = tmp / "shp"
    folder.mkdir()
    frame.iloc[:1].to_file(folder / "红线.shp", encoding="utf-8")
    path = tmp / "p.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(folder.iterdir()):
            zf.write(part, part.name)
    return path


def _kmz(tmp: Path) -> Path:
    path = tmp / "p.kmz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(DATA / "kml" / "ovi_folders.kml", "doc.kml")
    return path


@pytest.mark.parametrize("kind, sent_as, fields", [
    ("dxf", "redline.dxf", {"layer": "红线", "crs": "EPSG:4547"}),
    ("kml", "redline.txt", {}),                       # a wrong name: the type comes from the content
    ("kmz", "redline.kmz", {}),
    ("xlsx", "坐标表.xlsx", {"crs": "EPSG:4547"}),
    ("shp", "红线.zip", {}),
    ("gpkg", "projects.gpkg", {}),
    ("csv", "projects.csv", {"crs": "EPSG:4326"}),
])
def test_every_format_the_toolkit_reads(app, tmp_path: Path, kind: str, sent_as: str, fields: dict):
    import sanxian_yidan as sx

    path = {"dxf": DATA / "dxf" / "red_line_r2000_gbk.dxf", "kml": DATA / "kml" / "ovi_folders.kml",
            "xlsx": DATA / "xlsx" / "parcels_cm114.xlsx", "kmz": None}.get(kind)
    path = _kmz(tmp_path) if kind == "kmz" else (path or _built(tmp_path, kind))
    client = login(app, "wang")
    r = upload(client, path.read_bytes(), name=sent_as, industry="D4416", **fields)
    assert r.status_code == 303, r.text[:2000]
    records = client.get(r.headers["location"] + "/screening.json").json()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = sx.read_vector(path, crs=fields.get("crs"), layer=fields.get("layer"))
        expected = sx.screen(frame, sx.Catalog.load(SAMPLE_CATALOG), industry="D4416").to_records()
    assert [(p["id"], p["verdict"], p["area_m2"]) for p in records] == \
        [(p["id"], p["verdict"], p["area_m2"]) for p in expected]


def test_multi_layer_drawing_without_a_layer_names_the_layer_field(app):
    client = login(app, "wang")
    r = upload(client, (DATA / "dxf" / "red_line_r2000_gbk.dxf").read_bytes(), name="red.dxf", crs="EPSG:4547")
    assert r.status_code == 422
    assert "红线" in r.text and "图层 / layer field" in r.text


def test_repeated_failed_logins_lock_the_name_for_the_window(tmp_path: Path, users_file: Path):
    strict = create_app(SAMPLE_CATALOG, db=tmp_path / "s.sqlite", users=users_file, warm=False,
                        settings=_settings(tmp_path, login__max_failures=3))
    client = TestClient(strict)
    token = _csrf(client.get("/login").text)
    for _ in range(3):
        r = client.post("/login", data={"csrf": token, "username": "wang", "password": "guess-guess"})
        assert r.status_code == 401
    right = client.post("/login", data={"csrf": token, "username": "wang", "password": PASSWORDS["wang"]})
    assert right.status_code == 429 and "15 分钟后再试" in right.text and "15 minutes" in right.text
    api = client.post("/api/login", json={"username": "wang", "password": PASSWORDS["wang"]})
    assert api.status_code == 429
    # another name is not affected; a success clears that name's count
    assert client.post("/login", data={"csrf": token, "username": "li", "password": PASSWORDS["li"]},
                       follow_redirects=False).status_code == 303
    assert strict.state.service.store.failures("li", 900) == 0 and strict.state.service.store.failures("wang", 900) == 3
