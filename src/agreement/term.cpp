#include "truce/agreement/term.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace truce::agreement {

namespace {
Duration plus(Duration a, Duration b) { return Duration{a.months + b.months, a.days + b.days}; }

// "10 Nov 2025 00:00 (+03:00)" style local date for sentences.
std::string local_words(Instant t, const Term& term) {
  static constexpr const char* kMon[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const CivilTime c = civil_time(t, term.utc_offset_min);
  char b[96];
  std::snprintf(b, sizeof b, "%u %s %lld %02d:%02d", c.day, kMon[c.month - 1], static_cast<long long>(c.year),
                c.hour, c.minute);
  std::string s = b;
  s += " " + (term.time_zone.empty() ? "UTC" + format_utc_offset(term.utc_offset_min) : term.time_zone);
  return s;
}

std::string both(Instant t, const Term& term) {
  return format_instant(t) + " (" + local_words(t, term) + ")";
}

}  // namespace

std::string_view to_string(MandateState s) {
  switch (s) {
    case MandateState::kNotYetInForce:
      return "not_yet_in_force";
    case MandateState::kRunning:
      return "running";
    case MandateState::kEnded:
      return "ended";
  }
  return "running";
}

namespace {

// The chain of terms, knowing only the events up to `known` (events after it have not happened yet).
struct Chain {
  std::vector<TermSpan> terms;
  std::vector<std::string> notes;
};

Result<Chain> build(const Agreement& a, Instant until, Instant known, int max_terms) {
  if (!a.term)
    return Status::NotFound(
        "the agreement has no term: add a \"term\" to the agreement file (docs/agreement.md)");
  const Term& t = *a.term;
  Chain c;
  std::optional<Duration> renewal = t.renewal;
  Duration notice = t.notice;
  bool automatic = t.renewal.has_value();
  Instant anchor = t.effective;
  Duration acc = t.length;
  Instant start = t.effective;
  Instant end = add_calendar(anchor, acc, t.utc_offset_min);
  std::size_t next_event = 0;
  struct Pending {
    Instant at;
    std::string party;
    int given_in_term;
  };
  std::vector<Pending> notices;
  std::optional<std::pair<Instant, std::string>> pending_end;  // an agreed end beyond the running term
  for (int k = 1; k <= max_terms; ++k) {
    TermSpan span;
    span.index = k;
    span.start = start;
    // Events that happen before this term ends shape it.
    while (next_event < a.events.size() && a.events[next_event].at < end &&
           a.events[next_event].at <= known) {
      const Event& e = a.events[next_event++];
      switch (e.type) {
        case EventType::kNotice:
          notices.push_back(Pending{e.at, e.party, k});
          break;
        case EventType::kAmendment:
          if (e.notice) notice = *e.notice;
          if (e.automatic_renewal) automatic = *e.automatic_renewal;
          if (e.renewal) {
            renewal = *e.renewal;
            if (e.automatic_renewal.value_or(true)) automatic = true;
          }
          if (e.term_end) end = *e.term_end;
          if (e.term_end || e.renewal) {
            anchor = end;
            acc = Duration{};
          }
          c.notes.push_back("amendment of " + format_instant(e.at) + " applied to term " + std::to_string(k) +
                            (e.note.empty() ? "" : ": " + e.note));
          break;
        case EventType::kEarlyWithdrawal: {
          const Instant eff = e.effective.value_or(e.at);
          const std::string why =
              "early withdrawal agreed on " + format_instant(e.at) + ", effective " + format_instant(eff);
          if (eff < end) {
            end = eff;
            span.last = true;
            span.ends_because = why;
          } else {
            pending_end = std::pair{eff, why};
          }
          break;
        }
        case EventType::kWithdrawalCompleted:
          if (!span.last || e.at < end) {
            end = e.at;
            span.last = true;
            span.ends_because = "withdrawal completed on " + format_instant(e.at);
          }
          break;
      }
    }
    if (!span.last && pending_end && pending_end->first <= end) {
      end = pending_end->first;
      span.last = true;
      span.ends_because = pending_end->second;
    }
    span.end = end;
    span.notice_deadline = add_calendar(end, notice, t.utc_offset_min, -1);
    if (!span.last) {
      for (const auto& n : notices) {
        if (n.at > span.notice_deadline) continue;
        span.last = true;
        span.ends_because = "notice given by " + n.party + " on " + format_instant(n.at);
        if (n.given_in_term < k)
          span.ends_because += " (too late for term " + std::to_string(k - 1) +
                               ", so it takes effect at the end of term " + std::to_string(k) + ")";
        break;
      }
      if (!span.last) {
        for (const auto& n : notices) {
          if (n.at > span.notice_deadline && n.at < span.end)
            c.notes.push_back("notice given by " + n.party + " on " + format_instant(n.at) +
                              " came after the deadline of term " + std::to_string(k) + " (" +
                              format_instant(span.notice_deadline) +
                              "): too late to stop its renewal; it counts for the next term");
        }
      }
      if (!span.last && (!automatic || !renewal)) {
        span.last = true;
        span.ends_because = "the term does not renew automatically";
      }
    }
    c.terms.push_back(span);
    if (span.last || start > until) break;
    start = end;
    acc = plus(acc, *renewal);
    end = add_calendar(anchor, acc, t.utc_offset_min);
  }
  // Events after the end of the mandate change nothing; say so.
  for (; next_event < a.events.size(); ++next_event) {
    const Event& e = a.events[next_event];
    if (e.at > known) break;
    if (!c.terms.empty() && c.terms.back().last && e.at >= c.terms.back().end &&
        e.type != EventType::kWithdrawalCompleted)
      c.notes.push_back(std::string(to_string(e.type)) + " of " + format_instant(e.at) +
                        " came after the mandate ended; it changes nothing");
  }
  return c;
}

}  // namespace

Result<std::vector<TermSpan>> terms(const Agreement& a, Instant until, int max_terms) {
  auto c = build(a, until, Instant{INT64_MAX}, max_terms);
  if (!c.ok()) return c.status();
  return std::move(c->terms);
}

Result<MandateStatus> mandate_status(const Agreement& a, Instant at) {
  if (!a.term)
    return Status::NotFound(
        "the agreement has no term: add a \"term\" to the agreement file (docs/agreement.md)");
  // Before the start, the first term is the one to describe (and its renewal).
  auto chain = build(a, std::max(at, a.term->effective), at, 100000);
  if (!chain.ok()) return chain.status();
  const auto& ts = chain->terms;
  const Term& term = *a.term;
  MandateStatus s;
  s.at = at;
  s.notes = chain->notes;
  std::size_t i = 0;
  if (at < ts.front().start) {
    s.state = MandateState::kNotYetInForce;
  } else {
    while (i + 1 < ts.size() && ts[i].end <= at) ++i;
    s.state = at < ts[i].end ? MandateState::kRunning : MandateState::kEnded;
  }
  s.term = ts[i];
  for (const auto& x : ts)
    if (x.last) s.mandate_end = x.end;
  if (!s.term.last && i + 1 < ts.size()) s.renews_to = ts[i + 1].end;
  s.days_left =
      s.state == MandateState::kEnded ? 0 : floor_div(s.term.end.ms - std::max(at, s.term.start).ms, kDayMs);
  s.days_to_deadline = floor_div(s.term.notice_deadline.ms - at.ms, kDayMs);
  s.deadline_passed = at > s.term.notice_deadline;
  const std::string k = std::to_string(s.term.index);
  switch (s.state) {
    case MandateState::kNotYetInForce:
      s.next = "the mandate takes effect on " + both(s.term.start, term);
      break;
    case MandateState::kEnded:
      s.next = "the mandate ended on " + both(s.term.end, term) +
               (s.term.ends_because.empty() ? "" : ": " + s.term.ends_because);
      break;
    case MandateState::kRunning:
      if (s.term.last) {
        s.next = "term " + k + " is the last: the mandate ends on " + both(s.term.end, term) + " (" +
                 s.term.ends_because + ")";
      } else if (!s.deadline_passed) {
        s.next = "term " + k + " renews automatically for " + describe(term.renewal.value_or(Duration{})) +
                 " to " + both(*s.renews_to, term) + " unless a party gives notice by " +
                 both(s.term.notice_deadline, term);
      } else {
        s.next = "the notice deadline of term " + k + " has passed without notice: on " +
                 both(s.term.end, term) + " term " + std::to_string(s.term.index + 1) +
                 " begins and runs to " + both(*s.renews_to, term);
      }
      break;
  }
  return s;
}

std::string status_line(const Agreement& a, const MandateStatus& s) {
  const Term& t = *a.term;
  std::string line = "mandate (" + (t.subject.empty() ? a.title : t.subject) + "): ";
  switch (s.state) {
    case MandateState::kNotYetInForce:
      return line + "not yet in force; starts " + format_instant(s.term.start);
    case MandateState::kEnded:
      return line + "ended " + format_instant(s.term.end) +
             (s.term.ends_because.empty() ? "" : " (" + s.term.ends_because + ")");
    case MandateState::kRunning:
      break;
  }
  line += "term " + std::to_string(s.term.index) + " ends " + format_instant(s.term.end) + " (" +
          local_words(s.term.end, t) + "), " + std::to_string(s.days_left) + " days left; ";
  if (s.term.last) return line + "last term: " + s.term.ends_because;
  if (!s.deadline_passed)
    return line + "notice due by " + format_instant(s.term.notice_deadline) + ", else it renews to " +
           format_instant(*s.renews_to);
  return line + "notice deadline passed: renews to " + format_instant(*s.renews_to);
}

std::string status_text(const Agreement& a, const MandateStatus& s) {
  const Term& t = *a.term;
  std::string o;
  o += "agreement:        " + a.title + "\n";
  if (!t.subject.empty())
    o += "mandate:          " + t.subject + (t.provision.empty() ? "" : " (provision " + t.provision + ")") +
         "\n";
  o +=
      "term rule:        " + describe(t.length) + " from " + both(t.effective, t) + "; " +
      (t.renewal ? "renews automatically for " + describe(*t.renewal) : std::string("no automatic renewal")) +
      "; notice " + describe(t.notice) + " before the end of a term\n";
  o += "at:               " + both(s.at, t) + "\n";
  o += "state:            " + std::string(to_string(s.state)) + "\n";
  o += "term:             " + std::to_string(s.term.index) + ", " + format_instant(s.term.start) + " .. " +
       format_instant(s.term.end) + "\n";
  o += "                  " + local_words(s.term.start, t) + " .. " + local_words(s.term.end, t) + "\n";
  if (s.state == MandateState::kRunning) o += "days left:        " + std::to_string(s.days_left) + "\n";
  o += "notice deadline:  " + both(s.term.notice_deadline, t);
  if (s.state == MandateState::kRunning) {
    if (s.term.last)
      o += ", no longer matters: " + s.term.ends_because;
    else if (s.deadline_passed)
      o += ", passed " + std::to_string(-s.days_to_deadline) + " days ago without notice";
    else
      o += ", " + std::to_string(s.days_to_deadline) + " days left, no notice given";
  }
  o += "\n";
  if (s.renews_to) o += "renews to:        " + both(*s.renews_to, t) + "\n";
  if (s.mandate_end) o += "mandate ends:     " + both(*s.mandate_end, t) + "\n";
  o += "next:             " + s.next + "\n";
  for (const auto& n : s.notes) o += "note:             " + n + "\n";
  return o;
}

std::string status_json(const Agreement& a, const MandateStatus& s) {
  const Term& t = *a.term;
  using nlohmann::json;
  auto opt = [](const std::optional<Instant>& v) { return v ? json(format_instant(*v)) : json(nullptr); };
  auto opt_local = [&](const std::optional<Instant>& v) {
    return v ? json(format_local(*v, t.utc_offset_min)) : json(nullptr);
  };
  json j;
  j["agreement"] = a.id;
  j["at"] = format_instant(s.at);
  j["state"] = to_string(s.state);
  j["term_index"] = s.term.index;
  j["term_start"] = format_instant(s.term.start);
  j["term_end"] = format_instant(s.term.end);
  j["notice_deadline"] = format_instant(s.term.notice_deadline);
  j["notice_deadline_passed"] = s.deadline_passed;
  j["renews_to"] = opt(s.renews_to);
  j["mandate_end"] = opt(s.mandate_end);
  j["last_term"] = s.term.last;
  j["ends_because"] = s.term.ends_because.empty() ? json(nullptr) : json(s.term.ends_because);
  j["days_left"] = s.days_left;
  j["days_to_notice_deadline"] = s.days_to_deadline;
  j["local"] = {{"time_zone", t.time_zone},
                {"utc_offset", format_utc_offset(t.utc_offset_min)},
                {"at", format_local(s.at, t.utc_offset_min)},
                {"term_start", format_local(s.term.start, t.utc_offset_min)},
                {"term_end", format_local(s.term.end, t.utc_offset_min)},
                {"notice_deadline", format_local(s.term.notice_deadline, t.utc_offset_min)},
                {"renews_to", opt_local(s.renews_to)},
                {"mandate_end", opt_local(s.mandate_end)}};
  j["term_rule"] = {{"effective", format_instant(t.effective)},
                    {"length", to_iso(t.length)},
                    {"renewal", t.renewal ? json(to_iso(*t.renewal)) : json(nullptr)},
                    {"notice", to_iso(t.notice)}};
  j["next"] = s.next;
  j["notes"] = s.notes;
  return j.dump();
}

}  // namespace truce::agreement
