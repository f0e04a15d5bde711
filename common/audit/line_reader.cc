#include "common/audit/line_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/audit/file_util.h"

namespace tverr::audit::internal {
namespace {
constexpr size_t kChunk = 1 << 20;
}  // namespace

absl::StatusOr<std::unique_ptr<LineReader>> LineReader::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open", path);
  return std::unique_ptr<LineReader>(new LineReader(fd));
}

LineReader::~LineReader() { close(fd_); }

absl::StatusOr<bool> LineReader::Fill() {
  if (eof_) return false;
  // Keep the unconsumed bytes (a partial line) at the front.
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    buffer_offset_ += begin_;
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() - end_ < kChunk) buffer_.resize(end_ + kChunk);
  while (true) {
    const ssize_t n = read(fd_, buffer_.data() + end_, buffer_.size() - end_);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("read failed: ", std::strerror(errno)));
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    end_ += static_cast<size_t>(n);
    return true;
  }
}

absl::StatusOr<bool> LineReader::Next(Line* line) {
  size_t searched = begin_;
  while (true) {
    const void* nl = std::memchr(buffer_.data() + searched, '\n', end_ - searched);
    if (nl != nullptr) {
      const size_t pos = static_cast<size_t>(static_cast<const char*>(nl) - buffer_.data());
      line->text = absl::string_view(buffer_.data() + begin_, pos - begin_);
      line->offset = buffer_offset_ + begin_;
      line->complete = true;
      begin_ = pos + 1;
      return true;
    }
    const size_t scanned = end_ - begin_;
    absl::StatusOr<bool> more = Fill();
    if (!more.ok()) return more.status();
    if (!*more) {
      if (begin_ == end_) return false;
      line->text = absl::string_view(buffer_.data() + begin_, end_ - begin_);
      line->offset = buffer_offset_ + begin_;
      line->complete = false;
      begin_ = end_;
      return true;
    }
    searched = begin_ + scanned;  // Fill() moved the partial line to the front
  }
}

}  // namespace tverr::audit::internal
