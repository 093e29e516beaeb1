#!/usr/bin/python3
"""Derives the demo mission's geography from the Natural Earth and GeoNames extracts in ../shared/data.

Run once by hand with /usr/bin/python3 (Debian python3-shapely); its outputs are committed next to it:
  zones.geojson   control zones (AZE-held, Armenian-held area under the peacekeepers, Armenia)
                  and the Lachin corridor
  loc.geojson     the 2020 ceasefire lines (the line of contact)
  places.tsv      GeoNames populated places in and around the area (the gazetteer)
See SOURCE.md for what each file is, where it comes from and how far to trust it.
"""
import csv
import json
import os
import sys

from shapely.geometry import LineString, Polygon, box, mapping, shape
from shapely.ops import unary_union

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "..", "shared", "data")
NE = os.path.join(SHARED, "natural-earth-caucasus")
GN = os.path.join(SHARED, "geonames-cities500-caucasus", "cities500_AM_AZ_GE_plus_border.tsv")
# The mission's map: Nagorno-Karabakh with 40-60 km around it.
BBOX = box(45.6, 39.1, 47.9, 40.8)


def load(name):
    with open(os.path.join(NE, name), encoding="utf-8") as f:
        return json.load(f)["features"]


def rounded(geom, nd=5):
    def r(c):
        if isinstance(c[0], (int, float)):
            return [round(c[0], nd), round(c[1], nd)]
        return [r(x) for x in c]

    m = mapping(geom)
    return {"type": m["type"], "coordinates": r(json.loads(json.dumps(m["coordinates"])))}


def main():
    lines = load("nagorno_karabakh_2020_ceasefire_lines_ne_master.geojson")
    area = shape(load("nagorno_karabakh_2020_area_derived.geojson")[0]["geometry"])
    countries = {f["properties"]["iso_a3"]: shape(f["geometry"]) for f in load("countries_10m_caucasus.geojson")}
    edges = [shape(f["geometry"]) for f in lines if "Lachin corridor edge" in f["properties"]["NAME"]]
    south, north = sorted(edges, key=lambda g: g.coords[0][1])
    corridor = Polygon(list(south.coords) + list(reversed(north.coords)))
    aze = countries["AZE"].intersection(BBOX).difference(area)
    arm = countries["ARM"].intersection(BBOX).difference(area)
    zones = [
        ("AZE", "AZE", "control", "Azerbaijan-held territory", aze),
        ("NK", "ARM", "control",
         "Armenian-held area of Nagorno-Karabakh, the peacekeepers' area of responsibility (10 Nov 2020 - Sep 2023)",
         area),
        ("ARM", "ARM", "control", "Armenia", arm),
        ("LACHIN", None, "corridor", "Lachin corridor (5 km wide, under the peacekeepers' control; point 6)", corridor),
    ]
    fc = {"type": "FeatureCollection", "features": []}
    for zid, party, kind, name, g in zones:
        g = g.simplify(0.0005, preserve_topology=True)
        if not g.is_valid or g.is_empty:
            sys.exit(f"zone {zid}: invalid geometry after derivation")
        fc["features"].append({"type": "Feature", "properties": {"id": zid, "party": party, "kind": kind, "name": name},
                               "geometry": rounded(g)})
    with open(os.path.join(HERE, "zones.geojson"), "w", encoding="utf-8") as f:
        json.dump(fc, f, ensure_ascii=False)
        f.write("\n")
    loc = {"type": "FeatureCollection", "features": []}
    for feat in lines:
        p = feat["properties"]
        loc["features"].append({"type": "Feature",
                                "properties": {"id": f"ne-{p['ne_id']}", "kind": "loc", "name": p["NAME"]},
                                "geometry": rounded(shape(feat["geometry"]), 6)})
    with open(os.path.join(HERE, "loc.geojson"), "w", encoding="utf-8") as f:
        json.dump(loc, f, ensure_ascii=False)
        f.write("\n")
    minx, miny, maxx, maxy = BBOX.bounds
    with open(GN, encoding="utf-8") as src, open(os.path.join(HERE, "places.tsv"), "w", encoding="utf-8") as out:
        header = src.readline()
        out.write(header)
        n = 0
        for line in src:
            cols = line.rstrip("\n").split("\t")
            lat, lon = float(cols[4]), float(cols[5])
            if minx <= lon <= maxx and miny <= lat <= maxy and cols[7] != "PPLQ":
                out.write(line)
                n += 1
    print(f"zones {len(fc['features'])}, loc lines {len(loc['features'])}, places {n}")


if __name__ == "__main__":
    main()
