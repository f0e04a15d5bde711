// Byte layouts shared by the node and the coordinator sides of secure
// aggregation that are not protobuf: big-endian integers and length
// prefixes for the signed and hashed messages, the plaintext of an
// encrypted share (docs/secure_aggregation.md), and the little-endian
// words of a masked input. Internal to tverr_secagg_*; pure functions.
#ifndef TVERR_COMMON_SECAGG_WIRE_H_
#define TVERR_COMMON_SECAGG_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/aes_gcm.h"
#include "common/crypto/sha256.h"
#include "common/crypto/shamir.h"

namespace tverr::secagg::wire {

void AppendBe32(std::string* out, uint32_t v);
void AppendBe64(std::string* out, uint64_t v);
// BE32(size) ‖ bytes.
void AppendLengthPrefixed(std::string* out, absl::string_view bytes);
uint32_t ReadBe32(const char* p);

// The plaintext of one EncryptedShare:
//   BE32(from_index) ‖ BE32(to_index) ‖ mask-key share (70) ‖ self-mask-seed share (70)
// Fixed length, so it parses one way only.
inline constexpr size_t kSharePlaintextSize = 8 + 2 * crypto::kShamirShareSize;
inline constexpr size_t kShareCiphertextSize = kSharePlaintextSize + crypto::kAesGcmTagSize;

struct SharePlaintext {
  uint32_t from_index = 0;
  uint32_t to_index = 0;
  crypto::ShamirShare mask_key;        // of the sender's s_sk
  crypto::ShamirShare self_mask_seed;  // of the sender's b
};

// The result holds secret shares: wipe it (crypto::SecureWipe) after use.
std::string EncodeSharePlaintext(const SharePlaintext& plaintext);
// INVALID_ARGUMENT for another length or a malformed share.
absl::StatusOr<SharePlaintext> DecodeSharePlaintext(absl::string_view bytes);

// The associated data of a share's AES-GCM seal:
//   session_id (32) ‖ BE32(from_index) ‖ BE32(to_index).
std::string ShareAad(const crypto::Sha256Digest& session_id, uint32_t from_index,
                     uint32_t to_index);

// Masked-input words are little-endian uint32 on the wire.
inline uint32_t LoadLe32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap32(v);
#endif
  return v;
}
inline void StoreLe32(char* p, uint32_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap32(v);
#endif
  std::memcpy(p, &v, 4);
}

// Converts words in place to their little-endian byte order (a no-op on
// little-endian machines).
inline void WordsToLittleEndian(uint32_t* words, size_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  for (size_t i = 0; i < n; ++i) words[i] = __builtin_bswap32(words[i]);
#else
  (void)words;
  (void)n;
#endif
}

}  // namespace tverr::secagg::wire

#endif  // TVERR_COMMON_SECAGG_WIRE_H_
