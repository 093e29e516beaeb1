// Streaming readers for untrusted text files: CSV (RFC 4180) and NDJSON. They never hold the whole
// file: memory is bounded by one record (at most Limits::max_record_bytes) plus the read buffer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "truce/core/status.h"
#include "truce/core/validate.h"

namespace truce::io {

struct Limits {
  std::size_t max_record_bytes = 1 << 20;  // a longer line is rejected and skipped, never buffered whole
  // A line still without its end this far past the record bound ends the file's reading with an
  // error: an endless or binary input (/dev/zero) is not read until killed.
  std::size_t max_skip_bytes = 64u << 20;
  std::size_t max_fields = 256;
  int max_json_depth = 16;
};

// A byte source: a file descriptor read in large chunks. Owns the descriptor unless it is stdin.
class ByteSource {
 public:
  // "-" is standard input. Fails with IOError naming the path.
  static Result<std::unique_ptr<ByteSource>> open(const std::string& path);
  static std::unique_ptr<ByteSource> from_string(std::string data, std::string name);  // for tests
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;
  // Reads up to n bytes; 0 at end of input; -1 on error (errno is kept in error()).
  long read(char* buf, std::size_t n);
  const std::string& name() const { return name_; }
  std::int64_t size() const { return size_; }  // -1 when unknown (a pipe)
  const std::string& error() const { return error_; }

 private:
  ByteSource() = default;
  int fd_ = -1;
  bool owns_ = false;
  std::string name_;
  std::int64_t size_ = -1;
  std::string mem_;
  std::size_t mem_pos_ = 0;
  bool in_memory_ = false;
  std::string error_;
};

// One record: its fields as views into the reader's buffer (valid until the next call to next()),
// the 1-based line it started on, and its raw text for quarantine.
struct Record {
  std::vector<std::string_view> fields;
  std::int64_t line = 0;
  std::string_view raw;
};

enum class ReadResult { kRecord, kBadRecord, kEnd, kFatal };

// Splits a byte source into lines (CRLF or LF; a UTF-8 BOM at the start is dropped) and, for CSV,
// into fields. A bad record (stray quote, NUL byte, invalid UTF-8, too long, too many fields) is
// reported with its line and the reader continues at the next line.
class RecordReader {
 public:
  enum class Mode { kCsv, kLines };
  RecordReader(ByteSource& src, Mode mode, Limits limits = {});
  // kRecord: rec is filled. kBadRecord: err says why (line set), rec.raw holds what was kept.
  // kEnd: no more input. kFatal: an I/O error, in err.
  ReadResult next(Record& rec, Status& err);
  std::uint64_t bytes_consumed() const { return consumed_; }

 private:
  std::string too_long() const;
  bool fill();  // reads more input into buf_; false at end or error
  ReadResult bad(Record& rec, Status& err, std::string msg, std::int64_t line);
  ReadResult skip_rest_of_line(Record& rec, Status& err, std::string msg, std::int64_t line);

  ByteSource& src_;
  Mode mode_;
  Limits limits_;
  std::string buf_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  bool io_error_ = false;
  bool first_ = true;
  std::int64_t line_ = 1;
  std::uint64_t consumed_ = 0;
  std::string field_scratch_;  // unescaped quoted fields live here
  std::vector<std::pair<std::size_t, std::size_t>> spans_;
};

// A regular file mapped read-only into memory, whole: for parsing a large file in place, in pieces
// on several threads, without copying it. Move-only; unmapped by close() or the destructor. For
// batch reading of a file nobody rewrites meanwhile: if another process truncates it while it is
// mapped, reading the lost pages raises SIGBUS (streamed reading through ByteSource has no such
// limit).
class MappedFile {
 public:
  // Fails with IOError naming the path (not a regular file, or it cannot be mapped).
  static Result<MappedFile> open(const std::string& path);
  MappedFile(MappedFile&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr, o.size_ = 0; }
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() { close(); }
  std::string_view text() const { return {static_cast<const char*>(data_), size_}; }
  void close();  // text() is empty after

 private:
  MappedFile(void* data, std::size_t size) : data_(data), size_(size) {}
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

// Reads a whole file ("-" = stdin), refusing one larger than max_bytes (checked before reading
// when the size is known, and while reading otherwise). For documents: GeoJSON, agreements.
Result<std::string> read_all(const std::string& path, std::int64_t max_bytes);

// The readers' UTF-8 check is the one every channel's validation uses (core/validate.h).
using truce::valid_utf8;

}  // namespace truce::io
