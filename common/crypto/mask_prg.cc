#include "common/crypto/mask_prg.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/crypto/openssl_error.h"

namespace tverr::crypto {
namespace {

constexpr size_t kWordsPerBlock = 4;  // 16-byte AES block, 4-byte words.
// Keystream generated per EVP call. 8 KiB (plus the zeros it encrypts) stays
// in L1 next to the accumulator being streamed through, and makes the
// per-call overhead of EVP small against ~1 us of AES-CTR work.
constexpr size_t kBufferWords = 2048;
static_assert(kBufferWords % kWordsPerBlock == 0);
alignas(64) constexpr unsigned char kZeros[kBufferWords * 4] = {};

// dst[i] += src[i] (or -=) modulo 2^32. Written as 16-word groups with a
// constant inner trip count so that GCC vectorises it at -O2.
template <bool kSubtract>
void Combine(uint32_t* __restrict dst, const uint32_t* __restrict src, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (size_t j = 0; j < 16; ++j) {
      if constexpr (kSubtract) {
        dst[i + j] -= src[i + j];
      } else {
        dst[i + j] += src[i + j];
      }
    }
  }
  for (; i < n; ++i) {
    if constexpr (kSubtract) {
      dst[i] -= src[i];
    } else {
      dst[i] += src[i];
    }
  }
}

// Words are little-endian; a no-op on the machines we run on.
void WordsFromLittleEndian(uint32_t* words, size_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  for (size_t i = 0; i < n; ++i) words[i] = __builtin_bswap32(words[i]);
#else
  (void)words;
  (void)n;
#endif
}

}  // namespace

struct MaskPrg::State {
  ~State() { EVP_CIPHER_CTX_free(ctx); }  // Cleanses the key schedule.
  EVP_CIPHER_CTX* ctx = nullptr;
  MaskNonce nonce{};
};

absl::StatusOr<MaskSeed> RandomMaskSeed() {
  MaskSeed seed;
  if (RAND_priv_bytes(seed.bytes.data(), static_cast<int>(seed.bytes.size())) != 1) {
    return internal::OpenSslInternal("mask seed: random generator failed");
  }
  return seed;
}

MaskPrg::MaskPrg(std::unique_ptr<State> state) : state_(std::move(state)) {}
MaskPrg::MaskPrg(MaskPrg&&) noexcept = default;
MaskPrg& MaskPrg::operator=(MaskPrg&&) noexcept = default;
MaskPrg::~MaskPrg() = default;

absl::StatusOr<MaskPrg> MaskPrg::Create(const MaskSeed& seed, const MaskNonce& nonce) {
  auto state = std::make_unique<State>();
  state->nonce = nonce;
  state->ctx = EVP_CIPHER_CTX_new();
  // The key schedule is set once here; Apply only sets the counter block.
  if (state->ctx == nullptr || EVP_EncryptInit_ex2(state->ctx, EVP_aes_256_ctr(), seed.bytes.data(),
                                                   nullptr, nullptr) != 1) {
    return internal::OpenSslInternal("mask PRG: cannot initialise AES-256-CTR");
  }
  return MaskPrg(std::move(state));
}

absl::Status MaskPrg::AddTo(uint64_t offset, absl::Span<uint32_t> acc) {
  return Apply(offset, acc, /*subtract=*/false);
}

absl::Status MaskPrg::SubtractFrom(uint64_t offset, absl::Span<uint32_t> acc) {
  return Apply(offset, acc, /*subtract=*/true);
}

absl::Status MaskPrg::Apply(uint64_t offset, absl::Span<uint32_t> acc, bool subtract) {
  if (offset > kMaxElements || acc.size() > kMaxElements - offset) {
    return absl::OutOfRangeError(absl::StrCat("mask PRG: elements [", offset, ", ",
                                              offset + acc.size(), ") exceed the stream's ",
                                              kMaxElements));
  }
  if (acc.empty()) return absl::OkStatus();

  // Counter block for the first word: nonce ‖ BE32(block). The block index
  // fits in 32 bits by the check above, so the counter never carries into
  // the nonce.
  const uint64_t block = offset / kWordsPerBlock;
  unsigned char iv[16];
  std::memcpy(iv, state_->nonce.data(), kMaskNonceSize);
  iv[12] = static_cast<unsigned char>(block >> 24);
  iv[13] = static_cast<unsigned char>(block >> 16);
  iv[14] = static_cast<unsigned char>(block >> 8);
  iv[15] = static_cast<unsigned char>(block);
  // Resets the stream position to `iv`, keeping the key.
  if (EVP_EncryptInit_ex2(state_->ctx, nullptr, nullptr, iv, nullptr) != 1) {
    return internal::OpenSslInternal("mask PRG: cannot set counter");
  }

  alignas(64) uint32_t keystream[kBufferWords];
  size_t skip = offset % kWordsPerBlock;  // Words of the first block before `offset`.
  size_t done = 0;
  size_t generated_max = 0;  // Bytes of `keystream` to wipe.
  absl::Status status = absl::OkStatus();
  while (done < acc.size()) {
    // Whole blocks only, so the CTR position stays block-aligned between
    // calls; the tail of a last partial block is discarded.
    size_t want = skip + (acc.size() - done);
    size_t words =
        std::min(kBufferWords, (want + kWordsPerBlock - 1) / kWordsPerBlock * kWordsPerBlock);
    int out_len = 0;
    if (EVP_EncryptUpdate(state_->ctx, reinterpret_cast<unsigned char*>(keystream), &out_len,
                          kZeros, static_cast<int>(words * 4)) != 1 ||
        static_cast<size_t>(out_len) != words * 4) {
      status = internal::OpenSslInternal("mask PRG: AES-CTR failed");
      break;
    }
    generated_max = std::max(generated_max, words * 4);
    size_t use = std::min(words - skip, acc.size() - done);
    WordsFromLittleEndian(keystream + skip, use);
    if (subtract) {
      Combine<true>(acc.data() + done, keystream + skip, use);
    } else {
      Combine<false>(acc.data() + done, keystream + skip, use);
    }
    done += use;
    skip = 0;
  }
  SecureWipe(keystream, generated_max);
  return status;
}

}  // namespace tverr::crypto
