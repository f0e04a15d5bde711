// Exponential backoff with jitter for reconnecting to the coordinator, so
// that many nodes do not reconnect in lockstep after a coordinator restart.
// delay(n) = min(max, initial * multiplier^n) * (1 + jitter * u), u uniform
// in [-1, 1]. Not thread-safe; owned by the daemon's connection loop.
#ifndef TVERR_NODE_DAEMON_BACKOFF_H_
#define TVERR_NODE_DAEMON_BACKOFF_H_

#include <cstdint>
#include <random>

#include "absl/time/time.h"
#include "tverr/v1/config.pb.h"

namespace tverr::node {

class Backoff {
 public:
  // `config` must have defaults applied (see FinishNodeConfig).
  Backoff(const v1::BackoffConfig& config, uint64_t seed);

  // Delay before the next attempt; grows with each call until Reset().
  absl::Duration Next();
  // Call after a successful connection.
  void Reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }

 private:
  v1::BackoffConfig config_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace tverr::node

#endif  // TVERR_NODE_DAEMON_BACKOFF_H_
