// The mission's documents and what is computed from them: geography, stats, mandate,
// humanitarian movement, the daily report, and who the caller is.
#include "server/server_impl.h"

namespace truce::server {

void ServerImpl::get_document(Response& res, const std::string& name) {
  Result<std::optional<std::string>> d = Status::Internal("");
  {
    std::lock_guard lk(store_mu_);
    d = store_->document(name);
  }
  if (!d.ok()) return send_status(res, d.status());
  if (!*d)
    return send_error(res, 404, "not_found",
                      "the mission has no " + name + " yet (truce import " + name + ")");
  if (name != "places") return res.set_content(**d, "application/geo+json");
  // The gazetteer is stored in its own compact form: serve it as GeoJSON points, with the credit
  // its source asks for (GeoNames: CC BY 4.0).
  auto g = geo::Gazetteer::deserialize(**d, "places (mission database)");
  if (!g.ok()) return send_error(res, 500, "corrupt_places", g.status().ToString());
  json features = json::array();
  for (const auto& p : g->places()) {
    features.push_back(
        {{"type", "Feature"},
         {"properties", {{"name", p.name}, {"population", p.population}, {"credit", p.credit}}},
         {"geometry", {{"type", "Point"}, {"coordinates", {p.pos.lon, p.pos.lat}}}}});
  }
  res.set_content(json({{"type", "FeatureCollection"}, {"features", features}}).dump(),
                  "application/geo+json");
}

void ServerImpl::get_stats(Response& res, const Caller& c) {
  Result<StoreStats> st = Status::Internal("");
  {
    std::lock_guard lk(store_mu_);
    st = store_->stats();
  }
  if (!st.ok()) return send_status(res, st.status());
  json by_kind = json::object();
  for (const auto& [k, n] : st->by_kind) by_kind[k] = n;
  json body = {{"observations", st->observations}, {"by_kind", by_kind}};
  if (c.role != "public") {
    body["observers"] = st->observers;
    body["rejected"] = st->rejected;
    body["conflicts"] = st->conflicts;
  }
  res.set_content(body.dump(), "application/json");
}

void ServerImpl::get_humanitarian(const Request& req, Response& res) {
  std::int64_t at = now().ms / 86'400'000;
  if (req.has_param("at")) {
    auto d = agreement::parse_date(req.get_param_value("at"));
    if (!d.ok()) return send_error(res, 400, "invalid_argument", d.status().message(), "at");
    at = *d;
  }
  Result<pipeline::MovementRecords> m = Status::Internal("");
  {
    std::lock_guard lk(store_mu_);
    m = pipeline::movement_records(*store_);
  }
  if (!m.ok()) return send_status(res, m.status());
  res.set_content(agreement::summary_json(agreement::summarize(m->crossings, m->baselines, at)),
                  "application/json");
}

void ServerImpl::get_daily_report(const Request& req, Response& res, const Caller& c) {
  if (!req.has_param("date"))
    return send_error(res, 400, "invalid_argument", "date=YYYY-MM-DD is required", "date");
  auto day = report::parse_day(req.get_param_value("date"));
  if (!day.ok()) return send_error(res, 400, "invalid_argument", day.status().message(), "date");
  const std::string format = req.has_param("format") ? req.get_param_value("format") : "json";
  if (format != "json" && format != "html" && format != "md")
    return send_error(res, 400, "invalid_argument", "format: expected json, html or md", "format");
  Result<report::ReportInputs> inputs = Status::Internal("");
  {
    std::lock_guard lk(store_mu_);
    inputs = pipeline::gather_report_inputs(*store_, *day);
  }
  if (!inputs.ok()) return send_status(res, inputs.status());
  report::Options o;
  // Only staff get the full edition: an observer sees no other post's position or bearings and no
  // analysts' notes, as in the public edition.
  o.public_view = c.role != "analyst" && c.role != "admin";
  o.public_grid_deg = opts_.public_grid_deg;
  auto model = report::build_daily_report(*inputs, o);
  if (!model.ok()) return send_error(res, 500, "internal", model.status().message());
  if (format == "html") {
    // Self-contained: inline styles and SVG, nothing fetched.
    res.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    return res.set_content(report::to_html(*model), "text/html; charset=utf-8");
  }
  if (format == "md") return res.set_content(report::to_markdown(*model), "text/markdown; charset=utf-8");
  res.set_content(report::to_json(*model), "application/json");
}

void ServerImpl::get_me(Response& res, const Caller& c) {
  json j = {{"role", c.role.empty() ? json(nullptr) : json(c.role)},
            {"name", c.user ? json(c.user->name) : json(nullptr)},
            {"credentials", c.bad_credentials ? "invalid"
                            : c.user          ? "valid"
                                              : "none"},
            {"public_view", opts_.public_view}};
  res.set_content(j.dump(), "application/json");
}

void ServerImpl::get_mandate(const Request& req, Response& res) {
  Instant at = now();
  if (req.has_param("at")) {
    auto t = parse_instant(req.get_param_value("at"));
    if (!t.ok()) return send_error(res, 400, "invalid_argument", t.status().message(), "at");
    at = *t;
  }
  Result<std::optional<std::string>> doc = Status::Internal("");
  {
    std::lock_guard lk(store_mu_);
    doc = store_->document("agreement");
  }
  if (!doc.ok()) return send_status(res, doc.status());
  if (!*doc)
    return send_error(res, 404, "not_found",
                      "the mission has no agreement yet (truce import agreement FILE)");
  auto a = agreement::parse_agreement(**doc, "agreement (mission database)");
  if (!a.ok()) return send_error(res, 500, "corrupt_agreement", a.status().ToString());
  auto st = agreement::mandate_status(*a, at);
  if (!st.ok()) return send_error(res, 422, "invalid_argument", st.status().message(), "at");
  res.set_content(agreement::status_json(*a, *st), "application/json");
}

}  // namespace truce::server
