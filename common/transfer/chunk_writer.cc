#include "common/transfer/chunk_writer.h"

#include <cstdio>
#include <memory>
#include <string>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"

namespace tverr::transfer {
namespace {

absl::Status CheckChunkSize(size_t chunk_size) {
  if (chunk_size < kMinChunkBytes || chunk_size > kMaxChunkBytes) {
    return absl::InvalidArgumentError(absl::StrCat("chunk size ", chunk_size, " outside ",
                                                   kMinChunkBytes, "..", kMaxChunkBytes));
  }
  return absl::OkStatus();
}

absl::Status Write(const ChunkWriteFn& write, const v1::Chunk& chunk) {
  if (!write(chunk)) return absl::UnavailableError("stream closed during transfer");
  return absl::OkStatus();
}

absl::Status SendTrailer(const ChunkWriteFn& write, const crypto::Sha256Digest& digest) {
  v1::Chunk trailer;
  trailer.mutable_trailer()->mutable_sha256()->set_digest(
      std::string(crypto::AsStringView(digest)));
  return Write(write, trailer);
}

}  // namespace

absl::Status SendBytes(v1::TransferHeader header, absl::string_view data,
                       const ChunkWriteFn& write, size_t chunk_size) {
  if (absl::Status s = CheckChunkSize(chunk_size); !s.ok()) return s;
  header.set_total_size(data.size());
  header.set_chunk_size(static_cast<uint32_t>(chunk_size));
  v1::Chunk first;
  *first.mutable_header() = header;
  if (absl::Status s = Write(write, first); !s.ok()) return s;
  crypto::Sha256Hasher hasher;
  v1::Chunk chunk;
  for (size_t off = 0; off < data.size(); off += chunk_size) {
    absl::string_view part = data.substr(off, chunk_size);
    hasher.Update(part);
    chunk.set_data(std::string(part));
    if (absl::Status s = Write(write, chunk); !s.ok()) return s;
  }
  return SendTrailer(write, hasher.Finish());
}

absl::Status SendFile(v1::TransferHeader header, const std::string& path,
                      const ChunkWriteFn& write, size_t chunk_size) {
  if (absl::Status s = CheckChunkSize(chunk_size); !s.ok()) return s;
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  struct stat st;
  if (fstat(fileno(f.get()), &st) != 0) return absl::InternalError("fstat failed");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  header.set_total_size(size);
  header.set_chunk_size(static_cast<uint32_t>(chunk_size));
  v1::Chunk first;
  *first.mutable_header() = header;
  if (absl::Status s = Write(write, first); !s.ok()) return s;

  crypto::Sha256Hasher hasher;
  std::string buffer(chunk_size, '\0');
  uint64_t sent = 0;
  v1::Chunk chunk;
  while (sent < size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(chunk_size, size - sent));
    size_t got = std::fread(buffer.data(), 1, want, f.get());
    if (got != want) return absl::DataLossError(absl::StrCat(path, " shrank while being sent"));
    absl::string_view part(buffer.data(), got);
    hasher.Update(part);
    chunk.set_data(std::string(part));
    if (absl::Status s = Write(write, chunk); !s.ok()) return s;
    sent += got;
  }
  return SendTrailer(write, hasher.Finish());
}

}  // namespace tverr::transfer
