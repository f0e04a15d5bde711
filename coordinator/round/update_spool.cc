#include "coordinator/round/update_spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"

namespace tverr::coordinator {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

UpdateSpool::Writer::~Writer() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(part_path_.c_str());
  }
}

absl::Status UpdateSpool::Writer::Append(absl::string_view piece) {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return error_ = absl::FailedPreconditionError("the spooled update is closed");
  while (!piece.empty()) {
    const ssize_t n = ::write(fd_, piece.data(), piece.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return error_ = Errno("cannot write", part_path_);
    piece.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status UpdateSpool::Writer::Keep() {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return absl::FailedPreconditionError("the spooled update is closed");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    ::unlink(part_path_.c_str());
    return error_ = Errno("cannot close", part_path_);
  }
  if (::rename(part_path_.c_str(), path_.c_str()) != 0) {
    ::unlink(part_path_.c_str());
    return error_ = Errno("cannot rename", part_path_);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<UpdateSpool>> UpdateSpool::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  auto spool = std::unique_ptr<UpdateSpool>(new UpdateSpool(dir));
  spool->Clear();
  return spool;
}

std::string UpdateSpool::PathFor(const std::string& node, uint64_t round) const {
  // Node identities are URIs; the file name carries a hash of it only.
  return absl::StrCat(dir_, "/", round, "-", crypto::ToHex(crypto::Sha256(node)).substr(0, 24),
                      ".tvts");
}

absl::StatusOr<std::unique_ptr<UpdateSpool::Writer>> UpdateSpool::Create(const std::string& node,
                                                                         uint64_t round) {
  const std::string path = PathFor(node, round);
  const std::string part = path + ".part";
  ::unlink(path.c_str());
  const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", part);
  return std::unique_ptr<Writer>(new Writer(fd, part, path));
}

absl::Status UpdateSpool::Read(const std::string& node, uint64_t round, size_t piece_bytes,
                               const std::function<absl::Status(absl::string_view)>& sink) const {
  const std::string path = PathFor(node, round);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("no spooled update of ", node, " in round ", round));
    }
    return Errno("cannot open", path);
  }
  std::vector<char> buffer(piece_bytes > 0 ? piece_bytes : 1);
  absl::Status status;
  while (status.ok()) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = Errno("cannot read", path);
      break;
    }
    if (n == 0) break;
    status = sink(absl::string_view(buffer.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  return status;
}

void UpdateSpool::Clear() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    std::filesystem::remove(entry.path(), ec);
  }
}

}  // namespace tverr::coordinator
