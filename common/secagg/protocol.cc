#include "common/secagg/protocol.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/crypto/hkdf.h"
#include "common/secagg/wire.h"
#include "common/status/status_macros.h"

namespace tverr::secagg {
namespace {

// HKDF info strings and hash labels (docs/secure_aggregation.md, "Key
// derivations"). Changing one makes nodes of different versions disagree.
constexpr char kSessionLabel[] = "tverr.secagg.v1.session";
constexpr char kPairwiseMaskInfo[] = "tverr.secagg.v1.pairwise-mask-seed";
constexpr char kShareKeyInfo[] = "tverr.secagg.v1.share-key";
constexpr char kMaskNonceLabel[] = "tverr.secagg.v1.mask-nonce";

}  // namespace

std::string AdvertiseMessage(const std::string& run_id, uint64_t round,
                             const v1::AdvertisedKeys& keys) {
  std::string out;
  wire::AppendLengthPrefixed(&out, run_id);
  wire::AppendBe64(&out, round);
  wire::AppendBe32(&out, keys.index());
  wire::AppendLengthPrefixed(&out, keys.node());
  wire::AppendLengthPrefixed(&out, keys.cipher_public_key());
  wire::AppendLengthPrefixed(&out, keys.mask_public_key());
  return out;
}

absl::StatusOr<crypto::Sha256Digest> SessionId(const std::string& run_id, uint64_t round,
                                               const crypto::Sha256Digest& global_digest,
                                               const std::vector<v1::AdvertisedKeys>& keys) {
  for (size_t i = 1; i < keys.size(); ++i) {
    if (keys[i].index() <= keys[i - 1].index()) {
      return absl::InvalidArgumentError(
          absl::StrCat("session id: advertised keys are not in strictly increasing index order (",
                       keys[i - 1].index(), " then ", keys[i].index(), ")"));
    }
  }
  std::string data;
  wire::AppendLengthPrefixed(&data, kSessionLabel);
  wire::AppendLengthPrefixed(&data, run_id);
  wire::AppendBe64(&data, round);
  absl::StrAppend(&data, crypto::AsStringView(global_digest));
  wire::AppendBe32(&data, static_cast<uint32_t>(keys.size()));
  for (const v1::AdvertisedKeys& k : keys) {
    wire::AppendBe32(&data, k.index());
    wire::AppendLengthPrefixed(&data, k.node());
    wire::AppendLengthPrefixed(&data, k.cipher_public_key());
    wire::AppendLengthPrefixed(&data, k.mask_public_key());
  }
  return crypto::Sha256(data);
}

absl::StatusOr<crypto::MaskSeed> PairwiseMaskSeed(const crypto::X25519PrivateKey& mine,
                                                  const crypto::X25519PublicKey& theirs,
                                                  const crypto::Sha256Digest& session_id) {
  ASSIGN_OR_RETURN(crypto::X25519SharedSecret shared, crypto::X25519Agree(mine, theirs));
  crypto::MaskSeed seed;
  RETURN_IF_ERROR(crypto::HkdfSha256(shared.view(), crypto::AsStringView(session_id),
                                     kPairwiseMaskInfo, absl::MakeSpan(seed.bytes)));
  return seed;
}

absl::StatusOr<std::string> ShareEncryptionKey(const crypto::X25519PrivateKey& mine,
                                               const crypto::X25519PublicKey& theirs,
                                               const crypto::Sha256Digest& session_id,
                                               uint32_t from_index, uint32_t to_index) {
  ASSIGN_OR_RETURN(crypto::X25519SharedSecret shared, crypto::X25519Agree(mine, theirs));
  std::string info = kShareKeyInfo;
  wire::AppendBe32(&info, from_index);
  wire::AppendBe32(&info, to_index);
  crypto::AesGcmKey key;
  RETURN_IF_ERROR(crypto::HkdfSha256(shared.view(), crypto::AsStringView(session_id), info,
                                     absl::MakeSpan(key.bytes)));
  return std::string(key.view());
}

crypto::MaskNonce MaskNonceOf(const crypto::Sha256Digest& session_id) {
  std::string data;
  wire::AppendLengthPrefixed(&data, kMaskNonceLabel);
  absl::StrAppend(&data, crypto::AsStringView(session_id));
  const crypto::Sha256Digest digest = crypto::Sha256(data);
  crypto::MaskNonce nonce;
  std::memcpy(nonce.data(), digest.data(), nonce.size());
  return nonce;
}

uint32_t Threshold(uint32_t n, double fraction) {
  const uint32_t majority = n / 2 + 1;
  if (!(fraction > 0)) return majority;  // Also NaN.
  fraction = std::min(fraction, 1.0);
  // The tolerance keeps 0.7 * 10 (7.000000000000001 in double) at 7.
  const double wanted = std::ceil(fraction * static_cast<double>(n) - 1e-9);
  const uint32_t t = static_cast<uint32_t>(std::max(0.0, wanted));
  return std::max(majority, t);
}

}  // namespace tverr::secagg
