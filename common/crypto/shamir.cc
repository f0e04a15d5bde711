#include "common/crypto/shamir.h"

#include <openssl/bn.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/crypto/openssl_error.h"
#include "common/crypto/secure_memory.h"
#include "common/crypto/shamir_internal.h"
#include "common/status/status_macros.h"

namespace tverr::crypto {
namespace {

using internal::OpenSslInternal;
using shamir_internal::FieldElement;
using BnPtr = internal::OpenSslPtr<BIGNUM, BN_clear_free>;
using BnCtxPtr = internal::OpenSslPtr<BN_CTX, BN_CTX_free>;

// p = 2^521 - 1.
constexpr int kPrimeBits = 521;

// GF(p) and the scratch space OpenSSL needs for it. One per call.
struct Field {
  BnCtxPtr ctx;
  BnPtr p;
};

absl::StatusOr<Field> NewField() {
  Field f{BnCtxPtr(BN_CTX_secure_new()), BnPtr(BN_new())};
  if (f.ctx == nullptr || f.p == nullptr || BN_set_bit(f.p.get(), kPrimeBits) != 1 ||
      BN_sub_word(f.p.get(), 1) != 1) {
    return OpenSslInternal("Shamir: cannot set up the field");
  }
  return f;
}

absl::StatusOr<BnPtr> NewBn() {
  BnPtr bn(BN_secure_new());
  if (bn == nullptr) return OpenSslInternal("Shamir: out of memory");
  return bn;
}

// `value` as a BIGNUM; INVALID_ARGUMENT unless it is less than p.
absl::StatusOr<BnPtr> ToBn(const Field& f, const FieldElement& value) {
  BnPtr bn(BN_secure_new());
  if (bn == nullptr ||
      BN_bin2bn(value.data(), static_cast<int>(value.size()), bn.get()) == nullptr) {
    return OpenSslInternal("Shamir: cannot read a field element");
  }
  if (BN_cmp(bn.get(), f.p.get()) >= 0) {
    return absl::InvalidArgumentError("Shamir: share value is not less than p");
  }
  return bn;
}

absl::Status FromBn(const BIGNUM* bn, FieldElement* out) {
  if (BN_bn2binpad(bn, out->data(), static_cast<int>(out->size())) !=
      static_cast<int>(out->size())) {
    return OpenSslInternal("Shamir: cannot write a field element");
  }
  return absl::OkStatus();
}

// (a - b) mod p for x-coordinates a, b, into `out`.
absl::Status XDifference(const Field& f, uint32_t a, uint32_t b, BIGNUM* out) {
  uint32_t magnitude = a >= b ? a - b : b - a;
  if (BN_set_word(out, magnitude) != 1) return OpenSslInternal("Shamir: arithmetic failed");
  if (a < b && BN_sub(out, f.p.get(), out) != 1) {
    return OpenSslInternal("Shamir: arithmetic failed");
  }
  return absl::OkStatus();
}

// INVALID_ARGUMENT naming the first repeated x (and x = 0 unless allowed).
absl::Status CheckXs(std::vector<uint32_t> xs, bool allow_zero) {
  std::sort(xs.begin(), xs.end());
  if (!allow_zero && !xs.empty() && xs.front() == 0) {
    return absl::InvalidArgumentError("Shamir: share index x must not be 0");
  }
  auto repeated = std::adjacent_find(xs.begin(), xs.end());
  if (repeated != xs.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Shamir: share index x = ", *repeated, " is repeated"));
  }
  return absl::OkStatus();
}

absl::string_view Bytes(const FieldElement& v) {
  return absl::string_view(reinterpret_cast<const char*>(v.data()), v.size());
}

std::vector<uint32_t> XsOf(absl::Span<const ShamirShare> shares) {
  std::vector<uint32_t> xs;
  xs.reserve(shares.size());
  for (const ShamirShare& s : shares) xs.push_back(s.x);
  return xs;
}

}  // namespace

namespace shamir_internal {

absl::StatusOr<FieldElement> EncodeSecret(absl::string_view secret) {
  if (secret.size() > kShamirMaxSecretSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Shamir: secret is ", secret.size(), " bytes, at most ", kShamirMaxSecretSize, " allowed"));
  }
  FieldElement out{};
  size_t start = out.size() - secret.size();
  out[start - 1] = 0x01;
  if (!secret.empty()) std::memcpy(out.data() + start, secret.data(), secret.size());
  return out;
}

absl::StatusOr<std::string> DecodeSecret(const FieldElement& value) {
  // 0x01 must be the first nonzero byte, with at most 32 bytes after it.
  size_t marker = 0;
  while (marker < value.size() && value[marker] == 0) ++marker;
  if (marker == value.size() || value[marker] != 0x01 ||
      value.size() - marker - 1 > kShamirMaxSecretSize) {
    return absl::InvalidArgumentError(
        "Shamir: reconstructed value is not a secret (wrong shares or threshold)");
  }
  return std::string(reinterpret_cast<const char*>(value.data()) + marker + 1,
                     value.size() - marker - 1);
}

absl::StatusOr<std::vector<FieldElement>> InterpolateAt(absl::Span<const ShamirShare> points,
                                                        absl::Span<const uint32_t> at) {
  if (points.empty()) return absl::InvalidArgumentError("Shamir: no points to interpolate");
  RETURN_IF_ERROR(CheckXs(XsOf(points), /*allow_zero=*/true));
  ASSIGN_OR_RETURN(const Field f, NewField());
  BN_CTX* ctx = f.ctx.get();
  const BIGNUM* p = f.p.get();
  const size_t k = points.size();
  auto failed = [] { return OpenSslInternal("Shamir: arithmetic failed"); };

  // Lagrange basis l_i(z) = w_i * prod_{m != i} (z - x_m), with the weights
  // w_i = 1 / prod_{m != i} (x_i - x_m) computed once for all z. Each value
  // y_i is folded into its weight: c_i = y_i * w_i.
  std::vector<BnPtr> c;
  c.reserve(k);
  ASSIGN_OR_RETURN(BnPtr diff, NewBn());
  for (size_t i = 0; i < k; ++i) {
    ASSIGN_OR_RETURN(BnPtr y, ToBn(f, points[i].y));
    ASSIGN_OR_RETURN(BnPtr denominator, NewBn());
    if (BN_one(denominator.get()) != 1) return failed();
    for (size_t m = 0; m < k; ++m) {
      if (m == i) continue;
      RETURN_IF_ERROR(XDifference(f, points[i].x, points[m].x, diff.get()));
      if (BN_mod_mul(denominator.get(), denominator.get(), diff.get(), p, ctx) != 1) {
        return failed();
      }
    }
    // Nonzero: the x are distinct and p is prime.
    if (BN_mod_inverse(denominator.get(), denominator.get(), p, ctx) == nullptr ||
        BN_mod_mul(y.get(), y.get(), denominator.get(), p, ctx) != 1) {
      return failed();
    }
    c.push_back(std::move(y));
  }

  std::vector<FieldElement> out(at.size());
  // suffix[i] = prod_{m >= i} (z - x_m); the prefix product runs forward.
  std::vector<BnPtr> suffix(k + 1);
  for (BnPtr& s : suffix) {
    ASSIGN_OR_RETURN(s, NewBn());
  }
  ASSIGN_OR_RETURN(BnPtr prefix, NewBn());
  ASSIGN_OR_RETURN(BnPtr term, NewBn());
  ASSIGN_OR_RETURN(BnPtr sum, NewBn());
  for (size_t j = 0; j < at.size(); ++j) {
    const uint32_t z = at[j];
    if (BN_one(suffix[k].get()) != 1) return failed();
    for (size_t m = k; m-- > 0;) {
      RETURN_IF_ERROR(XDifference(f, z, points[m].x, diff.get()));
      if (BN_mod_mul(suffix[m].get(), suffix[m + 1].get(), diff.get(), p, ctx) != 1) {
        return failed();
      }
    }
    if (BN_one(prefix.get()) != 1) return failed();
    BN_zero(sum.get());
    for (size_t i = 0; i < k; ++i) {
      if (BN_mod_mul(term.get(), prefix.get(), suffix[i + 1].get(), p, ctx) != 1 ||
          BN_mod_mul(term.get(), term.get(), c[i].get(), p, ctx) != 1 ||
          BN_mod_add(sum.get(), sum.get(), term.get(), p, ctx) != 1) {
        return failed();
      }
      RETURN_IF_ERROR(XDifference(f, z, points[i].x, diff.get()));
      if (BN_mod_mul(prefix.get(), prefix.get(), diff.get(), p, ctx) != 1) return failed();
    }
    RETURN_IF_ERROR(FromBn(sum.get(), &out[j]));
  }
  return out;
}

}  // namespace shamir_internal

ShamirShare::~ShamirShare() { SecureWipe(y.data(), y.size()); }

std::string ShamirShare::Serialize() const {
  std::string out(kShamirShareSize, '\0');
  out[0] = static_cast<char>(x >> 24);
  out[1] = static_cast<char>(x >> 16);
  out[2] = static_cast<char>(x >> 8);
  out[3] = static_cast<char>(x);
  std::memcpy(out.data() + 4, y.data(), y.size());
  return out;
}

absl::StatusOr<ShamirShare> ShamirShare::Parse(absl::string_view bytes) {
  if (bytes.size() != kShamirShareSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("Shamir: a share is ", kShamirShareSize, " bytes, got ", bytes.size()));
  }
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  ShamirShare share;
  share.x = uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | uint32_t{b[3]};
  if (share.x == 0) return absl::InvalidArgumentError("Shamir: share index x must not be 0");
  std::memcpy(share.y.data(), b + 4, share.y.size());
  // p = 2^521 - 1 is 0x01 followed by 65 bytes of 0xff; y < p unless it has
  // bits above 2^521 or is exactly p.
  bool is_p = share.y[0] == 0x01 &&
              std::all_of(share.y.begin() + 1, share.y.end(), [](uint8_t v) { return v == 0xff; });
  if (share.y[0] > 0x01 || is_p) {
    return absl::InvalidArgumentError("Shamir: share value is not less than p");
  }
  return share;
}

