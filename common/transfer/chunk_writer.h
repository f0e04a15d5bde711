// Sending side of a chunked transfer: turns bytes (in memory or a file) into
// header, data chunks and a trailer with the SHA-256, handing each message to
// a writer callback (typically a gRPC stream's Write).
#ifndef TVERR_COMMON_TRANSFER_CHUNK_WRITER_H_
#define TVERR_COMMON_TRANSFER_CHUNK_WRITER_H_

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/transfer/limits.h"
#include "tverr/v1/transfer.pb.h"

namespace tverr::transfer {

// Returns false when the stream is broken; the transfer then stops with
// UNAVAILABLE.
using ChunkWriteFn = std::function<bool(const v1::Chunk&)>;

// Sends `data` as one transfer. `header.total_size` and `chunk_size` are
// filled in. `chunk_size` must be kMinChunkBytes..kMaxChunkBytes
// (INVALID_ARGUMENT).
absl::Status SendBytes(v1::TransferHeader header, absl::string_view data,
                       const ChunkWriteFn& write, size_t chunk_size = kDefaultChunkBytes);

// Sends the contents of the file at `path`, read chunk by chunk (constant
// memory). NOT_FOUND if it cannot be opened; DATA_LOSS if it changes size
// while being read.
absl::Status SendFile(v1::TransferHeader header, const std::string& path,
                      const ChunkWriteFn& write, size_t chunk_size = kDefaultChunkBytes);

}  // namespace tverr::transfer

#endif  // TVERR_COMMON_TRANSFER_CHUNK_WRITER_H_
