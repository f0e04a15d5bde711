// The order in which one Train call visits its examples: passes over the
// given indices, each shuffled from the round seed, cut into mini-batches.
// LibTorch-free and deterministic across platforms (own PRNG, no
// std::shuffle, whose algorithm the standard leaves open).
//
// Thread-safety: none; one owner.
#ifndef TVERR_NODE_TRAINER_BATCH_SCHEDULE_H_
#define TVERR_NODE_TRAINER_BATCH_SCHEDULE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace tverr::node {

class BatchSchedule {
 public:
  // `epochs` passes, or, when `epochs` is 0, `steps` batches (passes
  // repeated, each reshuffled, as needed). Every pass is a permutation of
  // `indices` cut into batches of `batch_size` (>= 1); the last batch of a
  // pass holds the remainder. Empty `indices` give no batches.
  BatchSchedule(std::vector<size_t> indices, size_t batch_size, uint32_t epochs, uint32_t steps,
                uint64_t seed);

  // Number of batches Next() returns in all.
  int64_t TotalSteps() const { return total_steps_; }

  // The next batch, or nullopt after TotalSteps() batches.
  std::optional<std::vector<size_t>> Next();

 private:
  void Reshuffle();
  uint64_t NextRandom();

  std::vector<size_t> order_;
  size_t batch_size_;
  int64_t total_steps_ = 0;
  int64_t steps_done_ = 0;
  size_t position_ = 0;  // in order_; order_.size() forces a reshuffle
  uint64_t rng_state_;
};

}  // namespace tverr::node

#endif  // TVERR_NODE_TRAINER_BATCH_SCHEDULE_H_
