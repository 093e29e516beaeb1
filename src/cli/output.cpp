#include "cli/output.h"

#include <nlohmann/json.hpp>

namespace truce::cli {

OutFormat parse_format(const std::string& s) {
  if (s == "csv") return OutFormat::kCsv;
  if (s == "json") return OutFormat::kJson;
  return OutFormat::kTable;
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string json_escape(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

TableWriter::TableWriter(std::FILE* out, OutFormat fmt, std::vector<std::string> columns,
                         std::vector<bool> numeric)
    : out_(out), fmt_(fmt), columns_(std::move(columns)), numeric_(std::move(numeric)) {
  numeric_.resize(columns_.size(), false);
  if (fmt_ == OutFormat::kCsv) {
    for (std::size_t i = 0; i < columns_.size(); ++i)
      std::fprintf(out_, "%s%s", i ? "," : "", columns_[i].c_str());
    std::fputc('\n', out_);
  } else if (fmt_ == OutFormat::kJson) {
    std::fputc('[', out_);
  }
}

TableWriter::~TableWriter() { finish(); }

void TableWriter::row(const std::vector<std::string>& v) {
  switch (fmt_) {
    case OutFormat::kCsv:
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) std::fputc(',', out_);
        const std::string e = csv_escape(v[i]);
        std::fwrite(e.data(), 1, e.size(), out_);
      }
      std::fputc('\n', out_);
      break;
    case OutFormat::kJson: {
      std::string s = first_json_ ? "\n{" : ",\n{";
      first_json_ = false;
      for (std::size_t i = 0; i < v.size() && i < columns_.size(); ++i) {
        if (i) s += ',';
        s += json_escape(columns_[i]) + ":";
        s += v[i].empty() ? "null" : numeric_[i] ? v[i] : json_escape(v[i]);
      }
      s += '}';
      std::fwrite(s.data(), 1, s.size(), out_);
      break;
    }
    case OutFormat::kTable:
      pending_.push_back(v);
      if (pending_.size() >= 1000) flush_pending();
      break;
  }
}

void TableWriter::flush_pending() {
  if (!widths_fixed_) {
    widths_.assign(columns_.size(), 0);
    for (std::size_t i = 0; i < columns_.size(); ++i) widths_[i] = columns_[i].size();
    for (const auto& r : pending_) {
      for (std::size_t i = 0; i < r.size() && i < widths_.size(); ++i)
        widths_[i] = std::max(widths_[i], r[i].size());
    }
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      std::fprintf(out_, "%s%-*s", i ? "  " : "", static_cast<int>(widths_[i]), columns_[i].c_str());
    }
    std::fputc('\n', out_);
    widths_fixed_ = true;
  }
  for (const auto& r : pending_) {
    for (std::size_t i = 0; i < r.size() && i < widths_.size(); ++i) {
      std::fprintf(out_, numeric_[i] ? "%s%*s" : "%s%-*s", i ? "  " : "", static_cast<int>(widths_[i]),
                   r[i].c_str());
    }
    std::fputc('\n', out_);
  }
  pending_.clear();
}

void TableWriter::finish() {
  if (finished_) return;
  finished_ = true;
  if (fmt_ == OutFormat::kTable) {
    flush_pending();
  } else if (fmt_ == OutFormat::kJson) {
    std::fputs(first_json_ ? "]\n" : "\n]\n", out_);
  }
  std::fflush(out_);
}

}  // namespace truce::cli
