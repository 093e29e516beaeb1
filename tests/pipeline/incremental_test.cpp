// Incremental fusion as the live fuser runs it: many small imports in shuffled time order, each
// fused at once with one FuseMemo kept between runs (the window read last time, the incidents it
// left, the focus on what changed), and a correction on the way. The incidents, content included,
// must equal one fusion of everything at the end.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>

#include "test_util.h"
#include "truce/ingest/ingest.h"
#include "truce/pipeline/fuse.h"

namespace truce {
namespace {

const std::string kData = std::string(TRUCE_SOURCE_DIR) + "/data/example";

std::vector<std::string> lines(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> v;
  for (std::string l; std::getline(f, l);) v.push_back(l);
  return v;
}

class Incremental : public ::testing::Test {
 protected:
  std::unique_ptr<Store> open(const std::string& name) {
    SqliteOptions so;
    so.create = true;
    auto s = open_sqlite_store(dir_.file(name), so);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return nullptr;
    for (const char* doc : {"zones", "loc"}) {
      EXPECT_TRUE((*s)->put_document(doc, testing::read_file(kData + "/" + doc + ".geojson")).ok());
    }
    return std::move(s).value();
  }
  void import(Store& store, const std::string& header, const std::vector<std::string>& rows,
              const std::string& name) {
    const std::string path = dir_.file(name);
    std::ofstream f(path);
    f << header << "\n";
    for (const auto& r : rows) f << r << "\n";
    f.close();
    auto sum = ingest::import_observations(store, {path}, ingest::Options{});
    ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  }
  // A corrected copy of observation `id` (bearing turned by 120 degrees: it leaves its incident), as
  // an edited submission.
  void correct(Store& store, const std::string& id) {
    ObservationFilter f;
    f.id = id;
    std::optional<Observation> o;
    ASSERT_TRUE(store
                    .scan_observations(f,
                                       [&](const StoredObservation& so) {
                                         o = so.obs;
                                         return false;
                                       })
                    .ok());
    ASSERT_TRUE(o.has_value());
    o->id = id + "-edited";
    o->supersedes = id;
    if (o->bearing_deg) o->bearing_deg = std::fmod(*o->bearing_deg + 120.0, 360.0);
    std::vector<ingest::Submission> subs(1);
    subs[0].raw = "edited " + id;
    subs[0].obs = *o;
    auto res = ingest::submit_observations(store, std::move(subs), "test", ingest::Options{});
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    ASSERT_EQ((*res)[0].state, ingest::SubmissionResult::State::kAccepted)
        << (*res)[0].error.field << ": " << (*res)[0].error.reason;
  }
  void fuse(Store& store, pipeline::FuseMemo* memo) {
    auto g = pipeline::mission_geography(store);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    auto f = pipeline::fuse_stored(store, **g, {}, fusion::Config{}, memo);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
  }
  // Every current incident: id, its reports and its content.
  static std::vector<std::string> incidents(Store& store) {
    std::vector<std::string> out;
    EXPECT_TRUE(store
                    .scan_incidents(IncidentFilter{},
                                    [&](const StoredIncident& si) {
                                      std::string s = si.id + ":";
                                      for (const auto& o : si.observation_ids) s += " " + o;
                                      out.push_back(s + "\n" + si.content);
                                      return true;
                                    })
                    .ok());
    std::sort(out.begin(), out.end());
    return out;
  }
  testing::TempDir dir_;
};

TEST_F(Incremental, ShuffledSmallImportsWithAMemoEqualOneFusionOfEverything) {
  const auto rows = lines(kData + "/observations.csv");
  ASSERT_GT(rows.size(), 1000u);
  // Runs of 25 consecutive rows (time order), the runs shuffled: mostly forward in time as a live
  // stream is, with late and far-away arrivals between.
  std::vector<std::vector<std::string>> chunks;
  for (std::size_t i = 1; i < rows.size(); i += 25) {
    chunks.emplace_back(rows.begin() + static_cast<std::ptrdiff_t>(i),
                        rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), i + 25)));
  }
  std::mt19937 rng(7);
  for (std::size_t i = 0; i + 1 < chunks.size(); ++i) {
    // Each chunk swaps with one up to 3 places on: a stream with some late arrivals.
    std::swap(chunks[i], chunks[std::min(chunks.size() - 1, i + rng() % 4)]);
  }
  std::swap(chunks[5], chunks[chunks.size() - 3]);  // and one far from its time

  auto live = open("live.db");
  ASSERT_TRUE(live);
  pipeline::FuseMemo memo;
  // A report of an incident of three or more that a run wrote (so in the memo's window) is
  // edited, and the edit fused alone: the rest of its incident, at other times, must be fused
  // again without it. Once midway (later runs could mend a mistake) and once at the end.
  const auto edit_one = [&](std::string& id) {
    ASSERT_TRUE(live->scan_incidents(IncidentFilter{},
                                     [&](const StoredIncident& si) {
                                       if (si.observation_ids.size() < 3 || !memo.incidents.count(si.id))
                                         return true;
                                       id = si.observation_ids.front();
                                       return false;
                                     })
                    .ok());
    ASSERT_FALSE(id.empty()) << "no incident of three reports in the last run";
    correct(*live, id);
    fuse(*live, &memo);
  };
  std::string edited[2];
  for (std::size_t k = 0; k < chunks.size(); ++k) {
    import(*live, rows[0], chunks[k], "chunk" + std::to_string(k) + ".csv");
    fuse(*live, &memo);
    if (k == chunks.size() / 2) edit_one(edited[0]);
  }
  edit_one(edited[1]);
  EXPECT_FALSE(memo.window.empty()) << "the memo kept no window: the test would not exercise it";

  auto batch = open("batch.db");
  ASSERT_TRUE(batch);
  import(*batch, rows[0], std::vector<std::string>(rows.begin() + 1, rows.end()), "all.csv");
  for (const auto& e : edited) correct(*batch, e);
  fuse(*batch, nullptr);

  const auto a = incidents(*live), b = incidents(*batch);
  EXPECT_GT(b.size(), 500u);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "incident " << i << " differs";
  // The edited reports are in incidents, the originals in none.
  for (const auto& e : edited) {
    bool edited_in = false, original_in = false;
    for (const auto& inc : a) {
      const auto head = inc.substr(0, inc.find('\n')) + " ";
      edited_in |= head.find(" " + e + "-edited ") != std::string::npos;
      original_in |= head.find(" " + e + " ") != std::string::npos;
    }
    EXPECT_TRUE(edited_in) << e;
    EXPECT_FALSE(original_in) << e;
  }
}

}  // namespace
}  // namespace truce
