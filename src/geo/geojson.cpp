// GeoJSON (RFC 7946) zones and LoC: parse with bounded depth and size, then validate the geometry
// with GEOS. Errors name the source, the feature (features[i] and its id) and the reason.
#include <geos_c.h>

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "geo/internal.h"
#include "truce/core/json_depth.h"
#include "truce/geo/geography.h"

namespace truce::geo {

namespace {

using nlohmann::json;

// Thrown by the parser callback to stop reading; caught in parse_collection.
struct LimitHit {
  std::string message;
};

std::string fmt_num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string q(std::string_view s) { return "\"" + std::string(s.substr(0, 80)) + "\""; }

// Parses the text into a DOM, enforcing nesting depth and the number of coordinate values.
Result<json> parse_collection(std::string_view text, std::string_view source, const GeoJsonLimits& lim) {
  long feature = -1;
  std::size_t in_feature = 0, total = 0;
  const std::size_t per_feature_values = lim.max_positions_per_feature * 2;
  const std::size_t total_values = lim.max_positions_total * 2;
  auto cb = [&](int depth, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start && depth == 2) {
      ++feature;
      in_feature = 0;
      if (static_cast<std::size_t>(feature) >= lim.max_features)
        throw LimitHit{"more than " + std::to_string(lim.max_features) + " features"};
    } else if (ev == json::parse_event_t::value && parsed.is_number()) {
      ++in_feature;
      ++total;
      if (in_feature > per_feature_values)
        throw LimitHit{"features[" + std::to_string(feature) + "]: geometry has more than " +
                       std::to_string(lim.max_positions_per_feature) + " positions (the limit per feature)"};
      if (total > total_values)
        throw LimitHit{"features[" + std::to_string(feature) + "]: more than " +
                       std::to_string(lim.max_positions_total) + " positions in the file (the limit)"};
    }
    return true;
  };
  TRUCE_RETURN_IF_ERROR(check_json_depth(text, lim.max_depth, source));
  try {
    return json::parse(text.begin(), text.end(), cb);
  } catch (const LimitHit& e) {
    return Status::Invalid(e.message, Location{std::string(source), 0, ""});
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..." -> from "parse
    // error".
    auto p = what.find("parse error");
    return Status::Invalid("invalid JSON: " + (p == std::string::npos ? what : what.substr(p)),
                           Location{std::string(source), 0, ""});
  } catch (const std::exception& e) {
    return Status::Invalid(std::string("invalid JSON: ") + e.what(), Location{std::string(source), 0, ""});
  }
}

// Builds "features[3] (id \"x\"): " prefixes.
struct FeatureRef {
  std::string_view source;
  std::size_t index;
  std::string id;
  std::string prefix() const {
    std::string s = "features[" + std::to_string(index) + "]";
    if (!id.empty()) s += " (id " + q(id) + ")";
    return s + ": ";
  }
  Status invalid(const std::string& msg) const {
    return Status::Invalid(prefix() + msg, Location{std::string(source), 0, ""});
  }
};

std::string path(const std::vector<std::size_t>& idx) {
  std::string s = "coordinates";
  for (auto i : idx) s += "[" + std::to_string(i) + "]";
  return s;
}

Status read_position(const json& j, const FeatureRef& f, const std::vector<std::size_t>& idx, LatLon& out) {
  if (!j.is_array() || j.size() < 2 || j.size() > 3)
    return f.invalid("geometry " + path(idx) + ": expected a position [lon, lat] (optionally with a height)");
  for (std::size_t k = 0; k < j.size(); ++k) {
    if (!j[k].is_number())
      return f.invalid("geometry " + path(idx) + ": expected numbers, got " + j[k].dump().substr(0, 40));
  }
  const double lon = j[0].get<double>(), lat = j[1].get<double>();
  if (!std::isfinite(lon) || lon < -180 || lon > 180)
    return f.invalid("geometry " + path(idx) + ": longitude " + fmt_num(lon) + " out of range [-180, 180]");
  if (!std::isfinite(lat) || lat < -90 || lat > 90)
    return f.invalid("geometry " + path(idx) + ": latitude " + fmt_num(lat) + " out of range [-90, 90]");
  out = {lat, lon};
  return Status::Ok();
}

Status read_line(const json& j, const FeatureRef& f, std::vector<std::size_t> idx, std::vector<LatLon>& out) {
  if (!j.is_array()) return f.invalid("geometry " + path(idx) + ": expected an array of positions");
  out.clear();
  out.reserve(j.size());
  idx.push_back(0);
  for (std::size_t i = 0; i < j.size(); ++i) {
    idx.back() = i;
    LatLon p;
    TRUCE_RETURN_IF_ERROR(read_position(j[i], f, idx, p));
    out.push_back(p);
  }
  return Status::Ok();
}

Status read_ring(const json& j, const FeatureRef& f, const std::vector<std::size_t>& idx,
                 std::vector<LatLon>& out) {
  TRUCE_RETURN_IF_ERROR(read_line(j, f, idx, out));
  const std::string where = "geometry " + path(idx) + ": ";
  if (out.size() < 4)
    return f.invalid(where + "ring has " + std::to_string(out.size()) +
                     " positions; a ring needs at least 4");
  if (!(out.front() == out.back()))
    return f.invalid(where + "ring is not closed: first position (" + fmt_num(out.front().lon) + ", " +
                     fmt_num(out.front().lat) + ") differs from last (" + fmt_num(out.back().lon) + ", " +
                     fmt_num(out.back().lat) + ")");
  return Status::Ok();
}

Status read_polygon(const json& j, const FeatureRef& f, std::vector<std::size_t> idx,
                    std::vector<std::vector<LatLon>>& out) {
  if (!j.is_array() || j.empty())
    return f.invalid("geometry " + path(idx) + ": expected a polygon (an array of at least one ring)");
  out.resize(j.size());
  idx.push_back(0);
  for (std::size_t r = 0; r < j.size(); ++r) {
    idx.back() = r;
    TRUCE_RETURN_IF_ERROR(read_ring(j[r], f, idx, out[r]));
  }
  return Status::Ok();
}

// GEOS context for one validation: messages go nowhere (we read isValidDetail's reason instead).
void geos_quiet(const char*, void*) {}

struct GeosHandle {
  GEOSContextHandle_t h = GEOS_init_r();
  GeosHandle() {
    GEOSContext_setNoticeMessageHandler_r(h, geos_quiet, nullptr);
    GEOSContext_setErrorMessageHandler_r(h, geos_quiet, nullptr);
  }
  ~GeosHandle() { GEOS_finish_r(h); }
  GeosHandle(const GeosHandle&) = delete;
  GeosHandle& operator=(const GeosHandle&) = delete;
};

GEOSGeometry* make_ring(GEOSContextHandle_t h, const std::vector<LatLon>& ring) {
  GEOSCoordSequence* cs = GEOSCoordSeq_create_r(h, static_cast<unsigned>(ring.size()), 2);
  if (!cs) return nullptr;
  for (unsigned i = 0; i < ring.size(); ++i) GEOSCoordSeq_setXY_r(h, cs, i, ring[i].lon, ring[i].lat);
  return GEOSGeom_createLinearRing_r(h, cs);  // takes ownership of cs
}

// GEOS polygon (or multipolygon) of a zone; nullptr on failure. Caller destroys.
GEOSGeometry* make_geos(GEOSContextHandle_t h, const Zone& z) {
  std::vector<GEOSGeometry*> polys;
  for (const auto& poly : z.polygons) {
    GEOSGeometry* shell = make_ring(h, poly[0]);
    std::vector<GEOSGeometry*> holes;
    for (std::size_t r = 1; r < poly.size(); ++r) holes.push_back(make_ring(h, poly[r]));
    bool bad = !shell;
    for (auto* g : holes) bad = bad || !g;
    if (bad) {
      if (shell) GEOSGeom_destroy_r(h, shell);
      for (auto* g : holes)
        if (g) GEOSGeom_destroy_r(h, g);
      for (auto* g : polys) GEOSGeom_destroy_r(h, g);
      return nullptr;
    }
    polys.push_back(GEOSGeom_createPolygon_r(h, shell, holes.empty() ? nullptr : holes.data(),
                                             static_cast<unsigned>(holes.size())));
  }
  if (polys.size() == 1) return polys[0];
  return GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, polys.data(), static_cast<unsigned>(polys.size()));
}

