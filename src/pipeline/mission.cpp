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

namespace {

template <typename Row>
Result<MovementImport> import_rows(Store& store, const char* doc_name, const std::vector<Row>& rows,
                                   Result<std::vector<Row>> (*from_json)(std::string_view),
                                   std::string (*to_json)(const std::vector<Row>&),
                                   agreement::MergeCounts (*merge)(std::vector<Row>&,
                                                                   const std::vector<Row>&)) {
  MovementImport out;
  Status st = store.write_transaction([&]() -> Status {
    std::vector<Row> stored;
    auto doc = store.document(doc_name);
    if (!doc.ok()) return doc.status();
    if (*doc) {
      auto s = from_json(**doc);
      if (!s.ok()) return s.status();
      stored = std::move(s).value();
    }
    out.counts = merge(stored, rows);
    out.stored = stored.size();
    auto v = store.put_document(doc_name, to_json(stored));
    if (!v.ok()) return v.status();
    out.version = *v;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace

Result<MovementImport> import_crossings(Store& store, const std::vector<agreement::Crossing>& rows) {
  return import_rows<agreement::Crossing>(store, "crossings", rows, agreement::crossings_from_json,
                                          agreement::crossings_to_json, agreement::merge_crossings);
}

Result<MovementImport> import_baselines(Store& store, const std::vector<agreement::Baseline>& rows) {
  return import_rows<agreement::Baseline>(store, "population_baselines", rows, agreement::baselines_from_json,
                                          agreement::baselines_to_json, agreement::merge_baselines);
}

}  // namespace truce::pipeline
