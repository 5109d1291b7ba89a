"""``sanxian convert`` and ``sanxian coords``: file and coordinate conversion."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from ..errors import SanxianError
from ._common import app, console, fail

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

coords_app = typer.Typer(help="Coordinate conversions / 坐标转换", no_args_is_help=True,
                         rich_markup_mode="markdown")
app.add_typer(coords_app, name="coords")


#: RFC 7946 (GeoJSON): coordinates are WGS84 longitude/latitude.
GEOJSON_CRS = "EPSG:4326"


@app.command("convert")
def convert(source: Path = typer.Argument(..., help="Any supported input (shp, gpkg, geojson, kml/kmz, dxf, "
                                                    "csv/xlsx incl. 坐标表, TXT)."),
            target: Path = typer.Argument(..., help="Output .gpkg, .geojson, .csv (wkt + crs columns) or "
                                                    "land-boundary .txt."),
            layer: Optional[str] = typer.Option(None, help="Layer or sheet of the input (DXF layer such as 红线, "
                                                           "KML folder)."),
            crs: Optional[str] = typer.Option(None, help="CRS of the input if it has none, or GCJ-02 / BD-09."),
            encoding: Optional[str] = typer.Option(None, help="Attribute encoding of the input (default: detect)."),
            to_crs: Optional[str] = typer.Option(
                None, help="CRS of the output. Default: the input's own CRS (a Gauss-Kruger zone is kept, so areas "
                           "stay true); GeoJSON in WGS84 (EPSG:4326, RFC 7946). TXT output is always GK."),
            overwrite: bool = typer.Option(False, help="Replace an existing output file.")) -> None:
    """Read any supported input, repair it, and write an open format (in the input's own CRS by default)."""
    from ..io.vector import read_vector
    from ..normalize import normalise
    from ..outputs import staged_output

    if target.suffix.lower() not in _SUFFIXES:
        raise typer.BadParameter(f"unsupported output {target.suffix}; use .gpkg, .geojson, .csv or .txt")
    geojson = target.suffix.lower() in (".geojson", ".json")
    try:
        with staged_output(target, overwrite=overwrite, kind="file", protect=[source]) as staged:
            gdf = read_vector(source, layer=layer, crs=crs, encoding=encoding)
            meta = gdf.attrs.get("sanxian", {})
            out_crs = to_crs or (GEOJSON_CRS if geojson else gdf.crs)
            gdf = normalise(gdf, out_crs, file=str(source), layer=layer)
            repairs = gdf.attrs["sanxian"]["repairs"]
            _write(gdf.drop(columns=["src_fid"]), staged, overwrite)
    except SanxianError as exc:
        fail(exc)
    console.print(f"read {source} (encoding {meta.get('encoding')}, CRS {meta.get('crs')}: {meta.get('crs_reason')})",
                  markup=False)
    for rep in repairs:
        console.print(f"  {rep}", markup=False)
    written = "GK zone of the data (see the TXT header)" if target.suffix.lower() == ".txt" else gdf.crs.to_string()
    console.print(f"wrote {len(gdf):,} features to {target} (CRS {written})", markup=False)
    if geojson and to_crs is not None and not gdf.crs.equals(GEOJSON_CRS):
        console.print(f"  note: GeoJSON in {gdf.crs.to_string()} is not RFC 7946 (which requires WGS84); web tools "
                      "may misplace it / 非 WGS84 的 GeoJSON 不符合 RFC 7946", markup=False)


#: Output formats by file suffix (None: written by the code below, not a GDAL driver).
_SUFFIXES = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".csv": None, ".txt": None}


def _write(gdf: gpd.GeoDataFrame, target: Path, overwrite: bool) -> None:
    """Write ``gdf`` to ``target`` (a fresh path inside the staging folder) in the format of its suffix."""
    from ..outputs import write_csv

    suffix = target.suffix.lower()
    if suffix == ".txt":
        from ..io.boundary_txt import write_boundary_txt
        write_boundary_txt(gdf, target, overwrite=overwrite)
    elif suffix == ".csv":
        from ..io.wkt_table import CRS_COLUMN, WKT_COLUMN
        frame = gdf.drop(columns=gdf.geometry.name).assign(**{WKT_COLUMN: gdf.geometry.to_wkt(),
                                                              CRS_COLUMN: gdf.crs.to_string()})
        write_csv(frame, target)  # BOM so Excel shows Chinese correctly; formula-like text neutralised
    else:
        driver = _SUFFIXES[suffix]
        from ..io.gpkg import write_settings  # imports pyogrio: kept out of `sanxian --help`

        with write_settings():
            gdf.to_file(target, driver=driver)