absl::StatusOr<std::vector<ShamirShare>> ShamirSplit(absl::string_view secret, int threshold,
                                                     absl::Span<const uint32_t> xs) {
  if (threshold < 1 || static_cast<size_t>(threshold) > xs.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Shamir: threshold ", threshold, " must be in 1..", xs.size(), " (the number of shares)"));
  }
  RETURN_IF_ERROR(CheckXs(std::vector<uint32_t>(xs.begin(), xs.end()), /*allow_zero=*/false));
  ASSIGN_OR_RETURN(FieldElement encoded, shamir_internal::EncodeSecret(secret));
  ASSIGN_OR_RETURN(const Field f, NewField());

  // f(x) = secret + a_1 x + ... + a_{t-1} x^{t-1}, a_k uniform in [0, p).
  std::vector<BnPtr> coefficients;
  coefficients.reserve(threshold);
  absl::StatusOr<BnPtr> constant = ToBn(f, encoded);
  SecureWipe(encoded.data(), encoded.size());
  if (!constant.ok()) return constant.status();
  coefficients.push_back(std::move(*constant));
  for (int k = 1; k < threshold; ++k) {
    ASSIGN_OR_RETURN(BnPtr a, NewBn());
    if (BN_priv_rand_range(a.get(), f.p.get()) != 1) {
      return OpenSslInternal("Shamir: random generator failed");
    }
    coefficients.push_back(std::move(a));
  }

  std::vector<ShamirShare> shares(xs.size());
  ASSIGN_OR_RETURN(BnPtr y, NewBn());
  for (size_t i = 0; i < xs.size(); ++i) {
    // Horner: y = (...(a_{t-1} x + a_{t-2}) x + ...) x + a_0.
    if (BN_copy(y.get(), coefficients.back().get()) == nullptr) {
      return OpenSslInternal("Shamir: arithmetic failed");
    }
    for (int k = threshold - 2; k >= 0; --k) {
      if (BN_mul_word(y.get(), xs[i]) != 1 ||
          BN_add(y.get(), y.get(), coefficients[k].get()) != 1 ||
          BN_nnmod(y.get(), y.get(), f.p.get(), f.ctx.get()) != 1) {
        return OpenSslInternal("Shamir: arithmetic failed");
      }
    }
    shares[i].x = xs[i];
    RETURN_IF_ERROR(FromBn(y.get(), &shares[i].y));
  }
  return shares;
}

