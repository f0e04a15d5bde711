// Internal to common/audit: include it only from common/audit/*.cc.
//
// Small POSIX file helpers for durable writes. Thread-safe.
#ifndef TVERR_COMMON_AUDIT_FILE_UTIL_H_
#define TVERR_COMMON_AUDIT_FILE_UTIL_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tverr::audit::internal {

// The directory part of `path` ("." when it has none).
std::string DirName(const std::string& path);

// fsync(2) of a directory, so that names created or renamed in it survive a
// crash. INTERNAL on failure.
absl::Status FsyncDirectory(const std::string& dir);

// Creates `path` (O_EXCL: ALREADY_EXISTS if it exists) with `mode`, writes
// `contents`, fsyncs it and its directory. On failure the file is removed.
absl::Status WriteNewFileDurably(const std::string& path, absl::string_view contents, mode_t mode);

// write(2) of all of `data` at the file offset, retrying on EINTR and short
// writes. INTERNAL with errno's text on failure.
absl::Status WriteAll(int fd, absl::string_view data);

// The whole file (a small one: a key). NOT_FOUND if it does not exist;
// INTERNAL otherwise. The read buffer is wiped; the caller wipes the result
// if it is secret.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

// "<what> <path>: <strerror(errno)>" as an INTERNAL status (NOT_FOUND for
// ENOENT).
absl::Status ErrnoStatus(absl::string_view what, const std::string& path);

}  // namespace tverr::audit::internal

#endif  // TVERR_COMMON_AUDIT_FILE_UTIL_H_
