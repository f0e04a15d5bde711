#include "common/audit/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/crypto/secure_memory.h"

namespace tverr::audit::internal {

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  const int err = errno;
  std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EEXIST) return absl::AlreadyExistsError(message);
  return absl::InternalError(message);
}

absl::Status FsyncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open directory", dir);
  const int rc = fsync(fd);
  absl::Status status = rc == 0 ? absl::OkStatus() : ErrnoStatus("cannot fsync directory", dir);
  close(fd);
  return status;
}

absl::Status WriteAll(int fd, absl::string_view data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    const ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("write failed: ", std::strerror(errno)));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status WriteNewFileDurably(const std::string& path, absl::string_view contents, mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus("cannot create", path);
  absl::Status status = WriteAll(fd, contents);
  // The umask may have narrowed `mode`; a key file gets exactly `mode`.
  if (status.ok() && fchmod(fd, mode) != 0) status = ErrnoStatus("cannot chmod", path);
  if (status.ok() && fsync(fd) != 0) status = ErrnoStatus("cannot fsync", path);
  if (close(fd) != 0 && status.ok()) status = ErrnoStatus("cannot close", path);
  if (status.ok()) status = FsyncDirectory(DirName(path));
  if (!status.ok()) unlink(path.c_str());
  return status;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open", path);
  std::string out;
  struct stat st;
  // Reserve up front so that no reallocation leaves copies behind.
  if (fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size) + 1);
  char buf[1 << 16];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status status = ErrnoStatus("cannot read", path);
      close(fd);
      crypto::SecureWipe(buf, sizeof(buf));
      crypto::SecureWipe(out.data(), out.size());
      return status;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  crypto::SecureWipe(buf, sizeof(buf));  // the caller may be reading a private key
  return out;
}

}  // namespace tverr::audit::internal
