// The term engine: which term of the mandate runs at an instant, when it ends, the last instant a
// party may give notice, and what happens next (docs/agreement.md "Term").
//
// Terms chain: term 1 runs [effective, effective + length); while renewal is automatic, term k+1
// runs [end_k, end_k + renewal). Ends are computed in the agreement's local time from the last
// anchor (the effective instant, or the point an amendment changed the term), so renewals never
// drift across short months. The notice deadline of a term is its end minus the notice period; a
// notice given at or before the deadline stops the renewal at that term's end. A notice given after
// it is too late for that term and counts for the next one. An agreed early withdrawal, or a
// completed withdrawal, ends the mandate at its instant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "truce/agreement/agreement.h"

namespace truce::agreement {

enum class MandateState : std::uint8_t { kNotYetInForce, kRunning, kEnded };
std::string_view to_string(MandateState s);  // "not_yet_in_force", "running", "ended"

struct TermSpan {
  int index = 0;  // 1-based
  Instant start, end;
  Instant notice_deadline;
  // Why this term is the last one ("" while it renews): "notice by ARM on ...", "early withdrawal ...".
  std::string ends_because;
  bool last = false;
};

struct MandateStatus {
  Instant at;
  MandateState state = MandateState::kNotYetInForce;
  // The term running at `at` (or the first term before it starts, or the last one after the end).
  TermSpan term;
  std::int64_t days_left = 0;         // whole days from `at` to the term's end (0 when ended)
  std::int64_t days_to_deadline = 0;  // whole days from `at` to the notice deadline, negative once past
  bool deadline_passed = false;
  std::optional<Instant> renews_to;  // the end of the next term if this one renews
  std::optional<Instant>
      mandate_end;   // when the mandate ends for good, if known (notice, withdrawal, no renewal)
  std::string next;  // one sentence: what happens next
  std::vector<std::string> notes;  // events taken into account and how (e.g. a late notice)
};

// Computes the status. Fails when the agreement has no term.
Result<MandateStatus> mandate_status(const Agreement& a, Instant at);

// Every term from the first up to and including the one running at `until` (and the one after
// it if it renews), at most max_terms.
Result<std::vector<TermSpan>> terms(const Agreement& a, Instant until, int max_terms = 1000);

// One line for summaries: "mandate term 1 of ..., ends 2025-11-09T21:00:00Z (...); notice due by ...".
std::string status_line(const Agreement& a, const MandateStatus& s);
// The full text rendering and the JSON object (docs/agreement.md "truce mandate").
std::string status_text(const Agreement& a, const MandateStatus& s);
std::string status_json(const Agreement& a, const MandateStatus& s);

}  // namespace truce::agreement
