// Building transfer messages by hand in tests, including malformed ones.
#ifndef TVERR_TESTS_SUPPORT_CHUNKS_H_
#define TVERR_TESTS_SUPPORT_CHUNKS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "common/crypto/sha256.h"
#include "tverr/v1/transfer.pb.h"

namespace tverr::testing {

// A header; `kind` as an int so tests can send unknown enum values.
inline v1::Chunk HeaderChunk(uint64_t size, int kind = v1::PAYLOAD_KIND_WEIGHT_UPDATE) {
  v1::Chunk c;
  c.mutable_header()->set_kind(static_cast<v1::PayloadKind>(kind));
  c.mutable_header()->set_total_size(size);
  return c;
}

inline v1::Chunk DataChunk(std::string bytes) {
  v1::Chunk c;
  c.set_data(std::move(bytes));
  return c;
}

// A trailer with the SHA-256 of `hashed` (which may differ from the data
// sent, to make a wrong digest).
inline v1::Chunk TrailerChunk(absl::string_view hashed) {
  v1::Chunk c;
  c.mutable_trailer()->mutable_sha256()->set_digest(
      std::string(crypto::AsStringView(crypto::Sha256(hashed))));
  return c;
}

}  // namespace tverr::testing

#endif  // TVERR_TESTS_SUPPORT_CHUNKS_H_
