#include "node/trainer/batch_schedule.h"

#include <algorithm>
#include <utility>

namespace tverr::node {

BatchSchedule::BatchSchedule(std::vector<size_t> indices, size_t batch_size, uint32_t epochs,
                             uint32_t steps, uint64_t seed)
    : order_(std::move(indices)), batch_size_(std::max<size_t>(batch_size, 1)), rng_state_(seed) {
  position_ = order_.size();
  if (order_.empty()) return;
  const int64_t per_pass = static_cast<int64_t>((order_.size() + batch_size_ - 1) / batch_size_);
  total_steps_ = epochs > 0 ? per_pass * epochs : static_cast<int64_t>(steps);
}

std::optional<std::vector<size_t>> BatchSchedule::Next() {
  if (steps_done_ >= total_steps_) return std::nullopt;
  if (position_ >= order_.size()) Reshuffle();
  const size_t end = std::min(order_.size(), position_ + batch_size_);
  std::vector<size_t> batch(order_.begin() + position_, order_.begin() + end);
  position_ = end;
  ++steps_done_;
  return batch;
}

void BatchSchedule::Reshuffle() {
  // Fisher-Yates with an unbiased bounded draw (rejection of the short
  // top range).
  for (size_t i = order_.size(); i > 1; --i) {
    const uint64_t bound = i;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do {
      r = NextRandom();
    } while (r >= limit);
    std::swap(order_[i - 1], order_[r % bound]);
  }
  position_ = 0;
}

// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, fixed output for a seed.
uint64_t BatchSchedule::NextRandom() {
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace tverr::node
