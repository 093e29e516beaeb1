#include "truce/agreement/agreement.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "agreement/json_util.h"

namespace truce::agreement {

using detail::Json;
using detail::key_error;
using detail::show;

Result<Duration> parse_duration(std::string_view s) {
  const std::string expect =
      "expected an ISO 8601 duration of dates such as \"P5Y\", \"P6M\", \"P1Y6M\" or \"P30D\"";
  if (s.size() < 3 || s[0] != 'P')
    return Status::Invalid(expect + ", got \"" + std::string(s.substr(0, 40)) + "\"");
  Duration d;
  std::size_t i = 1;
  char last_unit = 0;
  const std::string order = "YMWD";
  while (i < s.size()) {
    std::int64_t v = 0;
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + (s[i] - '0');
      if (v > 100000)
        return Status::Invalid(expect + "; the number in \"" + std::string(s.substr(0, 40)) +
                               "\" is too large");
      ++i;
    }
    if (i == start || i == s.size())
      return Status::Invalid(expect + ", got \"" + std::string(s.substr(0, 40)) + "\"");
    const char u = s[i++];
    const auto pos = order.find(u);
    if (pos == std::string::npos || (last_unit && order.find(last_unit) >= pos))
      return Status::Invalid(expect + ", got \"" + std::string(s.substr(0, 40)) +
                             "\" (units Y, M, W, D in this order; no time part)");
    last_unit = u;
    const auto n = static_cast<std::int32_t>(v);
    if (u == 'Y')
      d.months += 12 * n;
    else if (u == 'M')
      d.months += n;
    else if (u == 'W')
      d.days += 7 * n;
    else
      d.days += n;
  }
  return d;
}

std::string to_iso(Duration d) {
  std::string s = "P";
  if (d.months / 12) s += std::to_string(d.months / 12) + "Y";
  if (d.months % 12) s += std::to_string(d.months % 12) + "M";
  if (d.days || s == "P") s += std::to_string(d.days) + "D";
  return s;
}

std::string describe(Duration d) {
  std::string s;
  auto part = [&s](std::int32_t n, const char* unit) {
    if (!n) return;
    if (!s.empty()) s += " ";
    s += std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
  };
  part(d.months / 12, "year");
  part(d.months % 12, "month");
  part(d.days, "day");
  return s.empty() ? "0 days" : s;
}

namespace {
unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}
}  // namespace

