#include "node/secagg/masking.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/crypto/secure_memory.h"
#include "common/secagg/quantizer.h"
#include "common/secagg/wire.h"

namespace tverr::node::secagg_internal {
namespace {

// Words per pass: every stream is applied to one 64 KiB block (in L2)
// before the next block.
constexpr size_t kBlockWords = 16384;

}  // namespace

absl::StatusOr<std::string> BuildMaskedInput(const tensor::TensorList& delta, uint64_t samples,
                                             const v1::SecureAggregationParams& params,
                                             uint64_t quantizer_seed,
                                             const crypto::MaskNonce& nonce,
                                             const std::vector<MaskTerm>& terms) {
  uint64_t elements = 0;
  for (const tensor::NamedTensor& t : delta) {
    const size_t bad = tensor::FirstNonFinite(t.values.data(), t.values.size());
    if (bad != t.values.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("delta of ", t.name, " has a non-finite value at element ", bad));
    }
    elements += t.values.size();
  }
  const uint64_t words = elements + 1;  // + the sample count
  if (words > crypto::MaskPrg::kMaxElements) {
    return absl::InvalidArgumentError(
        absl::StrCat("delta has ", elements, " elements, more than a mask stream covers"));
  }
  std::vector<std::pair<crypto::MaskPrg, bool>> streams;
  streams.reserve(terms.size());
  for (const MaskTerm& term : terms) {
    absl::StatusOr<crypto::MaskPrg> prg = crypto::MaskPrg::Create(term.seed, nonce);
    if (!prg.ok()) return prg.status();
    streams.emplace_back(std::move(*prg), term.add);
  }
  secagg::Quantizer quantizer(params, quantizer_seed);

  std::string out;
  out.reserve(words * 4);  // written once, block by block (no zeroing pass)
  std::vector<uint32_t> block(kBlockWords);
  size_t tensor_index = 0;  // the next value is delta[tensor_index].values[in_tensor]
  size_t in_tensor = 0;
  const double weight = static_cast<double>(samples);
  absl::Status status = absl::OkStatus();
  for (uint64_t offset = 0; offset < words && status.ok();) {
    const size_t len = static_cast<size_t>(std::min<uint64_t>(kBlockWords, words - offset));
    size_t filled = 0;
    while (filled < len && offset + filled < elements) {
      const std::vector<float>& values = delta[tensor_index].values;
      const size_t take = std::min(len - filled, values.size() - in_tensor);
      quantizer.Encode(weight, values.data() + in_tensor, take, block.data() + filled);
      filled += take;
      in_tensor += take;
      if (in_tensor == values.size()) {  // also skips tensors without elements
        ++tensor_index;
        in_tensor = 0;
      }
    }
    if (filled < len) block[filled++] = static_cast<uint32_t>(samples);  // the last word
    const absl::Span<uint32_t> acc(block.data(), len);
    for (auto& [prg, add] : streams) {
      status = add ? prg.AddTo(offset, acc) : prg.SubtractFrom(offset, acc);
      if (!status.ok()) break;
    }
    secagg::wire::WordsToLittleEndian(block.data(), len);
    out.append(reinterpret_cast<const char*>(block.data()), len * 4);
    offset += len;
  }
  // The block held quantised values before the masks were added.
  crypto::SecureWipe(block.data(), block.size() * sizeof(uint32_t));
  if (!status.ok()) {
    crypto::SecureWipe(out.data(), out.size());
    return status;
  }
  return out;
}

}  // namespace tverr::node::secagg_internal
