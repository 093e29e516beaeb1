#include "truce/io/record_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace truce::io {

Result<std::unique_ptr<ByteSource>> ByteSource::open(const std::string& path) {
  std::unique_ptr<ByteSource> s(new ByteSource());
  s->name_ = path;
  if (path == "-") {
    s->fd_ = 0;
    s->name_ = "-";
  } else {
    s->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (s->fd_ < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
    s->owns_ = true;
    struct stat st {};
    if (::fstat(s->fd_, &st) == 0) {
      if (S_ISDIR(st.st_mode)) return Status::IOError("cannot read " + path + ": it is a directory");
      if (S_ISREG(st.st_mode)) s->size_ = st.st_size;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    ::posix_fadvise(s->fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  }
  return s;
}

std::unique_ptr<ByteSource> ByteSource::from_string(std::string data, std::string name) {
  std::unique_ptr<ByteSource> s(new ByteSource());
  s->size_ = static_cast<std::int64_t>(data.size());
  s->mem_ = std::move(data);
  s->name_ = std::move(name);
  s->in_memory_ = true;
  return s;
}

ByteSource::~ByteSource() {
  if (owns_ && fd_ >= 0) ::close(fd_);
}

long ByteSource::read(char* buf, std::size_t n) {
  if (in_memory_) {
    const std::size_t k = std::min(n, mem_.size() - mem_pos_);
    std::memcpy(buf, mem_.data() + mem_pos_, k);
    mem_pos_ += k;
    return static_cast<long>(k);
  }
  for (;;) {
    const ssize_t r = ::read(fd_, buf, n);
    if (r >= 0) return static_cast<long>(r);
    if (errno == EINTR) continue;
    error_ = std::strerror(errno);
    return -1;
  }
}

Result<MappedFile> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::IOError("cannot map " + path + ": not a regular file");
  }
  if (st.st_size == 0) {
    ::close(fd);
    return MappedFile(nullptr, 0);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  // MAP_POPULATE: the whole file is read, so its pages are mapped in one call, not one fault each.
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  const int err = errno;
  ::close(fd);
  if (p == MAP_FAILED) return Status::IOError("cannot map " + path + ": " + std::strerror(err));
  return MappedFile(p, size);
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    close();
    data_ = o.data_, size_ = o.size_;
    o.data_ = nullptr, o.size_ = 0;
  }
  return *this;
}

void MappedFile::close() {
  if (data_) ::munmap(data_, size_);
  data_ = nullptr, size_ = 0;
}

Result<std::string> read_all(const std::string& path, std::int64_t max_bytes) {
  auto src = ByteSource::open(path);
  if (!src.ok()) return src.status();
  const std::string limit = "the limit is " + std::to_string(max_bytes) + " bytes";
  if ((*src)->size() > max_bytes) {
    return Status::Invalid("file is " + std::to_string((*src)->size()) + " bytes; " + limit,
                           Location{path, 0, ""});
  }
  std::string out;
  if ((*src)->size() > 0) out.reserve(static_cast<std::size_t>((*src)->size()));
  char buf[1 << 16];
  for (;;) {
    const long n = (*src)->read(buf, sizeof buf);
    if (n < 0) return Status::IOError(path + ": " + (*src)->error());
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (static_cast<std::int64_t>(out.size()) > max_bytes) {
      return Status::Invalid("input is larger than the limit: " + limit, Location{path, 0, ""});
    }
  }
  return out;
}

RecordReader::RecordReader(ByteSource& src, Mode mode, Limits limits)
    : src_(src), mode_(mode), limits_(limits) {
  buf_.resize(std::max<std::size_t>(4u << 20, 2 * limits_.max_record_bytes + 2));
}

bool RecordReader::fill() {
  if (eof_ || io_error_) return false;
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == buf_.size()) return false;
  const long r = src_.read(buf_.data() + end_, buf_.size() - end_);
  if (r < 0) {
    io_error_ = true;
    return false;
  }
  if (r == 0) {
    eof_ = true;
    return false;
  }
  end_ += static_cast<std::size_t>(r);
  if (first_ && end_ >= 3 && std::memcmp(buf_.data(), "\xEF\xBB\xBF", 3) == 0) {
    pos_ = 3;
    consumed_ += 3;
  }
  if (end_ >= 3) first_ = false;
  return true;
}

