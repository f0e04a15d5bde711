#include "common/secagg/wire.h"

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace tverr::secagg::wire {

void AppendBe32(std::string* out, uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(b, 4);
}

void AppendBe64(std::string* out, uint64_t v) {
  AppendBe32(out, static_cast<uint32_t>(v >> 32));
  AppendBe32(out, static_cast<uint32_t>(v));
}

void AppendLengthPrefixed(std::string* out, absl::string_view bytes) {
  AppendBe32(out, static_cast<uint32_t>(bytes.size()));
  out->append(bytes.data(), bytes.size());
}

uint32_t ReadBe32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

std::string EncodeSharePlaintext(const SharePlaintext& plaintext) {
  std::string out;
  out.reserve(kSharePlaintextSize);
  AppendBe32(&out, plaintext.from_index);
  AppendBe32(&out, plaintext.to_index);
  std::string share = plaintext.mask_key.Serialize();
  out += share;
  crypto::SecureWipe(share.data(), share.size());
  share = plaintext.self_mask_seed.Serialize();
  out += share;
  crypto::SecureWipe(share.data(), share.size());
  return out;
}

absl::StatusOr<SharePlaintext> DecodeSharePlaintext(absl::string_view bytes) {
  if (bytes.size() != kSharePlaintextSize) {
    return absl::InvalidArgumentError(absl::StrCat("share plaintext must be ", kSharePlaintextSize,
                                                   " bytes, got ", bytes.size()));
  }
  SharePlaintext out;
  out.from_index = ReadBe32(bytes.data());
  out.to_index = ReadBe32(bytes.data() + 4);
  ASSIGN_OR_RETURN(out.mask_key,
                   crypto::ShamirShare::Parse(bytes.substr(8, crypto::kShamirShareSize)));
  ASSIGN_OR_RETURN(out.self_mask_seed, crypto::ShamirShare::Parse(bytes.substr(
                                           8 + crypto::kShamirShareSize, crypto::kShamirShareSize)));
  return out;
}

std::string ShareAad(const crypto::Sha256Digest& session_id, uint32_t from_index,
                     uint32_t to_index) {
  std::string aad(crypto::AsStringView(session_id));
  AppendBe32(&aad, from_index);
  AppendBe32(&aad, to_index);
  return aad;
}

}  // namespace tverr::secagg::wire
