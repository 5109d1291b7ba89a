"""What the pages show: bilingual messages, form choices, result and history rows, file responses."""

from __future__ import annotations

import datetime as _dt
import json
import re
import secrets
import tempfile
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.responses import JSONResponse, Response

from ..errors import InputFileError, problem
from ..schemas import display_unit
from .store import HistoryEntry

CSRF_ERROR = ("表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。 / The form has expired or did not come from "
              "this site (CSRF check failed): reload the page and try again.")
LOGIN_ERROR = "用户名或密码错误。 / Wrong user name or password."
NOT_FOUND = "未找到该页面或研判记录。 / No such page or screening."
STATUS_TEXT = {401: "请先登录。 / Please log in.", 403: CSRF_ERROR, 404: NOT_FOUND,
               405: "不支持该请求方式。 / Method not allowed.", 413: "上传内容过大。 / Upload too large.",
               500: "服务器内部错误。 / Internal server error."}
#: The verdicts in the order of severity, with their colours from the style registry (static/verdicts.css).
VERDICT_CLASSES = ("prohibited", "restricted", "needs_assessment", "outside_coverage", "notice", "compliant",
                   "note", "not_evaluated")
_LIST_FIELDS = (("space", "空间布局约束", "Spatial layout"), ("pollution", "污染物排放管控", "Pollutant discharge"),
                ("risk", "环境风险防控", "Environmental risk"), ("resource", "资源开发效率要求", "Resource efficiency"))


def random_token() -> str:
    """A fresh random token (login-form CSRF)."""
    return secrets.token_urlsafe(32)


def no_input() -> InputFileError:
    """The error for a form sent without a boundary."""
    return InputFileError(problem("没有收到项目边界。", "No project boundary was sent.",
                                  fix="choose a file, draw on the map, or paste coordinates, then press 研判 / Screen"))


def no_api_input() -> InputFileError:
    """The error for an API request without ``geojson`` or ``coordinates``."""
    return InputFileError(problem("请求中没有项目边界（geojson 或 coordinates 字段为空）。",
                                  "No project boundary was sent: the request has no 'geojson' and no 'coordinates'.",
                                  file="POST /api/screen",
                                  fix="send 'geojson' (a GeoJSON FeatureCollection, Feature or geometry) or "
                                      "'coordinates' (pasted text, e.g. '113.37,31.69'); see /api/openapi.json"))


def version_changed(stored: str, current: str) -> str:
    """Why a stored screening cannot be recomputed."""
    return (f"该研判基于图层版本 {stored}，服务器现用版本 {current}，无法复现下载文件；JSON 记录仍可下载。 / This "
            f"screening was judged against catalog version {stored}; the server now holds {current}, so its "
            "files cannot be reproduced here (the JSON record is still available).")


