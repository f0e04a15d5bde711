// What nodes and coordinator must compute identically in a secure round:
// the signed message of advertised keys, the session id, and the key
// derivations bound to it (docs/secure_aggregation.md).
#ifndef TVERR_COMMON_SECAGG_PROTOCOL_H_
#define TVERR_COMMON_SECAGG_PROTOCOL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/crypto/mask_prg.h"
#include "common/crypto/sha256.h"
#include "common/crypto/x25519.h"
#include "tverr/v1/secagg.pb.h"

namespace tverr::secagg {

// Signature context of advertised keys (see crypto/key_signature.h).
inline constexpr char kAdvertiseContext[] = "tverr.secagg.v1.advertise";

// The bytes a node signs for its advertised keys: run id, round, index,
// node identity and both public keys, length-prefixed.
std::string AdvertiseMessage(const std::string& run_id, uint64_t round,
                             const v1::AdvertisedKeys& keys);

// SHA-256 over the run id, the round, the global model's digest and every
// advertised (index, node, cipher key, mask key) in index order.
// INVALID_ARGUMENT if `keys` are not in strictly increasing index order.
absl::StatusOr<crypto::Sha256Digest> SessionId(const std::string& run_id, uint64_t round,
                                               const crypto::Sha256Digest& global_digest,
                                               const std::vector<v1::AdvertisedKeys>& keys);

// The seed of the pairwise mask between two nodes: HKDF-SHA256 over their
// X25519 shared secret, salted with the session id. Symmetric.
absl::StatusOr<crypto::MaskSeed> PairwiseMaskSeed(const crypto::X25519PrivateKey& mine,
                                                  const crypto::X25519PublicKey& theirs,
                                                  const crypto::Sha256Digest& session_id);

// The AES-256-GCM key for shares sent from `from_index` to `to_index`
// (one key per direction, so a zero nonce is never reused).
absl::StatusOr<std::string> ShareEncryptionKey(const crypto::X25519PrivateKey& mine,
                                               const crypto::X25519PublicKey& theirs,
                                               const crypto::Sha256Digest& session_id,
                                               uint32_t from_index, uint32_t to_index);

// The mask nonce of every stream of a session (seeds are per session).
crypto::MaskNonce MaskNonceOf(const crypto::Sha256Digest& session_id);

// t for n selected nodes: max(floor(n / 2) + 1, ceil(fraction * n)).
uint32_t Threshold(uint32_t n, double fraction);

}  // namespace tverr::secagg

#endif  // TVERR_COMMON_SECAGG_PROTOCOL_H_