// Human wording for GEOS validity reasons (GEOS 3.11 IsValidOp texts).
std::string explain(const std::string& reason) {
  if (reason == "Self-intersection") return "edges cross (self-intersection)";
  if (reason == "Ring Self-intersection") return "a ring touches itself (ring self-intersection)";
  if (reason == "Hole lies outside shell") return "a hole lies outside its shell";
  if (reason == "Nested shells") return "polygons of the MultiPolygon overlap (nested shells)";
  if (reason == "Nested holes") return "a hole lies inside another hole";
  if (reason == "Interior is disconnected") return "holes cut the polygon apart (interior is disconnected)";
  if (reason == "Too few points") return "a ring has fewer than 4 distinct points";
  if (reason == "Duplicate Rings") return "two rings are identical";
  return reason;
}

Status validate_geos(const Zone& z, const FeatureRef& f) {
  GeosHandle gh;
  GEOSGeometry* g = make_geos(gh.h, z);
  if (!g) return f.invalid("geometry: GEOS could not build it (degenerate ring)");
  char* reason = nullptr;
  GEOSGeometry* where = nullptr;
  const char valid = GEOSisValidDetail_r(gh.h, g, 0, &reason, &where);
  Status st = Status::Ok();
  if (valid == 0) {
    std::string msg = "geometry is not valid: " + explain(reason ? reason : "unknown reason");
    double x = 0, y = 0;
    if (where && GEOSGeomGetX_r(gh.h, where, &x) == 1 && GEOSGeomGetY_r(gh.h, where, &y) == 1)
      msg += " at (" + fmt_num(x) + ", " + fmt_num(y) + ")";
    st = f.invalid(msg);
  } else if (valid != 1) {
    st = f.invalid("geometry: GEOS could not check validity");
  }
  if (reason) GEOSFree_r(gh.h, reason);
  if (where) GEOSGeom_destroy_r(gh.h, where);
  GEOSGeom_destroy_r(gh.h, g);
  return st;
}