Instant add_calendar(Instant t, Duration d, std::int32_t utc_offset_min, int sign) {
  const CivilTime c = civil_time(t, utc_offset_min);
  const std::int64_t tod = t.ms + std::int64_t{utc_offset_min} * 60'000 - c.day_number * kDayMs;
  const std::int64_t y = c.year;
  const unsigned m = c.month, dd = c.day;
  const std::int64_t total = y * 12 + (m - 1) + std::int64_t{sign} * d.months;
  const std::int64_t ny = floor_div(total, 12);
  const auto nm = static_cast<unsigned>(total - ny * 12 + 1);
  const unsigned nd = std::min(dd, days_in_month(ny, nm));
  const std::int64_t nday = days_from_civil(ny, nm, nd) + std::int64_t{sign} * d.days;
  return Instant{nday * kDayMs + tod - std::int64_t{utc_offset_min} * 60'000};
}

Result<std::int32_t> parse_utc_offset(std::string_view s) {
  const std::string expect = "expected a UTC offset such as \"+03:00\", \"-05:00\" or \"Z\", got \"" +
                             std::string(s.substr(0, 40)) + "\"";
  if (s == "Z" || s == "z") return 0;
  if (s.size() < 3 || (s[0] != '+' && s[0] != '-')) return Status::Invalid(expect);
  auto dig = [](char c) { return c >= '0' && c <= '9'; };
  if (!dig(s[1]) || !dig(s[2])) return Status::Invalid(expect);
  int h = (s[1] - '0') * 10 + (s[2] - '0'), mi = 0;
  std::string_view rest = s.substr(3);
  if (!rest.empty() && rest[0] == ':') rest = rest.substr(1);
  if (!rest.empty()) {
    if (rest.size() != 2 || !dig(rest[0]) || !dig(rest[1])) return Status::Invalid(expect);
    mi = (rest[0] - '0') * 10 + (rest[1] - '0');
  }
  if (h > 14 || mi > 59 || (h == 14 && mi > 0)) return Status::Invalid(expect + " (at most 14 hours)");
  const int v = h * 60 + mi;
  return s[0] == '-' ? -v : v;
}

std::string_view to_string(EventType t) {
  switch (t) {
    case EventType::kNotice:
      return "notice";
    case EventType::kAmendment:
      return "amendment";
    case EventType::kEarlyWithdrawal:
      return "early_withdrawal";
    case EventType::kWithdrawalCompleted:
      return "withdrawal_completed";
  }
  return "notice";
}

namespace {

using detail::get_string;
using detail::index;
using detail::join;
using detail::only_keys;

Result<Duration> get_duration(const Json& obj, std::string_view key, std::string_view source,
                              const std::string& path) {
  const auto& v = obj.at(std::string(key));
  if (!v.is_string())
    return key_error(source, join(path, key),
                     "expected an ISO 8601 duration such as \"P5Y\", got " + show(v));
  auto d = parse_duration(v.get<std::string>());
  if (!d.ok()) return key_error(source, join(path, key), d.status().message());
  return d;
}

Status parse_term(const Json& t, std::string_view src, Term& out) {
  const std::string p = "term";
  if (!t.is_object()) return key_error(src, p, "expected an object, got " + show(t));
  TRUCE_RETURN_IF_ERROR(only_keys(
      t, {"subject", "provision", "effective", "utc_offset", "time_zone", "length", "renewal", "notice"}, src,
      p));
  for (auto k : {"effective", "utc_offset", "length", "notice"}) {
    if (!t.contains(k)) return key_error(src, join(p, k), "required key is missing");
  }
  auto subject = get_string(t, "subject", src, p, false);
  if (!subject.ok()) return subject.status();
  out.subject = *subject;
  auto prov = get_string(t, "provision", src, p, false);
  if (!prov.ok()) return prov.status();
  out.provision = *prov;
  auto zone = get_string(t, "time_zone", src, p, false);
  if (!zone.ok()) return zone.status();
  out.time_zone = *zone;
  auto off_text = get_string(t, "utc_offset", src, p, true);
  if (!off_text.ok()) return off_text.status();
  auto off = parse_utc_offset(*off_text);
  if (!off.ok()) return key_error(src, join(p, "utc_offset"), off.status().message());
  out.utc_offset_min = *off;
  auto eff = detail::get_instant(t.at("effective"), src, join(p, "effective"), out.utc_offset_min);
  if (!eff.ok()) return eff.status();
  out.effective = *eff;
  auto len = get_duration(t, "length", src, p);
  if (!len.ok()) return len.status();
  if (len->months == 0 && len->days <= 0)
    return key_error(src, join(p, "length"), "expected a length of more than 0 days");
  out.length = *len;
  if (t.contains("renewal") && !t.at("renewal").is_null()) {
    auto r = get_duration(t, "renewal", src, p);
    if (!r.ok()) return r.status();
    if (r->months == 0 && r->days <= 0)
      return key_error(src, join(p, "renewal"),
                       "expected a renewal period of more than 0 days, or null for none");
    out.renewal = *r;
  }
  auto n = get_duration(t, "notice", src, p);
  if (!n.ok()) return n.status();
  out.notice = *n;
  // The notice period must leave time in the first term: its deadline after the start.
  if (add_calendar(add_calendar(out.effective, out.length, out.utc_offset_min), out.notice,
                   out.utc_offset_min, -1) < out.effective)
    return key_error(src, join(p, "notice"),
                     "the notice period (" + to_iso(out.notice) + ") is longer than the term (" +
                         to_iso(out.length) + ")");
  return Status::Ok();
}

Status parse_event(const Json& e, std::string_view src, const std::string& p, const Agreement& a,
                   Event& out) {
  if (!e.is_object()) return key_error(src, p, "expected an object, got " + show(e));
  TRUCE_RETURN_IF_ERROR(only_keys(e,
                                  {"type", "at", "party", "note", "source", "renewal", "notice",
                                   "automatic_renewal", "term_end", "effective"},
                                  src, p));
  auto type = get_string(e, "type", src, p, true);
  if (!type.ok()) return type.status();
  if (*type == "notice")
    out.type = EventType::kNotice;
  else if (*type == "amendment")
    out.type = EventType::kAmendment;
  else if (*type == "early_withdrawal")
    out.type = EventType::kEarlyWithdrawal;
  else if (*type == "withdrawal_completed")
    out.type = EventType::kWithdrawalCompleted;
  else
    return key_error(src, join(p, "type"),
                     "expected notice, amendment, early_withdrawal or withdrawal_completed, got \"" +
                         type->substr(0, 40) + "\"");
  const std::optional<std::int32_t> off =
      a.term ? std::optional<std::int32_t>(a.term->utc_offset_min) : std::nullopt;
  if (!e.contains("at")) return key_error(src, join(p, "at"), "required key is missing");
  auto at = detail::get_instant(e.at("at"), src, join(p, "at"), off);
  if (!at.ok()) return at.status();
  out.at = *at;
  for (auto [key, slot] :
       {std::pair{"party", &out.party}, std::pair{"note", &out.note}, std::pair{"source", &out.source}}) {
    auto v = get_string(e, key, src, p, false);
    if (!v.ok()) return v.status();
    *slot = *v;
  }
  auto allow_only = [&](std::vector<std::string_view> keys) -> Status {
    for (auto k : {"party", "renewal", "notice", "automatic_renewal", "term_end", "effective"}) {
      if (!e.contains(k)) continue;
      if (std::find(keys.begin(), keys.end(), std::string_view(k)) == keys.end())
        return key_error(src, join(p, k), "not allowed in an event of type " + *type);
    }
    return Status::Ok();
  };
  switch (out.type) {
    case EventType::kNotice: {
      TRUCE_RETURN_IF_ERROR(allow_only({"party"}));
      if (out.party.empty())
        return key_error(src, join(p, "party"), "required key is missing: who gave notice");
      const Party* who = nullptr;
      std::string codes;
      for (const auto& pa : a.parties) {
        if (pa.code == out.party) who = &pa;
        if (pa.role == "party") codes += (codes.empty() ? "" : ", ") + pa.code;
      }
      if (!who)
        return key_error(
            src, join(p, "party"),
            "\"" + out.party.substr(0, 40) + "\" is not in parties; notice may be given by " + codes);
      if (who->role != "party")
        return key_error(src, join(p, "party"),
                         "\"" + out.party + "\" has the role \"" + who->role +
                             "\"; notice may be given by a party bound by the agreement: " + codes);
      break;
    }
    case EventType::kAmendment: {
      TRUCE_RETURN_IF_ERROR(allow_only({"renewal", "notice", "automatic_renewal", "term_end"}));
      if (e.contains("renewal")) {
        auto r = get_duration(e, "renewal", src, p);
        if (!r.ok()) return r.status();
        out.renewal = *r;
      }
      if (e.contains("notice")) {
        auto n = get_duration(e, "notice", src, p);
        if (!n.ok()) return n.status();
        out.notice = *n;
      }
      if (e.contains("automatic_renewal")) {
        if (!e.at("automatic_renewal").is_boolean())
          return key_error(src, join(p, "automatic_renewal"),
                           "expected true or false, got " + show(e.at("automatic_renewal")));
        out.automatic_renewal = e.at("automatic_renewal").get<bool>();
      }
      if (e.contains("term_end")) {
        auto te = detail::get_instant(e.at("term_end"), src, join(p, "term_end"), off);
        if (!te.ok()) return te.status();
        if (*te <= out.at)
          return key_error(src, join(p, "term_end"),
                           "the new end of the term must be after the amendment (at)");
        out.term_end = *te;
      }
      if (!out.renewal && !out.notice && !out.automatic_renewal && !out.term_end)
        return key_error(src, p,
                         "an amendment needs at least one of renewal, notice, automatic_renewal, term_end");
      break;
    }
    case EventType::kEarlyWithdrawal: {
      TRUCE_RETURN_IF_ERROR(allow_only({"effective"}));
      if (e.contains("effective")) {
        auto ef = detail::get_instant(e.at("effective"), src, join(p, "effective"), off);
        if (!ef.ok()) return ef.status();
        if (*ef < out.at)
          return key_error(src, join(p, "effective"),
                           "the withdrawal cannot take effect before it was agreed (at)");
        out.effective = *ef;
      }
      break;
    }
    case EventType::kWithdrawalCompleted:
      TRUCE_RETURN_IF_ERROR(allow_only({}));
      break;
  }
  return Status::Ok();
}

}  // namespace

Result<Agreement> parse_agreement(std::string_view text, std::string_view src) {
  if (text.size() > kMaxAgreementBytes)
    return Status::Invalid("file is " + std::to_string(text.size()) +
                               " bytes; an agreement file may have at most " +
                               std::to_string(kMaxAgreementBytes),
                           Location{std::string(src), 0, ""});
  auto parsed = detail::parse_json(text, src, kMaxAgreementDepth);
  if (!parsed.ok()) return parsed.status();
  const Json& j = *parsed;
  if (!j.is_object()) return key_error(src, "", "expected a JSON object at the top, got " + show(j));
  TRUCE_RETURN_IF_ERROR(only_keys(
      j, {"format", "id", "title", "signed", "source", "parties", "provisions", "term", "events", "rules"},
      src, ""));
  Agreement a;
  if (j.contains("format")) {
    if (j.at("format") != "truce-agreement/1")
      return key_error(src, "format", "expected \"truce-agreement/1\", got " + show(j.at("format")));
  }
  for (auto [key, slot, req] :
       {std::tuple{"id", &a.id, true}, std::tuple{"title", &a.title, true},
        std::tuple{"signed", &a.signed_on, false}, std::tuple{"source", &a.source, false}}) {
    auto v = get_string(j, key, src, "", req);
    if (!v.ok()) return v.status();
    *slot = *v;
  }
  // parties
  if (!j.contains("parties")) return key_error(src, "parties", "required key is missing");
  const Json& ps = j.at("parties");
  if (!ps.is_array() || ps.empty()) return key_error(src, "parties", "expected a non-empty array of parties");
  std::set<std::string> codes;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const std::string p = index("parties", i);
    if (!ps[i].is_object()) return key_error(src, p, "expected an object, got " + show(ps[i]));
    TRUCE_RETURN_IF_ERROR(only_keys(ps[i], {"code", "name", "role"}, src, p));
    Party pa;
    auto code = get_string(ps[i], "code", src, p, true);
    if (!code.ok()) return code.status();
    pa.code = *code;
    if (!codes.insert(pa.code).second)
      return key_error(src, join(p, "code"), "party \"" + pa.code + "\" is listed twice");
    auto name = get_string(ps[i], "name", src, p, false);
    if (!name.ok()) return name.status();
    pa.name = *name;
    auto role = get_string(ps[i], "role", src, p, false);
    if (!role.ok()) return role.status();
    pa.role = role->empty() ? "party" : *role;
    a.parties.push_back(std::move(pa));
  }
  // provisions
  if (j.contains("provisions")) {
    const Json& pv = j.at("provisions");
    if (!pv.is_array()) return key_error(src, "provisions", "expected an array, got " + show(pv));
    std::set<std::string> numbers;
    for (std::size_t i = 0; i < pv.size(); ++i) {
      const std::string p = index("provisions", i);
      if (!pv[i].is_object()) return key_error(src, p, "expected an object, got " + show(pv[i]));
      TRUCE_RETURN_IF_ERROR(only_keys(pv[i], {"number", "title", "text", "source"}, src, p));
      Provision pr;
      // The number may be written as a JSON number.
      if (pv[i].contains("number") && pv[i].at("number").is_number_integer())
        pr.number = std::to_string(pv[i].at("number").get<long long>());
      else {
        auto n = get_string(pv[i], "number", src, p, true);
        if (!n.ok()) return n.status();
        pr.number = *n;
      }
      if (!numbers.insert(pr.number).second)
        return key_error(src, join(p, "number"), "provision \"" + pr.number + "\" is listed twice");
      for (auto [key, slot, req] : {std::tuple{"title", &pr.title, false}, std::tuple{"text", &pr.text, true},
                                    std::tuple{"source", &pr.source, false}}) {
        auto v = get_string(pv[i], key, src, p, req);
        if (!v.ok()) return v.status();
        *slot = *v;
      }
      a.provisions.push_back(std::move(pr));
    }
  }
  if (j.contains("term")) {
    Term t;
    TRUCE_RETURN_IF_ERROR(parse_term(j.at("term"), src, t));
    a.term = std::move(t);
  }
  if (j.contains("events")) {
    const Json& ev = j.at("events");
    if (!ev.is_array()) return key_error(src, "events", "expected an array, got " + show(ev));
    if (!ev.empty() && !a.term)
      return key_error(src, "events", "events change the term, but the agreement has no term");
    for (std::size_t i = 0; i < ev.size(); ++i) {
      Event e;
      TRUCE_RETURN_IF_ERROR(parse_event(ev[i], src, index("events", i), a, e));
      a.events.push_back(std::move(e));
    }
    std::stable_sort(a.events.begin(), a.events.end(),
                     [](const Event& x, const Event& y) { return x.at < y.at; });
  }
  if (j.contains("rules")) {
    auto rules = detail::parse_rules(j.at("rules"), src, "rules");
    if (!rules.ok()) return rules.status();
    a.rules = std::move(rules).value();
  }
  return a;
}

}  // namespace truce::agreement
