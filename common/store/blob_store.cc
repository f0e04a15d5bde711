#include "common/store/blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tverr::store {
namespace {

constexpr char kTmpPrefix[] = ".tmp-";

absl::Status MakeDirs(const std::string& dir) {
  std::string partial;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || (dir[i] == '/' && i > 0)) {
      partial = dir.substr(0, i);
      if (mkdir(partial.c_str(), 0750) != 0 && errno != EEXIST) {
        return absl::PermissionDeniedError(
            absl::StrCat("cannot create directory ", partial, ": ", std::strerror(errno)));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status FsyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot open directory ", dir));
  int rc = fsync(fd);
  close(fd);
  if (rc != 0) return absl::InternalError(absl::StrCat("fsync of directory ", dir, " failed"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<BlobStore>> BlobStore::Open(const std::string& dir) {
  if (absl::Status s = MakeDirs(dir); !s.ok()) return s;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (absl::StartsWith(e->d_name, kTmpPrefix)) {
        unlink(absl::StrCat(dir, "/", e->d_name).c_str());
      }
    }
    closedir(d);
  }
  return std::unique_ptr<BlobStore>(new BlobStore(dir));
}

absl::StatusOr<std::unique_ptr<BlobWriter>> BlobStore::NewWriter() {
  static std::atomic<uint64_t> counter{0};
  std::string tmp = absl::StrCat(dir_, "/", kTmpPrefix, getpid(), "-", counter++);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot create ", tmp, ": ", std::strerror(errno)));
  }
  FILE* f = fdopen(fd, "wb");
  if (f == nullptr) {
    close(fd);
    return absl::InternalError("fdopen failed");
  }
  return std::unique_ptr<BlobWriter>(new BlobWriter(dir_, tmp, f));
}

absl::StatusOr<std::string> BlobStore::PathOf(const crypto::Sha256Digest& digest) const {
  std::string path = absl::StrCat(dir_, "/", crypto::ToHex(digest));
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("no payload with digest ", crypto::ToHex(digest)));
  }
  return path;
}

BlobWriter::~BlobWriter() {
  if (file_ != nullptr) std::fclose(file_);
  if (!committed_) unlink(tmp_path_.c_str());
}

absl::Status BlobWriter::Append(absl::string_view data) {
  if (file_ == nullptr) return absl::FailedPreconditionError("blob writer is closed");
  if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot write payload to disk: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status BlobWriter::Commit(const crypto::Sha256Digest& digest) {
  if (file_ == nullptr) return absl::FailedPreconditionError("blob writer is closed");
  bool ok = std::fflush(file_) == 0 && fsync(fileno(file_)) == 0;
  std::fclose(file_);
  file_ = nullptr;
  if (!ok) return absl::InternalError("cannot flush payload to disk");
  std::string final_path = absl::StrCat(dir_, "/", crypto::ToHex(digest));
  if (rename(tmp_path_.c_str(), final_path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename payload: ", std::strerror(errno)));
  }
  committed_ = true;
  return FsyncDir(dir_);
}

}  // namespace tverr::store
