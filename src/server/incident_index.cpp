// The in-memory incident index behind /api/v1/incidents/summary, kept exact from the change feed.
#include "server/server_impl.h"

namespace truce::server {

void ServerImpl::warm_index() {
  warm_ = std::thread([this] { (void)current_index(); });
}

Result<std::shared_ptr<IncidentIndex>> ServerImpl::current_index() {
  IncidentCursor now_at;
  {
    std::lock_guard lk(store_mu_);
    auto c = store_->incident_cursor();
    if (!c.ok()) return c.status();
    now_at = *c;
  }
  {
    std::shared_lock lk(index_mu_);
    if (index_ && index_->cursor == now_at) return index_;
  }
  std::lock_guard build(index_build_mu_);  // one build or update at a time
  std::shared_ptr<IncidentIndex> ix;
  {
    std::shared_lock lk(index_mu_);
    if (index_ && index_->cursor == now_at) return index_;  // brought up to date meanwhile
    ix = index_;
  }
  if (ix) {
    auto updated = update_index(*ix);
    if (!updated.ok()) return updated.status();
    if (*updated) return ix;
  }
  return build_index();
}

Result<bool> ServerImpl::update_index(IncidentIndex& ix) {
  static constexpr std::size_t kMaxDelta = 20000;
  IncidentCursor c = ix.cursor;
  std::vector<std::pair<std::optional<StoredIncident>, IncidentReview>> rows;
  {
    std::lock_guard lk(store_mu_);
    auto changes = store_->incident_changes(c, kMaxDelta);
    if (!changes.ok()) return changes.status();
    if (changes->size() >= kMaxDelta) return false;
    std::set<std::string> ids;
    for (const auto& ch : *changes) ids.insert(ch.id);
    for (const auto& id : ids) {
      auto found = find_incident(*store_, id);
      if (!found.ok()) return found.status();
      auto rv = store_->incident_review(id);
      IncidentReview review = rv.ok() ? *rv : IncidentReview{};
      review.incident_id = id;
      rows.emplace_back(std::move(found).value(), std::move(review));
    }
  }
  std::unique_lock lk(index_mu_);
  for (auto& [si, rv] : rows) {
    if (si) {
      index_row(ix, *si, rv);
    } else if (auto it = ix.row_of.find(rv.incident_id); it != ix.row_of.end()) {
      ix.rows[it->second].alive = false;  // retired
    }
  }
  ix.cursor = c;
  return true;
}

void ServerImpl::index_row(IncidentIndex& ix, const StoredIncident& si, const IncidentReview& rv) {
  IncidentIndex::Row r;
  r.start_ms = si.start.ms;
  r.end_ms = si.end.ms;
  if (si.lat && si.lon) r.lat = *si.lat, r.lon = *si.lon, r.located = true;
  r.kind = ix.intern(si.kind);
  r.party = ix.intern(si.party);
  json j = json::parse(si.content, nullptr, false);
  std::string status = j.is_object() ? j.value("status", std::string()) : std::string();
  if (!rv.status.empty()) status = rv.status;
  r.status = ix.intern(status);
  r.rules_begin = static_cast<std::uint32_t>(ix.rules.size());
  if (j.is_object()) {
    if (auto v = j.find("violations"); v != j.end() && v->is_array()) {
      for (const auto& x : *v) {
        if (x.is_object() && x.contains("rule") && x["rule"].is_string())
          ix.rules.push_back(ix.intern(x["rule"].get<std::string>()));
      }
    }
  }
  r.rules_count = static_cast<std::uint32_t>(ix.rules.size()) - r.rules_begin;
  if (auto it = ix.row_of.find(si.id); it != ix.row_of.end()) {
    ix.rows[it->second] = r;  // the old rules stay in `rules`, unreferenced, until the next build
  } else {
    ix.row_of[si.id] = static_cast<std::uint32_t>(ix.rows.size());
    ix.rows.push_back(r);
  }
}

Result<std::shared_ptr<IncidentIndex>> ServerImpl::build_index() {
  auto reader = opts_.open_store();
  if (!reader.ok()) return reader.status();
  auto ix = std::make_shared<IncidentIndex>();
  // Read in one transaction-free pass: a change made while it reads is after this cursor and is
  // applied again by the next update (applying a change twice gives the same row).
  auto c = (*reader)->incident_cursor();
  if (!c.ok()) return c.status();
  ix->cursor = *c;
  Status st = (*reader)->scan_incidents({}, [&](const StoredIncident& si) {
    if (closing_) return false;
    auto rv = (*reader)->incident_review(si.id);
    index_row(*ix, si, rv.ok() ? *rv : IncidentReview{});
    return ix->names.size() < 60000;  // name ids are 16-bit
  });
  if (!st.ok()) return st;
  if (closing_) return Status::Internal("the server is stopping");
  std::unique_lock lk(index_mu_);
  index_ = ix;
  return ix;
}

void ServerImpl::get_summary(const Request& req, Response& res, const Caller& c) {
  IncidentQuery q;
  if (!parse_incident_query(req, res, q)) return;
  const bool is_public = c.role == "public";
  double cell = 0.05;
  if (!double_param(req, res, "cell_deg", 1e-4, 10, cell)) return;
  if (is_public) cell = std::max(cell, opts_.public_grid_deg);  // no finer than the public grid
  std::int64_t bin_s = 0;
  if (!int_param(req, res, "bin_s", 60, 366 * 86400, bin_s)) return;
  auto index = current_index();
  if (!index.ok()) return send_status(res, index.status());
  const IncidentIndex& ix = **index;
  std::shared_lock lk(index_mu_);  // statuses may be updated in place by a review
  // A filter list as name ids; a name no incident has matches nothing.
  auto ids = [&](const std::vector<std::string>& names) {
    std::vector<int> out;
    for (const auto& n : names) out.push_back(ix.id_of(n));
    return out;
  };
  const auto kinds = ids(q.kinds), parties = ids(q.parties), statuses = ids(q.statuses), rules = ids(q.rules);
  auto any = [](const std::vector<int>& want, int v) {
    return want.empty() || std::find(want.begin(), want.end(), v) != want.end();
  };
  const std::int64_t from_ms = q.f.from ? q.f.from->ms : std::numeric_limits<std::int64_t>::min();
  const std::int64_t to_ms = q.f.to ? q.f.to->ms : std::numeric_limits<std::int64_t>::max();
  struct Row {
    std::int64_t t;
    std::optional<std::pair<double, double>> pos;
    std::uint16_t kind, party, status;
  };
  std::vector<Row> rows;
  std::vector<std::int64_t> n_kind(ix.names.size()), n_party(ix.names.size()), n_status(ix.names.size()),
      n_rule(ix.names.size());
  const double g = opts_.public_grid_deg;
  for (const auto& r : ix.rows) {
    if (!r.alive) continue;
    if (r.end_ms < from_ms || r.start_ms >= to_ms) continue;
    if (!any(kinds, r.kind) || !any(parties, r.party) || !any(statuses, r.status)) continue;
    if (!rules.empty()) {
      bool hit = false;
      for (std::uint32_t k = 0; k < r.rules_count && !hit; ++k) hit = any(rules, ix.rules[r.rules_begin + k]);
      if (!hit) continue;
    }
    Row out{r.start_ms, std::nullopt, r.kind, r.party, r.status};
    if (r.located) {
      out.pos =
          is_public ? std::pair{round_to_grid(r.lat, g), round_to_grid(r.lon, g)} : std::pair{r.lat, r.lon};
    }
    ++n_kind[r.kind];
    ++n_party[r.party];
    ++n_status[r.status];
    for (std::uint32_t k = 0; k < r.rules_count; ++k) ++n_rule[ix.rules[r.rules_begin + k]];
    rows.push_back(out);
  }
  auto count_json = [&](const std::vector<std::int64_t>& n) {
    json o = json::object();
    for (std::size_t i = 0; i < n.size(); ++i) {
      if (n[i]) o[ix.names[i]] = n[i];
    }
    return o;
  };
  const json by_kind = count_json(n_kind), by_party = count_json(n_party), by_status = count_json(n_status),
             by_rule = count_json(n_rule);
  // The grid: coarsened until it has at most summary_cells cells.
  struct Cell {
    std::int64_t n = 0;
    double lat = 0, lon = 0;
    std::map<std::uint16_t, std::int64_t> kind, party, status;
  };
  std::map<std::pair<std::int64_t, std::int64_t>, Cell> cells;
  std::int64_t located = 0;
  for (;;) {
    cells.clear();
    located = 0;
    for (const auto& r : rows) {
      if (!r.pos) continue;
      ++located;
      Cell& k = cells[{static_cast<std::int64_t>(std::floor(r.pos->first / cell)),
                       static_cast<std::int64_t>(std::floor(r.pos->second / cell))}];
      ++k.n;
      k.lat += r.pos->first;
      k.lon += r.pos->second;
      ++k.kind[r.kind];
      ++k.party[r.party];
      ++k.status[r.status];
    }
    if (cells.size() <= opts_.summary_cells || cell >= 10) break;
    cell *= 2;
  }
  auto top = [&](const std::map<std::uint16_t, std::int64_t>& m) {
    std::uint16_t best = 0;
    std::int64_t n = -1;
    for (const auto& [k, v] : m) {
      if (v > n || (v == n && ix.names[k] < ix.names[best])) best = k, n = v;
    }
    return ix.names[best];
  };
  json jcells = json::array();
  for (const auto& [key, k] : cells) {
    const double n = static_cast<double>(k.n);
    jcells.push_back({{"lat", std::round(k.lat / n * 1e5) / 1e5},
                      {"lon", std::round(k.lon / n * 1e5) / 1e5},
                      {"n", k.n},
                      {"kind", top(k.kind)},
                      {"party", top(k.party)},
                      {"status", top(k.status)}});
  }
  // The timeline over [from, to) when given, else over the span of what matched.
  json timeline = nullptr;
  std::int64_t lo = q.f.from ? q.f.from->ms : 0, hi = q.f.to ? q.f.to->ms : 0;
  if (!rows.empty()) {
    if (!q.f.from) {
      lo = rows.front().t;
      for (const auto& r : rows) lo = std::min(lo, r.t);
    }
    if (!q.f.to) {
      hi = lo;
      for (const auto& r : rows) hi = std::max(hi, r.t + 1);
    }
  }
  if (hi > lo) {
    if (bin_s == 0) {
      static constexpr std::int64_t kSteps[] = {60,       300,   900,       3600,      3 * 3600,
                                                6 * 3600, 86400, 7 * 86400, 28 * 86400};
      bin_s = kSteps[std::size(kSteps) - 1];
      for (auto s : kSteps) {
        if ((hi - lo) / (s * 1000) < 400) {
          bin_s = s;
          break;
        }
      }
    }
    const std::int64_t step = bin_s * 1000;
    const std::int64_t start = lo - ((lo % step) + step) % step;  // aligned to the step
    const std::int64_t n = std::min<std::int64_t>((hi - start + step - 1) / step, 100000);
    std::vector<std::int64_t> counts(static_cast<std::size_t>(std::max<std::int64_t>(n, 1)), 0);
    for (const auto& r : rows) {
      const std::int64_t i = (r.t - start) / step;
      if (r.t >= start && i < static_cast<std::int64_t>(counts.size())) ++counts[static_cast<std::size_t>(i)];
    }
    timeline = {{"start", format_instant(Instant{start})}, {"step_s", bin_s}, {"counts", counts}};
  }
  json body = {{"total", rows.size()}, {"located", located},     {"cell_deg", cell},
               {"cells", jcells},      {"timeline", timeline},   {"by_kind", by_kind},
               {"by_party", by_party}, {"by_status", by_status}, {"by_rule", by_rule}};
  if (!rows.empty()) {
    std::int64_t first = rows.front().t, last = rows.front().t;
    for (const auto& r : rows) first = std::min(first, r.t), last = std::max(last, r.t);
    body["first"] = format_instant(Instant{first});
    body["last"] = format_instant(Instant{last});
  }
  res.set_content(body.dump(), "application/json");
}

}  // namespace truce::server