std::string RecordReader::too_long() const {
  return "record longer than " + std::to_string(limits_.max_record_bytes) +
         " bytes (a missing line break or a runaway quote?); skipped";
}

ReadResult RecordReader::bad(Record& rec, Status& err, std::string msg, std::int64_t line) {
  rec.line = line;
  err = Status::Invalid(std::move(msg), Location{src_.name(), line, ""});
  return ReadResult::kBadRecord;
}

ReadResult RecordReader::skip_rest_of_line(Record& rec, Status& err, std::string msg, std::int64_t line) {
  // Keep the first bytes for quarantine, drop the rest up to the next raw newline.
  field_scratch_.assign(buf_.data() + pos_, std::min<std::size_t>(end_ - pos_, 4096));
  std::size_t skipped = 0;
  for (;;) {
    const void* nl = std::memchr(buf_.data() + pos_, '\n', end_ - pos_);
    if (nl) {
      const auto n = static_cast<std::size_t>(static_cast<const char*>(nl) - (buf_.data() + pos_)) + 1;
      pos_ += n;
      consumed_ += n;
      break;
    }
    skipped += end_ - pos_;
    consumed_ += end_ - pos_;
    pos_ = end_;
    if (skipped > limits_.max_skip_bytes) {
      err = Status::Invalid("no line end within " + std::to_string(limits_.max_skip_bytes >> 20) +
                                " MiB: not a file of text records (CSV or NDJSON); the rest is not read",
                            Location{src_.name(), line, ""});
      return ReadResult::kFatal;
    }
    if (!fill()) break;
  }
  ++line_;
  rec.raw = field_scratch_;
  return bad(rec, err, std::move(msg), line);
}