def _check_lonlat(lon: float, lat: float, source: str, target: str, *, finite_only: bool = False) -> None:
    """Refuse a non-finite or out-of-range longitude/latitude (limits in data/input_limits.toml)."""
    import math

    from ..crs.plausibility import point_typos
    from ..errors import InputFileError, problem
    from ..io.safety import limits

    lim = limits()
    (lon_lo, lon_hi), (lat_lo, lat_hi) = lim.lon_range, lim.lat_range
    if not (math.isfinite(lon) and math.isfinite(lat)):
        fail(InputFileError(problem("经纬度必须是有限的数值。", f"Longitude and latitude must be finite numbers, got "
                                    f"{lon} {lat}.", fix=f"give decimal degrees, e.g. sanxian coords convert 113.37 "
                                                        f"31.69 --from {source} --to {target}")))
    if finite_only:
        return
    typos = point_typos(lon, lat)
    out = [(value, lo, hi, axis, zh, typo) for value, lo, hi, axis, zh, typo in
           ((lon, lon_lo, lon_hi, "longitude", "经度", typos[0]), (lat, lat_lo, lat_hi, "latitude", "纬度", typos[1]))
           if not lo <= value <= hi]
    if not out:
        return
    zh_text = "；".join(f"{zh} {value:.10g} 超出有效范围 [{lo:g}, {hi:g}]" for value, lo, hi, _, zh, _ in out) + "。"
    en_text = ("; ".join(f"{axis} {value:.10g} is outside [{lo:g}, {hi:g}] degrees"
                         for value, lo, hi, axis, _, _ in out) + ".").capitalize()
    hinted = [f"check the {axis}: {value:.10g} may be a {typo.removeprefix(' — ').rstrip('?')}"
              for value, _, _, axis, _, typo in out if typo]
    if lon_lo <= lat <= lon_hi and lat_lo <= lon <= lat_hi and not lat_lo <= lat <= lat_hi:
        fix = f"longitude and latitude look swapped: sanxian coords convert {lat:.10g} {lon:.10g}"
    elif hinted:
        fix = "; ".join(hinted) + " (a misplaced decimal point)"
    else:
        fix = "give decimal degrees, longitude first (e.g. 113.37 31.69)"
    fail(InputFileError(problem(zh_text, en_text, fix=fix)))


@coords_app.command("convert")
def coords_convert(lon: float = typer.Argument(..., help="Longitude / 经度"),
                   lat: float = typer.Argument(..., help="Latitude / 纬度"),
                   source: str = typer.Option(..., "--from", help="wgs84, gcj02 (amap, gaode, tencent) or "
                                                                  "bd09 (baidu)"),
                   target: str = typer.Option("wgs84", "--to", help="wgs84, gcj02 (amap, gaode, tencent) or "
                                                                    "bd09 (baidu)")) -> None:
    """Convert one point between WGS84, GCJ-02 (Amap/Tencent) and BD-09 (Baidu)."""
    from .. import crs as crsmod

    funcs = {("gcj02", "wgs84"): crsmod.gcj02_to_wgs84, ("wgs84", "gcj02"): crsmod.wgs84_to_gcj02,
             ("bd09", "wgs84"): crsmod.bd09_to_wgs84, ("wgs84", "bd09"): crsmod.wgs84_to_bd09,
             ("gcj02", "bd09"): crsmod.gcj02_to_bd09, ("bd09", "gcj02"): crsmod.bd09_to_gcj02}
    from ..io.vector import WEB_MAP_CRS

    def canonical(name: str) -> str:
        # Amap/Gaode/Tencent use GCJ-02 and Baidu BD-09: the same aliases as --crs of the file commands.
        return WEB_MAP_CRS.get(name.strip().upper(), name.strip().lower().replace("-", ""))

    key = (canonical(source), canonical(target))
    if key not in funcs:
        raise typer.BadParameter(f"cannot convert {source} → {target}; use wgs84, gcj02 (amap, gaode, tencent) "
                                 "or bd09 (baidu)")
    _check_lonlat(lon, lat, source, target, finite_only=True)
    if crsmod.outside_mainland_china(lon, lat)[0] and not crsmod.outside_mainland_china(lat, lon)[0]:
        # GCJ-02 and BD-09 are defined only over mainland China: a swapped pair would come back unchanged.
        fail(ValueError(f"经纬度顺序可能颠倒：{lon} {lat} 不在中国境内，而 {lat} {lon} 在。 / The point {lon} {lat} "
                        f"lies outside mainland China but {lat} {lon} lies inside: longitude and latitude look "
                        f"swapped. Fix: give the longitude first, e.g. sanxian coords convert {lat} {lon} "
                        f"--from {source} --to {target}"))
    _check_lonlat(lon, lat, source, target)
    x, y = funcs[key](lon, lat)
    console.print(f"{x:.7f} {y:.7f}")
