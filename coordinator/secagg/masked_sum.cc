#include "coordinator/secagg/masked_sum.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/secagg/wire.h"
#include "common/status/status_macros.h"

namespace tverr::coordinator::secagg_internal {

// Shared with the inputs, so that an input outliving a Reset() or the
// MaskedSum sees it and does nothing.
struct MaskedSum::Shared {
  std::vector<uint32_t> sum;  // modulo 2^32
  uint64_t generation = 0;    // bumped by Reset, Close and the destructor
  bool open = false;
  bool dirty = false;
  std::set<uint32_t> open_inputs;
  std::vector<uint32_t> committed;  // in the sum
  std::vector<uint32_t> missing;    // committed before a Reset, to be added again
};

class MaskedSum::InputImpl final : public SecAggServer::Input {
 public:
  InputImpl(std::shared_ptr<Shared> shared, uint32_t index, std::string node)
      : shared_(std::move(shared)),
        generation_(shared_->generation),
        index_(index),
        node_(std::move(node)) {}

  ~InputImpl() override { Abandon(); }

  absl::Status Add(absl::string_view piece) override {
    RETURN_IF_ERROR(CheckLive());
    const uint64_t expected = shared_->sum.size() * uint64_t{4};
    if (piece.size() > expected - bytes_) {
      Abandon();
      return absl::InvalidArgumentError(absl::StrCat("the masked input of ", node_,
                                                     " is longer than the ", expected,
                                                     " bytes expected"));
    }
    uint32_t* sum = shared_->sum.data();
    const char* p = piece.data();
    size_t n = piece.size();
    // First complete a word split between pieces.
    while (pending_size_ > 0 && n > 0) {
      pending_[pending_size_++] = *p++;
      --n;
      ++bytes_;
      if (pending_size_ == 4) {
        sum[bytes_ / 4 - 1] += secagg::wire::LoadLe32(pending_);
        pending_size_ = 0;
      }
    }
    // Whole words (the loop vectorises).
    const size_t words = n / 4;
    uint32_t* dst = sum + bytes_ / 4;
    for (size_t i = 0; i < words; ++i) dst[i] += secagg::wire::LoadLe32(p + 4 * i);
    p += words * 4;
    bytes_ += words * 4;
    n -= words * 4;
    for (; n > 0; --n) {
      pending_[pending_size_++] = *p++;
      ++bytes_;
    }
    return absl::OkStatus();
  }

  absl::Status Commit() override {
    RETURN_IF_ERROR(CheckLive());
    const uint64_t expected = shared_->sum.size() * uint64_t{4};
    if (bytes_ != expected) {
      Abandon();
      return absl::InvalidArgumentError(absl::StrCat("the masked input of ", node_, " has ",
                                                     bytes_, " bytes, expected ", expected));
    }
    shared_->open_inputs.erase(index_);
    shared_->committed.push_back(index_);
    auto& missing = shared_->missing;
    missing.erase(std::remove(missing.begin(), missing.end(), index_), missing.end());
    done_ = true;
    return absl::OkStatus();
  }

 private:
  absl::Status CheckLive() const {
    if (done_ || shared_->generation != generation_ || !shared_->open) {
      return absl::FailedPreconditionError(
          absl::StrCat("the masked input of ", node_, " is no longer open"));
    }
    return absl::OkStatus();
  }

  // Ends the input uncommitted; words already added make the sum dirty.
  void Abandon() {
    if (done_) return;
    done_ = true;
    if (shared_->generation != generation_) return;
    shared_->open_inputs.erase(index_);
    if (bytes_ > 0) shared_->dirty = true;
  }

  std::shared_ptr<Shared> shared_;
  const uint64_t generation_;
  const uint32_t index_;
  const std::string node_;
  uint64_t bytes_ = 0;
  char pending_[4] = {};
  size_t pending_size_ = 0;
  bool done_ = false;
};

MaskedSum::MaskedSum() : shared_(std::make_shared<Shared>()) {}

MaskedSum::~MaskedSum() { Close(); }

void MaskedSum::Open(uint64_t words) {
  ++shared_->generation;
  shared_->sum.assign(words, 0);
  shared_->open = true;
  shared_->dirty = false;
  shared_->open_inputs.clear();
  shared_->committed.clear();
  shared_->missing.clear();
}

void MaskedSum::Close() {
  shared_->open = false;
  ++shared_->generation;
  shared_->open_inputs.clear();
}

std::unique_ptr<SecAggServer::Input> MaskedSum::Begin(uint32_t index, const std::string& node) {
  shared_->open_inputs.insert(index);
  return std::make_unique<InputImpl>(shared_, index, node);
}

bool MaskedSum::HasInput(uint32_t index) const {
  return shared_->open_inputs.count(index) > 0 ||
         std::find(shared_->committed.begin(), shared_->committed.end(), index) !=
             shared_->committed.end();
}

bool MaskedSum::dirty() const { return shared_->dirty; }

size_t MaskedSum::open_inputs() const { return shared_->open_inputs.size(); }

size_t MaskedSum::missing_inputs() const { return shared_->missing.size(); }

std::vector<uint32_t> MaskedSum::counted() const {
  std::vector<uint32_t> out = shared_->committed;
  out.insert(out.end(), shared_->missing.begin(), shared_->missing.end());
  return out;
}

const std::vector<uint32_t>& MaskedSum::committed() const { return shared_->committed; }

void MaskedSum::Reset() {
  ++shared_->generation;
  std::fill(shared_->sum.begin(), shared_->sum.end(), 0);
  shared_->open_inputs.clear();
  shared_->missing = counted();
  shared_->committed.clear();
  shared_->dirty = false;
}

std::vector<uint32_t>& MaskedSum::words() { return shared_->sum; }

}  // namespace tverr::coordinator::secagg_internal
