// Any bytes through the CSV and line readers, with small limits so the long-record paths run.
#include <cstdint>
#include <string>

#include "truce/io/record_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (auto mode : {truce::io::RecordReader::Mode::kCsv, truce::io::RecordReader::Mode::kLines}) {
    auto src =
        truce::io::ByteSource::from_string(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    truce::io::Limits limits;
    limits.max_record_bytes = 64;
    limits.max_fields = 8;
    truce::io::RecordReader r(*src, mode, limits);
    truce::io::Record rec;
    truce::Status err;
    for (int i = 0; i < 100000; ++i) {
      const auto rr = r.next(rec, err);
      if (rr == truce::io::ReadResult::kEnd || rr == truce::io::ReadResult::kFatal) break;
    }
  }
  return 0;
}
