#include "node/daemon/backoff.h"

#include <gtest/gtest.h>

namespace tverr::node {
namespace {

v1::BackoffConfig Config(double jitter) {
  v1::BackoffConfig c;
  c.set_initial_ms(100);
  c.set_max_ms(1000);
  c.set_multiplier(2.0);
  c.set_jitter(jitter);
  return c;
}

TEST(Backoff, GrowsExponentiallyUpToTheCapWithoutJitter) {
  Backoff b(Config(0.0), 1);
  std::vector<int64_t> ms;
  for (int i = 0; i < 6; ++i) ms.push_back(absl::ToInt64Milliseconds(b.Next()));
  EXPECT_EQ(ms, (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000}));
  b.Reset();
  EXPECT_EQ(absl::ToInt64Milliseconds(b.Next()), 100);
}

TEST(Backoff, JitterStaysWithinItsBandAndSpreadsNodes) {
  Backoff a(Config(0.2), 1);
  Backoff b(Config(0.2), 2);
  bool differ = false;
  for (int i = 0; i < 50; ++i) {
    double base = std::min(1000.0, 100.0 * (1 << std::min(i, 10)));
    double da = absl::ToDoubleMilliseconds(a.Next());
    double db = absl::ToDoubleMilliseconds(b.Next());
    EXPECT_GE(da, base * 0.8 - 1e-6);
    EXPECT_LE(da, base * 1.2 + 1e-6);
    differ |= std::abs(da - db) > 1e-3;
  }
  EXPECT_TRUE(differ) << "two nodes with different seeds should not reconnect in lockstep";
}

TEST(Backoff, SameSeedIsReproducible) {
  Backoff a(Config(0.5), 42);
  Backoff b(Config(0.5), 42);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.Next(), b.Next());
}

}  // namespace
}  // namespace tverr::node
