// An in-memory DataSource for the trainer tests, and synthetic examples
// that a small model separates easily.
#ifndef TVERR_TESTS_NODE_TRAINER_FAKE_DATA_SOURCE_H_
#define TVERR_TESTS_NODE_TRAINER_FAKE_DATA_SOURCE_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "node/data/data_source.h"

namespace tverr::node {

class FakeDataSource final : public DataSource {
 public:
  explicit FakeDataSource(std::vector<Example> examples) : examples_(std::move(examples)) {}

  size_t Size() const override { return examples_.size(); }

  absl::StatusOr<Example> Get(size_t index) const override {
    if (index >= examples_.size()) {
      return absl::OutOfRangeError(absl::StrCat("no example ", index));
    }
    return examples_[index];
  }

  std::vector<size_t> IndicesOf(Split split) const override {
    std::vector<size_t> out;
    for (size_t i = 0; i < examples_.size(); ++i) {
      if (examples_[i].split == split) out.push_back(i);
    }
    return out;
  }

 private:
  std::vector<Example> examples_;
};

// Deterministic values in [0, 1) (64-bit LCG, top bits).
class TestRandom {
 public:
  explicit TestRandom(uint64_t seed) : state_(seed * 2 + 1) {}
  float Next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<float>(state_ >> 40) / static_cast<float>(1ULL << 24);
  }

 private:
  uint64_t state_;
};

// `count` examples of channels x height x width, alternating labels 0
// (dark: values in [0, 0.4)) and 1 (bright: [0.6, 1.0)), all in `split`.
inline std::vector<Example> BrightDark(int count, int channels, int height, int width,
                                       uint64_t seed, Split split = Split::kTrain) {
  TestRandom random(seed);
  std::vector<Example> out;
  for (int i = 0; i < count; ++i) {
    Example e;
    e.label = i % 2;
    e.split = split;
    e.pixels.resize(static_cast<size_t>(channels) * height * width);
    for (float& v : e.pixels) v = (e.label == 1 ? 0.6f : 0.0f) + 0.4f * random.Next();
    out.push_back(std::move(e));
  }
  return out;
}

// One example with the given pixels and label.
inline Example MakeExample(std::vector<float> pixels, int64_t label, Split split = Split::kTrain) {
  Example e;
  e.pixels = std::move(pixels);
  e.label = label;
  e.split = split;
  return e;
}

}  // namespace tverr::node

#endif  // TVERR_TESTS_NODE_TRAINER_FAKE_DATA_SOURCE_H_
