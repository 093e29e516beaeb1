// The daily report's inputs, gathered from the mission database: the day's incidents with their
// observers, reviews and classification, the 30 days before (for the change and the trend), the
// observations of the day, and the mission's geography, places, agreement and humanitarian
// figures. Prints nothing.
#pragma once

#include <cstdint>

#include "truce/report/report.h"
#include "truce/store/store.h"

namespace truce::pipeline {

// Everything report::build_daily_report needs for the UTC day `day` (days since 1970-01-01).
// Documents the mission lacks (zones, places, agreement, crossings) are left empty; a document
// that is present but unreadable is an error naming it.
// `reviews`, when given, is a second connection to the same database: the analysts' reviews (one
// look-up per incident) are then read on a second thread while this one reads the observations.
// Each Store is used by one thread only; both must outlive the call.
Result<report::ReportInputs> gather_report_inputs(Store& store, std::int64_t day, Store* reviews = nullptr);

}  // namespace truce::pipeline
