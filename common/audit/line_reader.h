// Internal to common/audit: include it only from common/audit/*.cc.
//
// Reads a file line by line in large chunks (no line is copied unless it
// crosses a chunk boundary). Thread-compatible.
#ifndef TVERR_COMMON_AUDIT_LINE_READER_H_
#define TVERR_COMMON_AUDIT_LINE_READER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tverr::audit::internal {

struct Line {
  absl::string_view text;  // without the '\n'; valid until the next Next()
  uint64_t offset = 0;     // of the line's first byte in the file
  bool complete = false;   // false for a last line that has no '\n'
};

class LineReader {
 public:
  // NOT_FOUND if `path` does not exist; INTERNAL on other errors.
  static absl::StatusOr<std::unique_ptr<LineReader>> Open(const std::string& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line, or false at the end of the file. INTERNAL on read errors.
  absl::StatusOr<bool> Next(Line* line);

 private:
  explicit LineReader(int fd) : fd_(fd) {}
  // Reads more bytes after the unconsumed ones; false at end of file.
  absl::StatusOr<bool> Fill();

  int fd_;
  std::string buffer_;
  size_t begin_ = 0;            // first unconsumed byte in buffer_
  size_t end_ = 0;              // bytes of buffer_ holding data
  uint64_t buffer_offset_ = 0;  // file offset of buffer_[0]
  bool eof_ = false;
};

}  // namespace tverr::audit::internal

#endif  // TVERR_COMMON_AUDIT_LINE_READER_H_