// Checks the FeatureCollection envelope; returns the features array.
Result<const json*> features_of(const json& doc, std::string_view source) {
  const Location loc{std::string(source), 0, ""};
  if (!doc.is_object()) return Status::Invalid("expected a GeoJSON FeatureCollection object", loc);
  auto t = doc.find("type");
  if (t == doc.end() || !t->is_string() || *t != "FeatureCollection")
    return Status::Invalid("expected \"type\": \"FeatureCollection\"", loc);
  auto fs = doc.find("features");
  if (fs == doc.end() || !fs->is_array()) return Status::Invalid("expected a \"features\" array", loc);
  return &*fs;
}

// Common per-feature envelope: object, type Feature, geometry object with a type and coordinates.
Status feature_envelope(const json& ft, FeatureRef& f, const json*& props, std::string& gtype,
                        const json*& coords) {
  if (!ft.is_object()) return f.invalid("expected a Feature object");
  auto t = ft.find("type");
  if (t == ft.end() || !t->is_string() || *t != "Feature") return f.invalid("expected \"type\": \"Feature\"");
  props = nullptr;
  if (auto p = ft.find("properties"); p != ft.end() && !p->is_null()) {
    if (!p->is_object()) return f.invalid("\"properties\" must be an object or null");
    props = &*p;
    if (auto id = p->find("id"); id != p->end()) {
      if (id->is_string())
        f.id = id->get<std::string>();
      else if (id->is_number_integer())
        f.id = id->dump();
      else if (!id->is_null())
        return f.invalid("property 'id': expected a string or an integer, got " + id->dump().substr(0, 40));
    }
  }
  auto g = ft.find("geometry");
  if (g == ft.end() || g->is_null()) return f.invalid("missing geometry");
  if (!g->is_object()) return f.invalid("geometry must be an object");
  auto gt = g->find("type");
  if (gt == g->end() || !gt->is_string()) return f.invalid("geometry has no \"type\"");
  gtype = gt->get<std::string>();
  auto c = g->find("coordinates");
  if (c == g->end() || !c->is_array()) return f.invalid("geometry has no \"coordinates\" array");
  coords = &*c;
  return Status::Ok();
}

}  // namespace

std::string_view to_string(ZoneKind k) {
  switch (k) {
    case ZoneKind::kControl:
      return "control";
    case ZoneKind::kBuffer:
      return "buffer";
    case ZoneKind::kCorridor:
      return "corridor";
    case ZoneKind::kWithdrawal:
      return "withdrawal";
  }
  return "control";
}

std::optional<ZoneKind> zone_kind_from_string(std::string_view s) {
  if (s == "control") return ZoneKind::kControl;
  if (s == "buffer") return ZoneKind::kBuffer;
  if (s == "corridor") return ZoneKind::kCorridor;
  if (s == "withdrawal") return ZoneKind::kWithdrawal;
  return std::nullopt;
}

