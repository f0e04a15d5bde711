#include "node/data/tensor_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"

namespace tverr::node {
namespace {

// File: magic(4) | version u32 | count u64 | count floats (LE) | sha256(32)
constexpr char kMagic[4] = {'T', 'V', 'T', 'C'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeader = 16;
constexpr size_t kMaxEntryValues = size_t{1} << 28;  // 1 GiB of floats

bool ReadAll(int fd, void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool WriteAll(int fd, const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

absl::StatusOr<TensorCache> TensorCache::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create cache ", dir, ": ", ec.message()));
  return TensorCache(dir);
}

std::string TensorCache::Key(const std::string& pipeline_fingerprint,
                             const std::string& sop_instance_uid, uint64_t file_size,
                             int64_t file_mtime_ns) {
  return crypto::ToHex(crypto::Sha256(absl::StrCat("tverr-tensor-cache v1|", pipeline_fingerprint,
                                                   "|", sop_instance_uid, "|", file_size, "|",
                                                   file_mtime_ns)));
}

std::string TensorCache::PathOf(const std::string& key) const {
  return absl::StrCat(dir_, "/", key.substr(0, 2), "/", key, ".tensor");
}

absl::StatusOr<std::vector<float>> TensorCache::Get(const std::string& key) const {
  const std::string path = PathOf(key);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError("no cache entry");
  // One read of the whole entry (they are small and read often).
  struct stat st;
  std::string bytes;
  bool read_ok = fstat(fd, &st) == 0 && st.st_size >= 0 &&
                 static_cast<uint64_t>(st.st_size) <= kHeader + kMaxEntryValues * 4 + 32;
  if (read_ok) {
    bytes.resize(static_cast<size_t>(st.st_size));
    read_ok = ReadAll(fd, bytes.data(), bytes.size());
  }
  close(fd);
  auto corrupt = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("corrupt cache entry ", key, ": ", why));
  };
  if (!read_ok) return corrupt("cannot read");
  if (bytes.size() < kHeader + 32) return corrupt("short");
  if (std::memcmp(bytes.data(), kMagic, 4) != 0) return corrupt("bad magic");
  uint32_t version;
  uint64_t count;
  std::memcpy(&version, bytes.data() + 4, 4);
  std::memcpy(&count, bytes.data() + 8, 8);
  if (version != kVersion) return corrupt("unknown version");
  if (count > kMaxEntryValues || bytes.size() != kHeader + count * sizeof(float) + 32) {
    return corrupt("wrong size");
  }
  const absl::string_view payload(bytes.data() + kHeader, count * sizeof(float));
  crypto::Sha256Digest actual = crypto::Sha256(payload);
  if (std::memcmp(actual.data(), bytes.data() + kHeader + payload.size(), 32) != 0) {
    return corrupt("checksum");
  }
  std::vector<float> values(count);
  std::memcpy(values.data(), payload.data(), payload.size());
  return values;
}

absl::Status TensorCache::Put(const std::string& key, const std::vector<float>& values) const {
  const std::string path = PathOf(key);
  // Written in place, without a temporary file and rename: a torn entry
  // (crash, full disk) fails its checksum and is rebuilt, and skipping the
  // rename halves the file-system work of a cold load.
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0 && errno == ENOENT) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  }
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot write cache entry: ", std::strerror(errno)));
  }
  const absl::string_view payload(reinterpret_cast<const char*>(values.data()),
                                  values.size() * sizeof(float));
  std::string bytes(kHeader, '\0');
  uint64_t count = values.size();
  std::memcpy(bytes.data(), kMagic, 4);
  std::memcpy(bytes.data() + 4, &kVersion, 4);
  std::memcpy(bytes.data() + 8, &count, 8);
  bytes.append(payload.data(), payload.size());
  crypto::Sha256Digest digest = crypto::Sha256(payload);
  bytes.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  bool ok = WriteAll(fd, bytes.data(), bytes.size());
  ok = (close(fd) == 0) && ok;
  if (!ok) {
    unlink(path.c_str());
    return absl::UnavailableError(absl::StrCat("cannot write cache entry: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace tverr::node
