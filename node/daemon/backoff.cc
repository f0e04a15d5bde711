#include "node/daemon/backoff.h"

#include <algorithm>
#include <cmath>

namespace tverr::node {

Backoff::Backoff(const v1::BackoffConfig& config, uint64_t seed) : config_(config), rng_(seed) {}

absl::Duration Backoff::Next() {
  double base = config_.initial_ms() * std::pow(config_.multiplier(), attempt_);
  base = std::min(base, static_cast<double>(config_.max_ms()));
  if (base < static_cast<double>(config_.max_ms())) ++attempt_;
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  double ms = base * (1.0 + config_.jitter() * u(rng_));
  return absl::Milliseconds(std::max(0.0, ms));
}

}  // namespace tverr::node