def display_name(filename: str) -> str:
    """An uploaded file's name for display: the last path part, control characters removed, 120 chars."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    return name[:120] or "upload"


def file_stem(text: str) -> str:
    """A safe file-name stem for downloads."""
    return re.sub(r"[^\w\-]+", "_", text).strip("_")[:80] or "project"


@lru_cache(maxsize=1)
def form_context() -> dict[str, Any]:
    """Choices of the new-screening form: industries (GB/T 4754), project types, CRSs."""
    from pyproj import CRS

    from ..industries import industry_table, project_types
    from ..screening import screening_settings

    industries = [{"code": i.code, "label": f"{i.code} {i.zh} / {i.en}"} for i in industry_table().values()]
    types = [{"id": t.id, "label": f"{t.zh} / {t.en}"} for t in project_types().values()]
    crs = [{"id": "", "label": "文件自带 / as in the file (GeoJSON, KML: WGS84)"},
           {"id": "GCJ-02", "label": "GCJ-02 高德/腾讯 / Amap, Tencent"}, {"id": "BD-09", "label": "BD-09 百度 / Baidu"}]
    crs += [{"id": code, "label": f"{code} {CRS(code).name}"} for code in screening_settings().crs_candidates]
    return {"industries": industries, "types": types, "crs_choices": crs}


def _access(record: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": record.get("code"), "name": record.get("name"), "category": record.get("category"),
            "synthetic": record.get("synthetic"),
            "lists": [{"zh": zh, "en": en, "text": record.get(key)} for key, zh, en in _LIST_FIELDS]}


def project_views(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per project: verdict, findings (with sources), notes, not-evaluated rules, units and access lists."""
    out = []
    for rec in records:
        findings = [f for f in rec["findings"] if f["kind"] == "finding"]
        others = [f for f in rec["findings"] if f["kind"] != "finding"]
        out.append({"id": rec["id"], "name": rec.get("name"), "verdict": rec["verdict"],
                    "verdict_zh": rec["verdict_zh"], "verdict_en": rec["verdict_en"], "complete": rec["complete"],
                    "industry": rec.get("industry"), "industry_name": rec.get("industry_name_zh"),
                    "project_type": rec.get("project_type"), "area_ha": (rec.get("area_m2") or 0) / display_unit("ha").per,
                    "counties": rec.get("counties", []), "findings": findings, "others": others,
                    "overlaps": rec.get("overlaps", []), "access": [_access(a) for a in rec.get("access_lists", [])],
                    "distances": rec.get("distances", []), "synthetic": rec.get("synthetic_data"),
                    "sheet_id": quote(str(rec["id"]), safe="")})
    return out


def history_views(rows: Sequence[HistoryEntry]) -> list[dict[str, Any]]:
    """History rows for the page."""
    return [{"id": r.id, "user": r.user, "name": r.name, "source": r.source, "n": r.n_projects,
             "verdict": r.verdict, "version": r.catalog_version,
             "created": _dt.datetime.fromtimestamp(r.created).strftime("%Y-%m-%d %H:%M")} for r in rows]


def attachment(data: bytes, filename: str, media_type: str, headers: Mapping[str, str] | None = None) -> Response:
    """A file download (Content-Disposition: attachment, UTF-8 file name)."""
    disposition = f"attachment; filename=\"{file_stem(Path(filename).stem)}{Path(filename).suffix}\"; " \
                  f"filename*=UTF-8''{quote(filename)}"
    return Response(data, media_type=media_type, headers={"content-disposition": disposition, **(headers or {})})


def json_download(records: Any, filename: str) -> Response:
    """The screening records as a JSON file (``docs/screening_schema.md``)."""
    data = json.dumps(records, ensure_ascii=False, indent=2, allow_nan=False).encode("utf-8")
    return attachment(data, filename, "application/json")


def api_error(status: int, message: str) -> JSONResponse:
    """A JSON error of the API: ``{"error": {"status", "message"}}`` (message bilingual)."""
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status)


def pdf_bytes(page: str) -> bytes:
    """Print a sheet to PDF with headless Chromium (as ``sanxian screen --pdf``)."""
    from starlette.exceptions import HTTPException

    from ..sheet import find_chromium, html_to_pdf

    browser = find_chromium()
    if browser is None:
        raise HTTPException(503, "服务器上没有 Chromium/Chrome，无法生成 PDF；请下载 HTML 研判单后用浏览器打印为 PDF。 / No "
                                 "Chromium or Chrome on the server, so no PDF: download the HTML sheet and print it "
                                 "to PDF from the browser.")
    with tempfile.TemporaryDirectory(prefix="sanxian-serve-") as tmp:
        src = Path(tmp) / "sheet.html"
        src.write_text(page, encoding="utf-8")
        try:
            return html_to_pdf(src, Path(tmp) / "sheet.pdf", browser=browser).read_bytes()
        except RuntimeError as exc:
            raise HTTPException(503, f"PDF 生成失败。 / The PDF could not be printed: {exc}") from exc