Result<std::vector<Zone>> parse_zones(std::string_view text, std::string_view source,
                                      const GeoJsonLimits& limits) {
  auto doc = parse_collection(text, source, limits);
  if (!doc.ok()) return doc.status();
  auto fs = features_of(*doc, source);
  if (!fs.ok()) return fs.status();
  const json& features = **fs;
  std::vector<Zone> zones;
  zones.reserve(features.size());
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < features.size(); ++i) {
    FeatureRef f{source, i, ""};
    const json* props = nullptr;
    const json* coords = nullptr;
    std::string gtype;
    TRUCE_RETURN_IF_ERROR(feature_envelope(features[i], f, props, gtype, coords));
    Zone z;
    z.id = f.id.empty() ? "feature-" + std::to_string(i + 1) : f.id;
    if (props) {
      if (auto k = props->find("kind"); k != props->end() && !k->is_null()) {
        if (!k->is_string())
          return f.invalid("property 'kind': expected a string, got " + k->dump().substr(0, 40));
        auto kind = zone_kind_from_string(k->get<std::string>());
        if (!kind)
          return f.invalid("property 'kind': unknown kind " + q(k->get<std::string>()) +
                           "; expected control, buffer, corridor or withdrawal");
        z.kind = *kind;
      }
      if (auto p = props->find("party"); p != props->end() && !p->is_null()) {
        if (!p->is_string())
          return f.invalid("property 'party': expected a string or null, got " + p->dump().substr(0, 40));
        z.party = p->get<std::string>();
      }
    }
    if (z.kind == ZoneKind::kControl && z.party.empty()) z.party = z.id;
    if (auto [it, fresh] = seen.emplace(z.id, i); !fresh)
      return f.invalid("duplicate zone id " + q(z.id) + " (also features[" + std::to_string(it->second) +
                       "])");
    if (gtype == "Polygon") {
      z.polygons.emplace_back();
      TRUCE_RETURN_IF_ERROR(read_polygon(*coords, f, {}, z.polygons.back()));
    } else if (gtype == "MultiPolygon") {
      if (coords->empty()) return f.invalid("geometry: MultiPolygon has no polygons");
      z.polygons.resize(coords->size());
      for (std::size_t p = 0; p < coords->size(); ++p)
        TRUCE_RETURN_IF_ERROR(read_polygon((*coords)[p], f, {p}, z.polygons[p]));
    } else {
      return f.invalid("geometry type " + q(gtype) + " is not a zone; expected Polygon or MultiPolygon");
    }
    TRUCE_RETURN_IF_ERROR(validate_geos(z, f));
    zones.push_back(std::move(z));
  }
  if (zones.empty())
    return Status::Invalid("the FeatureCollection has no zones", Location{std::string(source), 0, ""});
  return zones;
}

Result<std::vector<LocLine>> parse_loc(std::string_view text, std::string_view source,
                                       const GeoJsonLimits& limits) {
  auto doc = parse_collection(text, source, limits);
  if (!doc.ok()) return doc.status();
  auto fs = features_of(*doc, source);
  if (!fs.ok()) return fs.status();
  const json& features = **fs;
  std::vector<LocLine> lines;
  for (std::size_t i = 0; i < features.size(); ++i) {
    FeatureRef f{source, i, ""};
    const json* props = nullptr;
    const json* coords = nullptr;
    std::string gtype;
    TRUCE_RETURN_IF_ERROR(feature_envelope(features[i], f, props, gtype, coords));
    const std::string id = f.id.empty() ? "feature-" + std::to_string(i + 1) : f.id;
    auto add = [&](const json& c, const std::vector<std::size_t>& idx) -> Status {
      LocLine l;
      l.id = id;
      TRUCE_RETURN_IF_ERROR(read_line(c, f, idx, l.vertices));
      if (l.vertices.size() < 2)
        return f.invalid("geometry " + path(idx) + ": a line needs at least 2 positions, got " +
                         std::to_string(l.vertices.size()));
      lines.push_back(std::move(l));
      return Status::Ok();
    };
    if (gtype == "LineString") {
      TRUCE_RETURN_IF_ERROR(add(*coords, {}));
    } else if (gtype == "MultiLineString") {
      if (coords->empty()) return f.invalid("geometry: MultiLineString has no lines");
      for (std::size_t p = 0; p < coords->size(); ++p) TRUCE_RETURN_IF_ERROR(add((*coords)[p], {p}));
    } else {
      return f.invalid("geometry type " + q(gtype) +
                       " is not a line of contact; expected LineString or MultiLineString");
    }
  }
  if (lines.empty())
    return Status::Invalid("the FeatureCollection has no lines", Location{std::string(source), 0, ""});
  return lines;
}

}  // namespace truce::geo
