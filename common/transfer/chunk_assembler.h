// Receiving side of a chunked transfer: checks that the messages arrive as
// header, data..., trailer; that every data chunk is 1 .. 4 MiB (only the
// last may be smaller than 1 MiB, and none may be empty); that the
// data add up to the declared size (and never exceed the receiver's limit);
// and that the trailer's SHA-256 matches. Data bytes are passed to a sink as
// they arrive, so nothing is buffered here.
//
// Errors are INVALID_ARGUMENT with a message safe to send back to the peer
// (no paths, no payload). Single-threaded: one assembler per stream.
#ifndef TVERR_COMMON_TRANSFER_CHUNK_ASSEMBLER_H_
#define TVERR_COMMON_TRANSFER_CHUNK_ASSEMBLER_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/crypto/sha256.h"
#include "tverr/v1/transfer.pb.h"

namespace tverr::transfer {

class ChunkAssembler {
 public:
  // Receives each data chunk, in order, after it passed the checks. An error
  // from the sink aborts the transfer and is returned from Add().
  using DataSink = std::function<absl::Status(absl::string_view data)>;

  // `max_total_bytes`: largest transfer accepted. `accepted_kinds`: payload
  // kinds this endpoint takes (others are refused).
  ChunkAssembler(uint64_t max_total_bytes, std::function<bool(v1::PayloadKind)> kind_accepted,
                 DataSink sink);

  // Processes the next message of the stream.
  absl::Status Add(const v1::Chunk& chunk);

  // Call when the stream has ended. OK only if a valid trailer was received;
  // otherwise INVALID_ARGUMENT describing where the transfer stopped.
  absl::Status Finish() const;

  // Valid after the header was accepted.
  const v1::TransferHeader& header() const { return header_; }
  uint64_t bytes_received() const { return received_; }
  // Valid after Finish() returned OK.
  const crypto::Sha256Digest& digest() const { return digest_; }

 private:
  enum class State { kExpectHeader, kData, kDone, kFailed };
  absl::Status Fail(absl::Status status);
  absl::Status AddHeader(const v1::TransferHeader& header);
  absl::Status AddData(absl::string_view data);
  absl::Status AddTrailer(const v1::TransferTrailer& trailer);

  const uint64_t max_total_bytes_;
  const std::function<bool(v1::PayloadKind)> kind_accepted_;
  const DataSink sink_;
  State state_ = State::kExpectHeader;
  v1::TransferHeader header_;
  uint64_t received_ = 0;
  uint64_t chunks_ = 0;
  crypto::Sha256Hasher hasher_;
  crypto::Sha256Digest digest_{};
};

}  // namespace tverr::transfer

#endif  // TVERR_COMMON_TRANSFER_CHUNK_ASSEMBLER_H_
