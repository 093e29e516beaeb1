// Machine-readable and human output for CLI commands: one table model, three renderings.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace truce::cli {

enum class OutFormat { kTable, kCsv, kJson };
// CLI11 transform for --format table|csv|json.
OutFormat parse_format(const std::string& s);

struct Table {
  std::vector<std::string> columns;
  std::vector<bool> numeric;  // parallel to columns: written unquoted in JSON, right-aligned in tables
  std::vector<std::vector<std::string>> rows;
};

// Streams rows as they come (for million-row outputs); the table format buffers to align columns
// of the first 1000 rows and then keeps those widths.
class TableWriter {
 public:
  TableWriter(std::FILE* out, OutFormat fmt, std::vector<std::string> columns, std::vector<bool> numeric);
  ~TableWriter();
  void row(const std::vector<std::string>& values);
  void finish();

 private:
  void flush_pending();
  std::FILE* out_;
  OutFormat fmt_;
  std::vector<std::string> columns_;
  std::vector<bool> numeric_;
  std::vector<std::vector<std::string>> pending_;
  std::vector<std::size_t> widths_;
  bool widths_fixed_ = false;
  bool first_json_ = true;
  bool finished_ = false;
};

std::string csv_escape(const std::string& s);
std::string json_escape(const std::string& s);

}  // namespace truce::cli
