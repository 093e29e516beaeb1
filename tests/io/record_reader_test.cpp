#include "truce/io/record_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace truce::io {
namespace {

struct Read {
  std::vector<std::vector<std::string>> records;
  std::vector<std::int64_t> lines;
  std::vector<std::string> errors;
};

Read read_all(const std::string& text, RecordReader::Mode mode = RecordReader::Mode::kCsv,
              Limits limits = {}) {
  auto src = ByteSource::from_string(text, "t.csv");
  RecordReader r(*src, mode, limits);
  Read out;
  Record rec;
  Status err;
  for (;;) {
    const ReadResult rr = r.next(rec, err);
    if (rr == ReadResult::kEnd || rr == ReadResult::kFatal) break;
    if (rr == ReadResult::kBadRecord) {
      out.errors.push_back(err.ToString());
      continue;
    }
    out.records.emplace_back(rec.fields.begin(), rec.fields.end());
    out.lines.push_back(rec.line);
  }
  return out;
}

TEST(RecordReader, SplitsPlainFields) {
  auto r = read_all("a,b,c\n1,,3\n");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[1], (std::vector<std::string>{"1", "", "3"}));
}

TEST(RecordReader, CrlfBomAndMissingFinalNewline) {
  auto r = read_all("\xEF\xBB\xBFid,x\r\n1,2\r\n3,4");
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0][0], "id");
  EXPECT_EQ(r.records[1][1], "2");
  EXPECT_EQ(r.records[2][1], "4");
}

TEST(RecordReader, QuotedFieldsWithCommasQuotesAndNewlines) {
  auto r = read_all("id,notes\n1,\"a, \"\"b\"\"\nc\"\n2,x\n");
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[1][1], "a, \"b\"\nc");
  // The record after a two-line quoted field starts on line 4.
  EXPECT_EQ(r.lines[2], 4);
}

TEST(RecordReader, TrailingEmptyFieldAfterQuotedField) {
  auto r = read_all("\"a\",\n");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0], (std::vector<std::string>{"a", ""}));
}

TEST(RecordReader, StrayQuoteIsReportedWithItsLineAndReadingGoesOn) {
  auto r = read_all("a,b\nx\"y,2\n3,4\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(
      r.errors[0],
      "t.csv:2: stray quote in unquoted field 1 (quote the whole field, and double any '\"' inside it)");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[1][0], "3");
  EXPECT_EQ(r.lines[1], 3);
}

TEST(RecordReader, TooLongRecordIsSkippedToTheNextLine) {
  Limits l;
  l.max_record_bytes = 64;
  auto r = read_all("a\n" + std::string(10000, 'z') + "\nok\n", RecordReader::Mode::kCsv, l);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0],
            "t.csv:2: record longer than 64 bytes (a missing line break or a runaway quote?); skipped");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[1][0], "ok");
  EXPECT_EQ(r.lines[1], 3);
}

TEST(RecordReader, TooManyFields) {
  Limits l;
  l.max_fields = 4;
  auto r = read_all("1,2,3,4,5,6\n", RecordReader::Mode::kCsv, l);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "t.csv:1: more than 4 fields");
}

TEST(RecordReader, BlankLinesAreSkippedButCounted) {
  auto r = read_all("a\n\n\nb\n");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.lines[1], 4);
}

TEST(RecordReader, LinesModeIgnoresQuotes) {
  auto r = read_all("{\"a\":\"x,\\\"y\"}\n{}\n", RecordReader::Mode::kLines);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0][0], "{\"a\":\"x,\\\"y\"}");
}

TEST(Utf8, AcceptsValidAndRejectsInvalid) {
  EXPECT_TRUE(valid_utf8("Ստեփանակերտ Xankəndi"));
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("abc\xE2\x82"));       // truncated
  EXPECT_FALSE(valid_utf8("\xF5\x80\x80\x80"));  // beyond U+10FFFF
}

TEST(MappedFile, MapsTheWholeFileAndFailsClearly) {
  const auto dir = std::filesystem::temp_directory_path() / ("truce_mapped_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "a.csv").string(), empty = (dir / "empty.csv").string();
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "row," + std::to_string(i) + "\n";  // several pages
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  std::fclose(std::fopen(empty.c_str(), "wb"));

  auto m = MappedFile::open(path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->text(), text);
  MappedFile moved = std::move(*m);
  EXPECT_TRUE(m->text().empty());
  EXPECT_EQ(moved.text(), text);
  moved.close();
  EXPECT_TRUE(moved.text().empty());

  auto e = MappedFile::open(empty);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->text().empty());
  const auto missing = MappedFile::open((dir / "nope.csv").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().ToString().find("nope.csv"), std::string::npos);
  const auto folder = MappedFile::open(dir.string());
  ASSERT_FALSE(folder.ok());
  EXPECT_NE(folder.status().ToString().find("not a regular file"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace truce::io
