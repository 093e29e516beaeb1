// The agreement a mission monitors (DESIGN.md "Words"): parties, provisions, the term of the
// mandate and the events that change it, and the rules truce can check. Read from a JSON file
// (docs/agreement.md); every error names the key and what was expected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "truce/agreement/rules.h"
#include "truce/core/status.h"
#include "truce/core/time.h"

namespace truce::agreement {

// A calendar length: whole months (a year is 12) plus days. Added in the agreement's local time.
struct Duration {
  std::int32_t months = 0;
  std::int32_t days = 0;
  bool operator==(const Duration&) const = default;
};
// ISO 8601 durations of dates only: "P5Y", "P6M", "P1Y6M", "P30D", "P2W" (no time part).
Result<Duration> parse_duration(std::string_view text);
std::string to_iso(Duration d);    // "P5Y", "P6M", "P1Y6M", "P30D", "P0D"
std::string describe(Duration d);  // "5 years", "6 months", "1 year 6 months", "30 days"

// Adds (sign +1) or subtracts (sign -1) a calendar duration to an instant as a clock on the wall at
// `utc_offset_min` minutes east of UTC would: months first, the day clamped to the end of a
// shorter month (31 Jan + 1 month = 28/29 Feb; 29 Feb 2024 + 1 year = 28 Feb 2025), then days.
// The time of day is kept.
Instant add_calendar(Instant t, Duration d, std::int32_t utc_offset_min, int sign = +1);

// "+03:00" -> 180. Accepts "Z", "+HH:MM", "-HH:MM", "+HHMM", "+HH"; at most 14 hours.
// Written back by format_utc_offset, and instants at an offset by format_local (truce/core/time.h).
Result<std::int32_t> parse_utc_offset(std::string_view text);

struct Party {
  std::string code;  // e.g. "AZE"
  std::string name;
  std::string role;  // "party" (bound by the agreement) or e.g. "guarantor", "mission"
};

struct Provision {
  std::string number;  // as numbered in the text ("4", "6a")
  std::string title;
  std::string text;  // the text or a paraphrased summary (say which in `source`)
  std::string source;
};

// The term of the mandate: runs `length` from `effective`, then renews automatically for
// `renewal` (if set) unless a party gives notice at least `notice` before the end of a term.
struct Term {
  std::string subject;    // what runs for the term, e.g. "deployment of the peacekeeping contingent"
  std::string provision;  // the provision that sets it ("4")
  Instant effective;
  std::int32_t utc_offset_min = 0;  // the agreement's local time (fixed offset)
  std::string time_zone;            // its name for people ("Moscow time", "Europe/Moscow"); display only
  Duration length;
  std::optional<Duration> renewal;  // absent: no automatic renewal
  Duration notice;
};

enum class EventType : std::uint8_t {
  kNotice,     // a party gives notice that it does not want the term renewed
  kAmendment,  // the parties change the term (renewal, notice, automatic renewal, end of the running term)
  kEarlyWithdrawal,      // the parties agree to end the mandate before its term
  kWithdrawalCompleted,  // the withdrawal is complete: the mandate has ended
};
std::string_view to_string(EventType t);  // "notice", "amendment", "early_withdrawal", "withdrawal_completed"

struct Event {
  EventType type = EventType::kNotice;
  Instant at;         // when it was given / agreed / completed
  std::string party;  // notice: who gave it
  std::string note;
  std::string source;
  // amendment
  std::optional<Duration> renewal;
  std::optional<Duration> notice;
  std::optional<bool> automatic_renewal;
  std::optional<Instant> term_end;  // new end of the term running at `at`
  // early_withdrawal: when the mandate ends (absent: at `at`)
  std::optional<Instant> effective;
};

struct Agreement {
  std::string id;
  std::string title;
  std::string signed_on;  // as written ("2020-11-10")
  std::string source;     // where the text comes from
  std::vector<Party> parties;
  std::vector<Provision> provisions;
  std::optional<Term> term;
  std::vector<Event> events;  // sorted by `at`
  std::vector<Rule> rules;
};

// Limits on an untrusted agreement file.
inline constexpr std::size_t kMaxAgreementBytes = 8u << 20;
inline constexpr int kMaxAgreementDepth = 16;

// Parses and checks an agreement file. Errors: Location{source, 0, key} with the key as a path
// ("term.notice", "events[2].party", "rules[0].kinds[1]") and what was expected.
Result<Agreement> parse_agreement(std::string_view json, std::string_view source);

}  // namespace truce::agreement
