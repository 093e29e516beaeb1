// The route table: who may call what, and the OpenAPI document made from it.
#include "server/server_impl.h"

namespace truce::server {

void ServerImpl::add(Route r) {
  // The query parameters each route takes; the OpenAPI document lists them too.
  static const std::map<std::string, std::vector<std::string>> kParams = {
      {"GET /api/v1/observations", {"from", "to", "observer", "kind", "limit", "cursor"}},
      {"GET /api/v1/rejects", {"limit"}},
      {"GET /api/v1/incidents", {"from", "to", "party", "kind", "status", "rule", "limit", "cursor"}},
      {"GET /api/v1/incidents/summary",
       {"from", "to", "party", "kind", "status", "rule", "cell_deg", "bin_s"}},
      {"GET /api/v1/mandate", {"at"}},
      {"GET /api/v1/humanitarian", {"at"}},
      {"GET /api/v1/reports/daily", {"date", "format"}},
  };
  if (const auto it = kParams.find(r.method + " " + r.path); it != kParams.end()) r.params = it->second;
  r.literal = r.path.find('{') == std::string::npos;
  r.pattern = std::regex(path_pattern(r.path));
  routes_.push_back(std::move(r));
}

void ServerImpl::run_route(const Route& route, Request& req, Response& res) {
  Caller c = authenticate(req, route);
  if (!route.roles.empty()) {
    const bool allowed = std::find(route.roles.begin(), route.roles.end(), c.role) != route.roles.end();
    if (!allowed) {
      if (c.bad_credentials || c.role.empty() || c.role == "public") {
        if (route.openrosa) {
          challenge(res);
        } else {
          res.set_header("WWW-Authenticate", "Bearer realm=\"" + opts_.realm + "\"");
        }
        send_error(res, 401, "unauthorized",
                   c.bad_credentials ? "the credentials are not valid"
                                     : "sign in: send Authorization: Bearer TOKEN");
      } else {
        send_error(res, 403, "forbidden",
                   "role " + c.role + " may not use " + route.method + " " + route.path);
      }
      return;
    }
  }
  if (!check_params(req, res, route.params)) return;
  route.handler(req, res, c);
}

std::vector<std::string> ServerImpl::readers() const {
  if (opts_.public_view) return {"public", "observer", "analyst", "admin"};
  return {"observer", "analyst", "admin"};
}

void ServerImpl::define_routes() {
  const std::vector<std::string> staff = {"analyst", "admin"};
  const std::vector<std::string> submitters = {"observer", "analyst", "admin"};
  add({"GET",
       "/healthz",
       "liveness: 200 when the server and its database answer",
       {},
       false,
       [this](const Request&, Response& res, const Caller&) { healthz(res); }});
  add({"GET", "/metrics", "Prometheus text metrics", staff, false,
       [this](const Request&, Response& res, const Caller&) { metrics(res); }});
  add({"GET",
       "/api/v1/openapi.json",
       "this API, as OpenAPI 3",
       {},
       false,
       [this](const Request&, Response& res, const Caller&) {
         res.set_content(openapi().dump(2), "application/json");
       }});
  add({"POST", "/api/v1/observations", "submit one observation or a batch (a JSON array)", submitters, false,
       [this](const Request& req, Response& res, const Caller& c) { post_observations(req, res, c); }});
  add({"GET", "/api/v1/observations", "list observations: from, to, observer, kind, limit, cursor", staff,
       false, [this](const Request& req, Response& res, const Caller&) { get_observations(req, res); }});
  add({"GET", "/api/v1/observers", "observers as GeoJSON points", staff, false,
       [this](const Request&, Response& res, const Caller&) { get_observers(res); }});
  for (const char* doc : {"zones", "loc", "places"}) {
    add({"GET", std::string("/api/v1/") + doc, std::string("the mission's ") + doc + " as GeoJSON", readers(),
         false, [this, doc](const Request&, Response& res, const Caller&) { get_document(res, doc); }});
  }
  add({"GET", "/api/v1/stats", "counts of what the mission holds", readers(), false,
       [this](const Request&, Response& res, const Caller& c) { get_stats(res, c); }});
  add({"GET", "/api/v1/rejects", "quarantined records", staff, false,
       [this](const Request& req, Response& res, const Caller&) { get_rejects(req, res); }});
  add({"GET", "/api/v1/incidents",
       "incidents: from, to, party, kind, status, rule (lists: a,b), limit (public: rounded, no observers)",
       readers(), false,
       [this](const Request& req, Response& res, const Caller& c) { get_incidents(req, res, c); }});
  add({"GET", "/api/v1/incidents/summary",
       "incidents aggregated for a map and a timeline: the filters of /incidents, cell_deg, bin_s", readers(),
       false, [this](const Request& req, Response& res, const Caller& c) { get_summary(req, res, c); }});
  add({"GET", "/api/v1/events",
       "Server-Sent Events: incident.created|updated|retired|reviewed with the incident's id and version; "
       "send Last-Event-ID to resume",
       readers(), false,
       [this](const Request& req, Response& res, const Caller& c) { get_events(req, res, c); }});
  add({"GET", "/api/v1/incidents/{id}", "one incident with its observations, versions and reviews", readers(),
       false, [this](const Request& req, Response& res, const Caller& c) { get_incident(req, res, c); }});
  add({"PATCH", "/api/v1/incidents/{id}",
       "review an incident: {status, notes, version}; a stale version gets 409", staff, false,
       [this](const Request& req, Response& res, const Caller& c) { patch_incident(req, res, c); }});
  add({"GET", "/api/v1/mandate",
       "the agreement's term: running term, notice deadline, what comes next (?at=)", readers(), false,
       [this](const Request& req, Response& res, const Caller&) { get_mandate(req, res); }});
  add({"GET", "/api/v1/humanitarian",
       "movement through checkpoints and displacement up to a day (?at=YYYY-MM-DD)", readers(), false,
       [this](const Request& req, Response& res, const Caller&) { get_humanitarian(req, res); }});
  add({"GET", "/api/v1/reports/daily",
       "the daily report of a UTC day: ?date=YYYY-MM-DD&format=json|html|md (public: the redacted edition)",
       readers(), false,
       [this](const Request& req, Response& res, const Caller& c) { get_daily_report(req, res, c); }});
  add({"GET",
       "/api/v1/me",
       "who the caller is: role, name, whether the credentials are valid, whether the public view is on",
       {},
       false,
       [this](const Request&, Response& res, const Caller& c) { get_me(res, c); }});
  add({"GET", "/formList", "OpenRosa form list", submitters, true,
       [this](const Request& req, Response& res, const Caller&) { form_list(req, res); }});
  add({"GET", "/forms/truce_observation.xml", "the observation XForm", submitters, true,
       [](const Request&, Response& res, const Caller&) {
         res.set_content(std::string(observation_xform()), "text/xml; charset=utf-8");
       }});
  add({"GET", "/submission", "OpenRosa submission pre-flight (HEAD)", submitters, true,
       [this](const Request&, Response& res, const Caller&) {
         res.set_header("X-OpenRosa-Accept-Content-Length", std::to_string(opts_.max_body_bytes));
         res.status = 204;
       }});
  add({"POST", "/submission", "OpenRosa submission (multipart, xml_submission_file)", submitters, true,
       [this](const Request& req, Response& res, const Caller& c) { submission(req, res, c); }});
}

json ServerImpl::openapi() const {
  json paths = json::object();
  for (const auto& r : routes_) {
    std::string m = r.method;
    std::transform(m.begin(), m.end(), m.begin(), ::tolower);
    json op = {{"summary", r.summary},
               {"x-truce-roles", r.roles},
               {"responses", {{"200", {{"description", "ok"}}}}}};
    if (!r.roles.empty()) op["security"] = json::array({{{"bearer", json::array()}}});
    paths[r.path][m] = op;
  }
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "truce API"},
            {"version", "1"},
            {"description", "Ceasefire monitoring: observations in, incidents out."}}},
          {"paths", paths},
          {"components",
           {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
            {"schemas",
             {{"Error",
               {{"type", "object"},
                {"properties",
                 {{"error",
                   {{"type", "object"},
                    {"properties",
                     {{"code", {{"type", "string"}}},
                      {"message", {{"type", "string"}}},
                      {"field", {{"type", "string"}}}}}}}}}}}}}}}};
}

}  // namespace truce::server
