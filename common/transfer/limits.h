// Size rules of the chunked transfer protocol (proto/tverr/v1/transfer.proto).
#ifndef TVERR_COMMON_TRANSFER_LIMITS_H_
#define TVERR_COMMON_TRANSFER_LIMITS_H_

#include <cstddef>

namespace tverr::transfer {

inline constexpr size_t kMiB = 1024 * 1024;
// Largest data chunk a receiver accepts.
inline constexpr size_t kMaxChunkBytes = 4 * kMiB;
// Smallest data chunk a receiver accepts, except for the last chunk of a
// transfer (which carries what is left). Keeps per-message overhead bounded:
// a peer cannot send a large payload as millions of tiny messages.
inline constexpr size_t kMinChunkBytes = 1 * kMiB;
// Chunk size senders use by default.
inline constexpr size_t kDefaultChunkBytes = 1 * kMiB;
// gRPC message limit set on every channel and server: one full chunk plus
// generous room for framing, so a maximal chunk always passes gRPC and an
// oversized one is refused by our own check with a clear message.
inline constexpr int kGrpcMaxMessageBytes = static_cast<int>(kMaxChunkBytes + 64 * 1024);

}  // namespace tverr::transfer

#endif  // TVERR_COMMON_TRANSFER_LIMITS_H_