absl::StatusOr<std::string> ShamirReconstruct(absl::Span<const ShamirShare> shares, int threshold) {
  if (threshold < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("Shamir: threshold ", threshold, " must be at least 1"));
  }
  if (shares.size() < static_cast<size_t>(threshold)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Shamir: ", shares.size(), " shares, at least ", threshold, " needed to reconstruct"));
  }
  RETURN_IF_ERROR(CheckXs(XsOf(shares), /*allow_zero=*/false));

  absl::Span<const ShamirShare> basis = shares.subspan(0, threshold);
  absl::Span<const ShamirShare> extra = shares.subspan(threshold);
  std::vector<uint32_t> at = {0};
  for (const ShamirShare& s : extra) at.push_back(s.x);
  ASSIGN_OR_RETURN(std::vector<FieldElement> values, shamir_internal::InterpolateAt(basis, at));
  absl::Status result = absl::OkStatus();
  for (size_t j = 0; j < extra.size() && result.ok(); ++j) {
    if (!ConstantTimeEquals(Bytes(values[j + 1]), Bytes(extra[j].y))) {
      result = absl::InvalidArgumentError(
          absl::StrCat("Shamir: the shares are inconsistent (share x = ", extra[j].x,
                       " is not on the polynomial through the first ", threshold, " shares)"));
    }
  }
  absl::StatusOr<std::string> secret =
      result.ok() ? shamir_internal::DecodeSecret(values[0]) : result;
  for (FieldElement& v : values) SecureWipe(v.data(), v.size());
  return secret;
}

}  // namespace tverr::crypto
