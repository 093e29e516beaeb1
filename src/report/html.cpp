// The report as one self-contained HTML page: inline CSS, an inline SVG map drawn from the model's
// geography and incidents, inline SVG charts. No script, no font, no image is fetched: the page
// reads the same offline and prints on A4 (headless Chromium turns it into the PDF).
#include <algorithm>
#include <cmath>
#include <map>

#include "report/internal.h"
#include "truce/report/report.h"

namespace truce::report {

namespace {

using detail::fixed;
using detail::html_escape;
using detail::thousands;

constexpr double kPi = 3.14159265358979323846;

const char* kind_colour(std::string_view k) {
  if (k == "small_arms") return "#1f77b4";
  if (k == "heavy_mg") return "#17becf";
  if (k == "mortar") return "#ff7f0e";
  if (k == "explosion") return "#bcbd22";
  if (k == "artillery") return "#d62728";
  if (k == "mlrs") return "#7b1fa2";
  if (k == "drone") return "#2ca02c";
  if (k == "movement") return "#8c564b";
  return "#7f7f7f";
}

// Control zones by party: a few quiet fills, assigned in order of first appearance.
const char* party_fill(std::size_t i) {
  static const char* kFills[] = {"#e8eef8", "#f8ece4", "#eaf4e6", "#f3e9f5", "#f5f3df"};
  return kFills[i % 5];
}

// A length near a fifth of the map for the scale bar: 1, 2 or 5 times a power of ten (metres).
double nice_length(double metres) {
  const double p = std::pow(10.0, std::floor(std::log10(metres)));
  for (double m : {5.0, 2.0, 1.0})
    if (m * p <= metres) return m * p;
  return p;
}

double nice_max(std::int64_t v) {
  if (v <= 5) return 5;
  const double p = std::pow(10.0, std::floor(std::log10(static_cast<double>(v))));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * p >= static_cast<double>(v)) return m * p;
  return 10 * p;
}

// An axis label: whole numbers as such, else one decimal ("12.5").
std::string tick(double v) { return fixed(v, std::fabs(v - std::round(v)) < 1e-9 ? 0 : 1); }

struct Projection {
  double min_lon, max_lat, kx, s;  // s: pixels per degree of latitude
  double w, h;
  double x(double lon) const { return (lon - min_lon) * kx * s; }
  double y(double lat) const { return (max_lat - lat) * s; }
  double px_per_m = 0;
};

std::string pt(double x, double y) { return fixed(x, 1) + "," + fixed(y, 1); }

void svg_map(std::string& o, const DailyReport& r) {
  const MapModel& m = r.map;
  if (!(m.max_lat > m.min_lat) || !(m.max_lon > m.min_lon)) {
    o += "<p class=\"note\">No map: the mission has no geography and no incident was located.</p>\n";
    return;
  }
  Projection p{};
  p.min_lon = m.min_lon;
  p.max_lat = m.max_lat;
  const double mid = (m.min_lat + m.max_lat) / 2 * kPi / 180;
  p.kx = std::cos(mid);
  const double spanx = (m.max_lon - m.min_lon) * p.kx, spany = m.max_lat - m.min_lat;
  p.s = std::min(1000.0 / spanx, 1300.0 / spany);
  p.w = spanx * p.s, p.h = spany * p.s;
  // Metres per degree of latitude on WGS84 at the map's middle latitude.
  const double m_per_deg = 111132.954 - 559.822 * std::cos(2 * mid) + 1.175 * std::cos(4 * mid);
  p.px_per_m = p.s / m_per_deg;

  o += "<svg class=\"map\" viewBox=\"0 0 " + fixed(p.w, 1) + " " + fixed(p.h, 1) +
       "\" role=\"img\" aria-label=\"map of the day's incidents\">\n";
  o += "<defs><clipPath id=\"frame\"><rect x=\"0\" y=\"0\" width=\"" + fixed(p.w, 1) + "\" height=\"" +
       fixed(p.h, 1) +
       "\"/></clipPath><pattern id=\"hatch\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" "
       "patternTransform=\"rotate(45)\"><rect width=\"8\" height=\"8\" fill=\"#f4f4f4\"/><line x1=\"0\" "
       "y1=\"0\" "
       "x2=\"0\" y2=\"8\" stroke=\"#bbb\" stroke-width=\"2\"/></pattern></defs>\n";
  o += "<rect class=\"sea\" x=\"0\" y=\"0\" width=\"" + fixed(p.w, 1) + "\" height=\"" + fixed(p.h, 1) +
       "\" fill=\"#fbfbf8\"/>\n";
  o += "<g clip-path=\"url(#frame)\">\n";
  std::map<std::string, std::size_t> party_index;
  for (const auto& z : m.zones) {
    std::string fill = "none", stroke = "#999";
    if (z.kind == "control") {
      auto [it, fresh] = party_index.try_emplace(z.party, party_index.size());
      fill = party_fill(it->second);
    } else if (z.kind == "buffer") {
      fill = "url(#hatch)";
    } else if (z.kind == "corridor") {
      fill = "#fff3b0", stroke = "#c9a400";
    } else {
      fill = "#ffe0cc", stroke = "#e07b39";
    }
    std::string d;
    for (const auto& ring : z.rings) {
      for (std::size_t i = 0; i < ring.size(); ++i)
        d += (i ? "L" : "M") + pt(p.x(ring[i].lon), p.y(ring[i].lat));
      d += "Z";
    }
    o += "<path class=\"zone zone-" + html_escape(z.kind) + "\" data-zone=\"" + html_escape(z.id) +
         "\" d=\"" + d + "\" fill=\"" + fill + "\" fill-rule=\"evenodd\" stroke=\"" + stroke +
         "\" stroke-width=\"0.8\"><title>" +
         html_escape(z.kind + " zone " + z.id + (z.party.empty() ? "" : " (" + z.party + ")")) +
         "</title></path>\n";
  }
  for (const auto& l : m.loc) {
    std::string pts;
    for (const auto& v : l) pts += (pts.empty() ? "" : " ") + pt(p.x(v.lon), p.y(v.lat));
    o += "<polyline class=\"loc\" points=\"" + pts +
         "\" fill=\"none\" stroke=\"#b00020\" stroke-width=\"2.2\" stroke-linejoin=\"round\"/>\n";
  }
  for (const auto& pl : m.places) {
    const double x = p.x(pl.pos.lon), y = p.y(pl.pos.lat);
    o += "<g class=\"place\"><rect x=\"" + fixed(x - 2.5, 1) + "\" y=\"" + fixed(y - 2.5, 1) +
         "\" width=\"5\" height=\"5\" fill=\"#333\"/><text x=\"" + fixed(x + 5, 1) + "\" y=\"" +
         fixed(y - 4, 1) +
         "\" font-size=\"11\" fill=\"#222\" stroke=\"#fff\" stroke-width=\"2.5\" paint-order=\"stroke\">" +
         html_escape(pl.name) + "</text></g>\n";
  }
  for (const auto& ps : m.posts) {
    const double x = p.x(ps.pos.lon), y = p.y(ps.pos.lat);
    o += "<path class=\"post\" d=\"M" + pt(x, y - 5) + "L" + pt(x + 4.5, y + 3.5) + "L" +
         pt(x - 4.5, y + 3.5) + "Z\" fill=\"#fff\" stroke=\"#004d40\" stroke-width=\"1.4\"><title>" +
         html_escape(ps.type + " " + ps.id + (ps.party.empty() ? "" : " (" + ps.party + ")")) +
         "</title></path>\n";
  }
  o += "<g class=\"incidents\">\n";
  for (const auto& i : r.incident_list) {
    if (!i.origin) continue;
    const double x = p.x(i.origin->lon), y = p.y(i.origin->lat);
    const char* col = kind_colour(i.kind);
    o += "<g class=\"incident\" data-id=\"" + html_escape(i.id) + "\" data-kind=\"" + html_escape(i.kind) +
         "\">";
    if (i.ellipse) {
      const double rx = std::max(i.ellipse->semi_major_m * p.px_per_m, 0.5);
      const double ry = std::max(i.ellipse->semi_minor_m * p.px_per_m, 0.5);
      o += "<ellipse cx=\"" + fixed(x, 1) + "\" cy=\"" + fixed(y, 1) + "\" rx=\"" + fixed(rx, 1) +
           "\" ry=\"" + fixed(ry, 1) + "\" transform=\"rotate(" +
           fixed(i.ellipse->major_azimuth_deg - 90, 1) + " " + pt(x, y) + ")\" fill=\"" + col +
           "\" fill-opacity=\"0.12\" stroke=\"" + col + "\" stroke-width=\"0.7\"/>";
    }
    o += "<circle cx=\"" + fixed(x, 1) + "\" cy=\"" + fixed(y, 1) + "\" r=\"2.6\" fill=\"" + col +
         "\" stroke=\"#fff\" stroke-width=\"0.6\"/><title>" +
         html_escape(i.time + " " + i.kind + (i.place.empty() ? "" : ", " + i.place) + ", " + i.status) +
         "</title></g>\n";
  }
  o += "</g>\n</g>\n";
  // Scale bar (bottom left) and north arrow (top right).
  const double len_m = nice_length(p.w / 5 / p.px_per_m), len_px = len_m * p.px_per_m;
  const double bx = 16, by = p.h - 18;
  o += "<g class=\"scale-bar\"><rect x=\"" + fixed(bx - 6, 1) + "\" y=\"" + fixed(by - 18, 1) +
       "\" width=\"" + fixed(len_px + 12, 1) +
       "\" height=\"28\" fill=\"#fff\" fill-opacity=\"0.8\"/><path d=\"M" + pt(bx, by - 5) + "V" +
       fixed(by, 1) + "H" + fixed(bx + len_px, 1) + "V" + fixed(by - 5, 1) +
       "\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\"/><text x=\"" + fixed(bx + len_px / 2, 1) +
       "\" y=\"" + fixed(by - 8, 1) + "\" font-size=\"11\" text-anchor=\"middle\">" +
       geo::format_distance(len_m) + "</text></g>\n";
  const double nx = p.w - 24, ny = 16;
  o += "<g class=\"north-arrow\"><path d=\"M" + pt(nx, ny) + "L" + pt(nx + 8, ny + 24) + "L" +
       pt(nx, ny + 18) + "L" + pt(nx - 8, ny + 24) + "Z\" fill=\"#000\"/><text x=\"" + fixed(nx, 1) +
       "\" y=\"" + fixed(ny + 38, 1) +
       "\" font-size=\"12\" font-weight=\"bold\" text-anchor=\"middle\">N</text></g>\n";
  o += "<rect x=\"0\" y=\"0\" width=\"" + fixed(p.w, 1) + "\" height=\"" + fixed(p.h, 1) +
       "\" fill=\"none\" stroke=\"#444\" stroke-width=\"1\"/>\n</svg>\n";
}

void legend(std::string& o, const DailyReport& r) {
  o += "<p class=\"legend\">";
  std::vector<std::string> kinds;
  for (const auto& c : r.by_kind) kinds.push_back(c.key);
  std::sort(kinds.begin(), kinds.end());
  for (const auto& k : kinds)
    o += "<span><svg width=\"10\" height=\"10\"><circle cx=\"5\" cy=\"5\" r=\"4\" fill=\"" +
         std::string(kind_colour(k)) + "\"/></svg> " + html_escape(k) + "</span> ";
  o += "<span><svg width=\"18\" height=\"10\"><line x1=\"0\" y1=\"5\" x2=\"18\" y2=\"5\" stroke=\"#b00020\" "
       "stroke-width=\"2.2\"/></svg> line of contact</span> ";
  if (!r.map.posts.empty())
    o += "<span><svg width=\"10\" height=\"10\"><path d=\"M5,0L9.5,9L0.5,9Z\" fill=\"#fff\" "
         "stroke=\"#004d40\"/></svg> "
         "observer post</span> ";
  o += "Ellipses: 2-sigma uncertainty of the origin.";
  if (r.is_public) o += " Public edition: locations rounded, no ellipses, no posts.";
  o += "</p>\n";
}

void bar_chart_hours(std::string& o, const DailyReport& r) {
  std::int64_t top = 0;
  for (auto n : r.by_hour) top = std::max(top, n);
  const double ymax = nice_max(top), W = 720, H = 200, L = 40, B = 24, T = 10;
  const double bw = (W - L - 10) / 24;
  o += "<svg class=\"chart chart-hours\" viewBox=\"0 0 720 200\" role=\"img\" aria-label=\"incidents by "
       "hour\">\n";
  for (int t = 0; t <= 4; ++t) {
    const double y = T + (H - B - T) * (1 - t / 4.0);
    o += "<line x1=\"" + fixed(L, 0) + "\" y1=\"" + fixed(y, 1) + "\" x2=\"" + fixed(W - 10, 0) + "\" y2=\"" +
         fixed(y, 1) + "\" stroke=\"#ddd\"/><text x=\"" + fixed(L - 4, 0) + "\" y=\"" + fixed(y + 4, 1) +
         "\" font-size=\"10\" text-anchor=\"end\">" + tick(ymax * t / 4) + "</text>\n";
  }
  for (std::size_t h = 0; h < 24; ++h) {
    const double bh = (H - B - T) * static_cast<double>(r.by_hour[h]) / ymax;
    const double x = L + bw * static_cast<double>(h);
    o += "<rect class=\"bar\" data-hour=\"" + std::to_string(h) + "\" data-n=\"" +
         std::to_string(r.by_hour[h]) + "\" x=\"" + fixed(x + 1, 1) + "\" y=\"" + fixed(H - B - bh, 1) +
         "\" width=\"" + fixed(bw - 2, 1) + "\" height=\"" + fixed(bh, 1) + "\" fill=\"#4a6fa5\"><title>" +
         std::to_string(h) + ":00 " + thousands(r.by_hour[h]) + "</title></rect>";
    if (h % 3 == 0)
      o += "<text x=\"" + fixed(x + bw / 2, 1) + "\" y=\"" + fixed(H - 8, 0) +
           "\" font-size=\"10\" text-anchor=\"middle\">" + (h < 10 ? "0" : "") + std::to_string(h) +
           "</text>";
    o += "\n";
  }
  o += "</svg>\n";
}

void trend_chart(std::string& o, const DailyReport& r) {
  std::int64_t top = 0;
  for (const auto& d : r.trend) top = std::max(top, d.total);
  const double ymax = nice_max(top), W = 720, H = 220, L = 40, B = 30, T = 10;
  const double bw = (W - L - 10) / static_cast<double>(std::max<std::size_t>(r.trend.size(), 1));
  o += "<svg class=\"chart chart-trend\" viewBox=\"0 0 720 220\" role=\"img\" aria-label=\"incidents by "
       "kind, 30 days\">\n";
  for (int t = 0; t <= 4; ++t) {
    const double y = T + (H - B - T) * (1 - t / 4.0);
    o += "<line x1=\"" + fixed(L, 0) + "\" y1=\"" + fixed(y, 1) + "\" x2=\"" + fixed(W - 10, 0) + "\" y2=\"" +
         fixed(y, 1) + "\" stroke=\"#ddd\"/><text x=\"" + fixed(L - 4, 0) + "\" y=\"" + fixed(y + 4, 1) +
         "\" font-size=\"10\" text-anchor=\"end\">" + tick(ymax * t / 4) + "</text>\n";
  }
  for (std::size_t j = 0; j < r.trend.size(); ++j) {
    const auto& d = r.trend[j];
    const double x = L + bw * static_cast<double>(j);
    double y = H - B;
    o += "<g class=\"day\" data-date=\"" + d.date + "\" data-total=\"" + std::to_string(d.total) + "\">";
    for (const auto& k : d.by_kind) {
      const double bh = (H - B - T) * static_cast<double>(k.n) / ymax;
      y -= bh;
      o += "<rect x=\"" + fixed(x + 1, 1) + "\" y=\"" + fixed(y, 1) + "\" width=\"" + fixed(bw - 2, 1) +
           "\" height=\"" + fixed(bh, 1) + "\" fill=\"" + kind_colour(k.key) + "\"><title>" + d.date + " " +
           html_escape(k.key) + ": " + thousands(k.n) + "</title></rect>";
    }
    o += "</g>";
    if (j % 5 == 4 || j + 1 == r.trend.size())
      o += "<text x=\"" + fixed(x + bw / 2, 1) + "\" y=\"" + fixed(H - 12, 0) +
           "\" font-size=\"10\" text-anchor=\"middle\">" + d.date.substr(5) + "</text>";
    o += "\n";
  }
  o += "</svg>\n<p class=\"legend\">";
  for (const auto& k : r.trend_kinds)
    o += "<span><svg width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\" fill=\"" +
         std::string(kind_colour(k)) + "\"/></svg> " + html_escape(k) + "</span> ";
  o += "</p>\n";
}

void count_table(std::string& o, const char* title, const char* what, const std::vector<Count>& rows,
                 const char* cls) {
  o += "<div class=\"block\"><h3>" + std::string(title) + "</h3>";
  if (rows.empty()) {
    o += "<p>No incidents.</p></div>\n";
    return;
  }
  o += "<table class=\"" + std::string(cls) + "\"><tr><th>" + what +
       "</th><th class=\"n\">incidents</th></tr>";
  for (const auto& c : rows)
    o += "<tr><td>" + html_escape(c.key) + "</td><td class=\"n\" data-n=\"" + std::to_string(c.n) + "\">" +
         thousands(c.n) + "</td></tr>";
  o += "</table></div>\n";
}

std::string total(const char* key, std::int64_t v) {
  return "<span class=\"total\" data-key=\"" + std::string(key) + "\" data-value=\"" + std::to_string(v) +
         "\">" + thousands(v) + "</span>";
}

const char* kCss = R"(
@page { size: A4; margin: 14mm 13mm 16mm 13mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 10.5pt; color: #111; margin: 0 auto; max-width: 190mm; line-height: 1.35; }
h1 { font-size: 18pt; margin: 0 0 2mm; } h2 { font-size: 13pt; margin: 6mm 0 2mm; border-bottom: 1px solid #999; } h3 { font-size: 10.5pt; margin: 0 0 1mm; }
.sub { color: #444; margin: 0 0 3mm; }
.banner { border: 2px solid #b00020; color: #b00020; padding: 2mm 3mm; font-weight: bold; margin: 3mm 0; }
.public { border: 1px solid #555; padding: 1.5mm 3mm; margin: 2mm 0; }
.totals { display: flex; flex-wrap: wrap; gap: 3mm; margin: 2mm 0; }
.totals div { border: 1px solid #ccc; padding: 2mm 3mm; min-width: 38mm; }
.total { font-size: 15pt; font-weight: bold; display: block; }
.grid { display: flex; flex-wrap: wrap; gap: 5mm; }
.block { break-inside: avoid; min-width: 55mm; }
table { border-collapse: collapse; font-size: 9.5pt; }
th, td { border-bottom: 1px solid #ddd; padding: 0.8mm 2mm; text-align: left; vertical-align: top; }
.n { text-align: right; font-variant-numeric: tabular-nums; }
ol.notable li { margin-bottom: 1.5mm; break-inside: avoid; }
.why { color: #555; font-size: 9pt; }
svg.map { width: 100%; height: auto; max-height: 200mm; display: block; break-inside: avoid; }
svg.chart { width: 100%; height: auto; display: block; break-inside: avoid; }
.legend { font-size: 8.5pt; color: #333; } .legend span { margin-right: 3mm; white-space: nowrap; }
.note { color: #444; font-size: 9pt; }
section { break-inside: avoid-page; }
footer { margin-top: 6mm; font-size: 8.5pt; color: #555; border-top: 1px solid #999; padding-top: 2mm; }
@media print { h2 { break-after: avoid; } .mapsec { break-before: page; } }
)";

}  // namespace

std::string to_html(const DailyReport& r) {
  std::string o;
  o.reserve(4096 + r.incident_list.size() * 420);
  o += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  o += "<meta name=\"generator\" content=\"truce\">\n";
  o += "<title>Daily report " + r.date + (r.is_public ? " (public)" : "") + "</title>\n<style>" + kCss +
       "</style>\n</head>\n<body>\n";
  o += "<header><h1>Daily report " + r.date + "</h1><p class=\"sub\">" + html_escape(r.mission) +
       ". All times UTC; the day runs " + r.date + " 00:00 to 24:00 UTC.</p>";
  if (r.is_public)
    o += "<p class=\"public\">Public edition: no observer identities or positions, locations rounded, "
         "analyst notes left "
         "out.</p>";
  if (r.simulated_observations > 0)
    o += "<p class=\"banner simulated\">SIMULATED DATA: " + thousands(r.simulated_observations) + " of " +
         thousands(r.observations) +
         " observations of this day are simulated (generated, not real reports); " +
         thousands(r.simulated_incidents) + " incidents rest on simulated observations only.</p>";
  o += "</header>\n";

  o += "<section><h2>Summary</h2><div class=\"totals\">";
  o += "<div>incidents" + total("incidents", r.incidents) + "</div>";
  o += "<div>located" + total("located", r.located) + "</div>";
  o += "<div>observations" + total("observations", r.observations) + "</div>";
  o += "<div>simulated observations" + total("simulated_observations", r.simulated_observations) + "</div>";
  o += "<div>breaking a rule" + total("breaking_rules", r.incidents_breaking_rules) + "</div></div>\n";
  const Change& c = r.change;
  o += "<p class=\"change\">Against the previous day (" + thousands(c.previous_day) + "): <b>" +
       detail::signed_int(c.vs_previous_day) + detail::pct(c.vs_previous_day_pct) +
       "</b>. Against the mean of the previous 7 days (" + detail::fixed_thousands(c.mean_7d, 1) + "): <b>" +
       detail::signed_fixed(c.vs_mean_7d, 1) + detail::pct(c.vs_mean_7d_pct) + "</b>.</p>\n";
  o += "<div class=\"grid\">\n";
  count_table(o, "By kind", "kind", r.by_kind, "by-kind");
  count_table(o, "By party of origin", "party", r.by_party, "by-party");
  count_table(o, "Verification", "status", r.verification, "verification");
  o += "<div class=\"block\"><h3>Violations by rule</h3>";
  if (r.violations.empty()) {
    o += "<p>No incident breaks a rule of the agreement.</p>";
  } else {
    o += "<table class=\"violations\"><tr><th>rule</th><th>title</th><th class=\"n\">incidents</th></tr>";
    for (const auto& v : r.violations)
      o += "<tr><td>" + html_escape(v.rule) + "</td><td>" + html_escape(v.title) + "</td><td class=\"n\">" +
           thousands(v.incidents) + "</td></tr>";
    o += "</table>";
  }
  o += "</div>\n</div></section>\n";

  o += "<section><h2>Notable incidents</h2>";
  if (r.notable.empty())
    o += "<p>None.</p>";
  else {
    o += "<ol class=\"notable\">";
    for (const auto& n : r.notable) {
      std::string why;
      for (const auto& w : n.why) why += (why.empty() ? "" : "; ") + w;
      o += "<li data-id=\"" + html_escape(n.id) + "\">" + html_escape(n.text) + " <span class=\"why\">(" +
           html_escape(n.id) + ": " + html_escape(why) + ")</span></li>";
    }
    o += "</ol>";
  }
  o += "</section>\n";

  o += "<section><h2>Mandate</h2><p class=\"mandate\">" +
       (r.mandate.empty() ? std::string("No agreement with a term is on record.")
                          : html_escape(r.mandate) + " (as of the end of " + r.date + ")") +
       "</p>";
  if (r.humanitarian) {
    const Humanitarian& h = *r.humanitarian;
    o += "<h3>Humanitarian movement</h3><ul class=\"humanitarian\">";
    if (h.day_out || h.day_in)
      o += "<li>This day: " + thousands(h.day_out.value_or(0)) + " people out, " +
           thousands(h.day_in.value_or(0)) + " in.</li>";
    o += "<li>Up to " + h.as_of + ": " + thousands(h.total_out) + " people out, " + thousands(h.total_in) +
         " in.</li>";
    if (h.baseline_population) {
      o += "<li>Baseline: " + thousands(*h.baseline_population) + " (" + html_escape(h.baseline_area) + ")";
      if (h.share_out_pct) o += "; departed " + fixed(*h.share_out_pct, 1) + " %";
      o += ".</li>";
    }
    for (const auto& s : h.sources) o += "<li class=\"note\">Source: " + html_escape(s) + "</li>";
    o += "</ul>";
  }
  o += "</section>\n";

  o += "<section class=\"mapsec\"><h2>Map</h2>\n";
  svg_map(o, r);
  legend(o, r);
  o += "<p class=\"note\">" + thousands(r.located) + " of " + thousands(r.incidents) +
       " incidents located and shown; the others have bearings only.</p></section>\n";
  o += "<section><h2>Incidents by hour (UTC)</h2>\n";
  bar_chart_hours(o, r);
  o += "</section>\n<section><h2>30 days by kind</h2>\n";
  trend_chart(o, r);
  o += "</section>\n";
  o += "<section><h2>By area (nearest place)</h2><div class=\"grid\">";
  count_table(o, "Areas", "area", r.by_area, "by-area");
  o += "</div></section>\n";
  o += "<footer>Generated by truce from the mission database. Zones and line of contact: the mission's "
       "geography.";
  for (const auto& cr : r.credits) o += " Place names: " + html_escape(cr) + ".";
  o += "</footer>\n</body>\n</html>\n";
  return o;
}

}  // namespace truce::report
