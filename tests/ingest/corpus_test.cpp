// Data-driven: every file in tests/data/malformed is imported into a fresh database and the
// outcome (counts, every error message verbatim, what was quarantined) is compared with the file's
// .expected twin. Set TRUCE_UPDATE_GOLDEN=1 to write missing or changed .expected files.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "test_util.h"
#include "truce/ingest/ingest.h"

namespace truce {
namespace {

namespace fs = std::filesystem;
const std::string kCorpus = std::string(TRUCE_SOURCE_DIR) + "/tests/data/malformed";

std::vector<std::string> corpus_files() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kCorpus)) {
    if (e.path().extension() != ".expected") out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string outcome(const std::string& name) {
  testing::TempDir dir;
  SqliteOptions so;
  so.create = true;
  auto store = open_sqlite_store(dir.file("t.db"), so);
  if (!store.ok()) return "open failed: " + store.status().ToString();
  const FixedClock clock(*parse_instant("2023-10-01T00:00:00Z"));
  ingest::Options opts;
  opts.clock = &clock;
  opts.max_messages = 100;
  auto obs = ingest::import_observers(
      **store, {std::string(TRUCE_SOURCE_DIR) + "/tests/data/ingest/observers.csv"}, opts);
  if (!obs.ok() || !obs->clean()) return "observers fixture failed";
  const std::string path = kCorpus + "/" + name;
  auto r = ingest::import_observations(**store, {path}, opts);
  if (!r.ok()) return "import failed: " + r.status().ToString();
  std::string out = "read=" + std::to_string(r->read) + " accepted=" + std::to_string(r->accepted) +
                    " duplicates=" + std::to_string(r->duplicates) +
                    " conflicts=" + std::to_string(r->conflicts) +
                    " rejected=" + std::to_string(r->rejected) + "\n";
  for (const auto& e : r->file_errors) out += "error: " + e.ToString() + "\n";
  for (const auto& m : r->messages) out += "problem: " + m + "\n";
  for (const auto& w : r->warnings) out += "warning: " + w + "\n";
  std::int64_t quarantined = 0;
  (void)(*store)->scan_rejects([&](const Reject& rj) {
    ++quarantined;
    out +=
        "quarantined: " + rj.disposition + " line " + std::to_string(rj.line) + " field '" + rj.field + "'\n";
    return true;
  });
  // Every row read is exactly one of the four outcomes, and nothing rejected is lost.
  if (r->read != r->accepted + r->duplicates + r->conflicts + r->rejected) out += "COUNTS DO NOT ADD UP\n";
  if (quarantined != r->conflicts + r->rejected) out += "QUARANTINE COUNT MISMATCH\n";
  // Messages name the file by its path; make that relative to the corpus.
  for (std::size_t p; (p = out.find(kCorpus + "/")) != std::string::npos;) out.erase(p, kCorpus.size() + 1);
  return out;
}

class MalformedInput : public ::testing::TestWithParam<std::string> {};

TEST_P(MalformedInput, GivesTheExpectedOutcome) {
  const std::string name = GetParam();
  const std::string actual = outcome(name);
  const std::string expected_path = kCorpus + "/" + name + ".expected";
  if (std::getenv("TRUCE_UPDATE_GOLDEN")) testing::write_file(expected_path, actual);
  ASSERT_TRUE(fs::exists(expected_path)) << "no " << expected_path << "; actual outcome:\n" << actual;
  EXPECT_EQ(actual, testing::read_file(expected_path));
}

INSTANTIATE_TEST_SUITE_P(Corpus, MalformedInput, ::testing::ValuesIn(corpus_files()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

TEST(MalformedCorpus, HasAtLeastThirtyCases) { EXPECT_GE(corpus_files().size(), 30u); }

}  // namespace
}  // namespace truce