ReadResult RecordReader::next(Record& rec, Status& err) {
  rec.fields.clear();
  rec.raw = {};
  for (;;) {
    if (pos_ == end_ && !fill()) {
      if (io_error_) {
        err = Status::IOError("error reading " + src_.name() + ": " + src_.error());
        return ReadResult::kFatal;
      }
      return ReadResult::kEnd;
    }
    // Find the end of the record: a newline outside quotes (CSV) or any newline (lines mode).
    std::size_t scan = pos_;
    bool in_quotes = false;
    bool has_quote = false;
    std::size_t rec_end = std::string::npos;
    std::int64_t newlines_inside = 0;
    std::size_t last_close = std::string::npos;
    for (;;) {
      if (mode_ == Mode::kLines || !in_quotes) {
        const char* base = buf_.data();
        const void* nl = std::memchr(base + scan, '\n', end_ - scan);
        const std::size_t stop = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - base) : end_;
        if (mode_ == Mode::kCsv) {
          const void* q = std::memchr(base + scan, '"', stop - scan);
          if (q) {
            // A quote opens a quoted field only at the start of a field (or as the second of a
            // doubled quote inside one); elsewhere it is stray and the field splitter reports it.
            const auto qi = static_cast<std::size_t>(static_cast<const char*>(q) - base);
            has_quote = true;
            if (qi == pos_ || base[qi - 1] == ',' ||
                (last_close != std::string::npos && qi == last_close + 1)) {
              in_quotes = true;
            }
            scan = qi + 1;
            continue;
          }
        }
        if (nl) {
          rec_end = stop;
          break;
        }
        scan = end_;
      } else {
        // Inside quotes: look for the closing quote; newlines here belong to the field.
        const char* base = buf_.data();
        const void* q = std::memchr(base + scan, '"', end_ - scan);
        const std::size_t stop = q ? static_cast<std::size_t>(static_cast<const char*>(q) - base) : end_;
        for (std::size_t i = scan; i < stop; ++i) newlines_inside += base[i] == '\n';
        if (q) {
          in_quotes = false;
          last_close = stop;
          scan = stop + 1;
          continue;
        }
        scan = end_;
      }
      // Ran out of buffered input before the record ended.
      if (scan - pos_ > limits_.max_record_bytes) {
        const std::int64_t line = line_;
        line_ += newlines_inside;
        return skip_rest_of_line(rec, err, too_long(), line);
      }
      const std::size_t off = scan - pos_;
      newlines_inside = 0;  // recounted after the refill from the record start
      if (!fill()) {
        if (io_error_) {
          err = Status::IOError("error reading " + src_.name() + ": " + src_.error());
          return ReadResult::kFatal;
        }
        if (in_quotes) {
          const std::int64_t line = line_;
          rec.raw = std::string_view(buf_.data() + pos_, std::min<std::size_t>(end_ - pos_, 4096));
          consumed_ += end_ - pos_;
          pos_ = end_;
          return bad(rec, err, "unterminated quoted field (a '\"' opens a field that never closes)", line);
        }
        rec_end = end_;
        break;
      }
      // Restart the scan of this record from its beginning (positions moved in fill()).
      (void)off;
      scan = pos_;
      in_quotes = false;
      has_quote = false;
      last_close = std::string::npos;
    }
    const std::size_t start = pos_;
    const std::size_t next_pos = rec_end < end_ ? rec_end + 1 : end_;
    consumed_ += next_pos - pos_;
    pos_ = next_pos;
    const std::int64_t line = line_;
    // Count every newline of the record (quoted ones included) for the next record's line number.
    std::int64_t nls = rec_end < end_ ? 1 : 0;
    if (has_quote) {
      for (std::size_t i = start; i < rec_end; ++i) nls += buf_[i] == '\n';
    }
    line_ += nls;
    std::size_t stop = rec_end;
    if (stop > start && buf_[stop - 1] == '\r') --stop;
    std::string_view text(buf_.data() + start, stop - start);
    rec.raw = text;
    rec.line = line;
    if (text.empty()) continue;  // blank lines are skipped
    if (text.size() > limits_.max_record_bytes) {
      return bad(rec, err, too_long(), line);
    }
    if (std::memchr(text.data(), '\0', text.size())) {
      return bad(rec, err, "binary data (a NUL byte) in the record; expected UTF-8 text", line);
    }
    if (!valid_utf8(text)) return bad(rec, err, "invalid UTF-8 in the record; expected UTF-8 text", line);
    if (mode_ == Mode::kLines) {
      rec.fields.push_back(text);
      return ReadResult::kRecord;
    }
    if (!has_quote) {
      std::size_t b = 0;
      for (;;) {
        const void* c = std::memchr(text.data() + b, ',', text.size() - b);
        const std::size_t e =
            c ? static_cast<std::size_t>(static_cast<const char*>(c) - text.data()) : text.size();
        rec.fields.push_back(text.substr(b, e - b));
        if (!c) break;
        b = e + 1;
        if (rec.fields.size() >= limits_.max_fields) {
          return bad(rec, err, "more than " + std::to_string(limits_.max_fields) + " fields", line);
        }
      }
      return ReadResult::kRecord;
    }
    // Quoted fields: unescape into scratch (reserved so views stay valid).
    field_scratch_.clear();
    field_scratch_.reserve(text.size());
    std::size_t i = 0;
    for (;;) {
      if (rec.fields.size() >= limits_.max_fields) {
        return bad(rec, err, "more than " + std::to_string(limits_.max_fields) + " fields", line);
      }
      if (i < text.size() && text[i] == '"') {
        const std::size_t out_start = field_scratch_.size();
        ++i;
        bool closed = false;
        while (i < text.size()) {
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field_scratch_.push_back('"');
              i += 2;
              continue;
            }
            closed = true;
            ++i;
            break;
          }
          field_scratch_.push_back(text[i++]);
        }
        if (!closed) return bad(rec, err, "unterminated quoted field", line);
        rec.fields.emplace_back(field_scratch_.data() + out_start, field_scratch_.size() - out_start);
        if (i == text.size()) break;
        if (text[i] != ',') {
          return bad(rec, err,
                     "stray quote: text after a closing '\"' in field " + std::to_string(rec.fields.size()) +
                         " (quote a field whole, and double any '\"' inside it)",
                     line);
        }
        ++i;
        if (i == text.size()) {
          rec.fields.emplace_back();
          break;
        }
      } else {
        const std::size_t b = i;
        while (i < text.size() && text[i] != ',') {
          if (text[i] == '"') {
            return bad(rec, err,
                       "stray quote in unquoted field " + std::to_string(rec.fields.size() + 1) +
                           " (quote the whole field, and double any '\"' inside it)",
                       line);
          }
          ++i;
        }
        rec.fields.push_back(text.substr(b, i - b));
        if (i == text.size()) break;
        ++i;
        if (i == text.size()) {
          rec.fields.emplace_back();
          break;
        }
      }
    }
    return ReadResult::kRecord;
  }
}

}  // namespace truce::io
