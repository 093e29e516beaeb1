#include "truce/pipeline/mission.h"

namespace truce::pipeline {

Result<MovementRecords> movement_records(Store& store) {
  MovementRecords out;
  auto c = store.document("crossings");
  if (!c.ok()) return c.status();
  if (*c) {
    auto r = agreement::crossings_from_json(**c);
    if (!r.ok()) return Status::Corruption("the stored crossings: " + r.status().message());
    out.crossings = std::move(r).value();
  }
  auto b = store.document("population_baselines");
  if (!b.ok()) return b.status();
  if (*b) {
    auto r = agreement::baselines_from_json(**b);
    if (!r.ok()) return Status::Corruption("the stored population baselines: " + r.status().message());
    out.baselines = std::move(r).value();
  }
  return out;
}

}  // namespace truce::pipeline
