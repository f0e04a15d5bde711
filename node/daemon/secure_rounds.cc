#include "node/daemon/secure_rounds.h"

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace tverr::node {
namespace {

std::string Name(const std::string& run_id, uint64_t round) {
  return absl::StrCat("secure aggregation of run ", run_id.substr(0, 12), " round ", round);
}

}  // namespace

absl::StatusOr<std::shared_ptr<SecAggClient>> SecureRounds::Begin(SecAggClient::Options options,
                                                                  const v1::TrainTask& task) {
  if (task.global_weights().digest().size() != 32) {
    return absl::InvalidArgumentError("the task's global weights digest is not a SHA-256");
  }
  crypto::Sha256Digest global;
  std::copy(task.global_weights().digest().begin(), task.global_weights().digest().end(),
            global.begin());
  ASSIGN_OR_RETURN(std::unique_ptr<SecAggClient> made,
                   SecAggClient::Start(std::move(options), task.run_id(), task.round(), global,
                                       task.secure()));
  std::shared_ptr<SecAggClient> client = std::move(made);
  {
    absl::MutexLock lock(&mu_);
    current_ = Round{task.run_id(), task.round(), client, false};
  }
  ASSIGN_OR_RETURN(v1::SecAggAdvertiseRequest advertise, client->Advertise());
  RETURN_IF_ERROR(sender_.advertise(advertise));
  LOG(INFO) << Name(task.run_id(), task.round()) << ": keys advertised (index "
            << task.secure().my_index() << " of " << task.secure().participants_size()
            << ", threshold " << task.secure().threshold() << ")";
  return client;
}

std::shared_ptr<SecAggClient> SecureRounds::Find(const std::string& run_id, uint64_t round) {
  absl::MutexLock lock(&mu_);
  if (!current_ || current_->run_id != run_id || current_->round != round) return nullptr;
  return current_->client;
}

void SecureRounds::OnKeys(const v1::SecAggKeysTask& task) {
  const std::string what = Name(task.run_id(), task.round());
  std::shared_ptr<SecAggClient> client = Find(task.run_id(), task.round());
  if (client == nullptr) {
    LOG(WARNING) << what << ": keys for a round this node is not in; ignored";
    return;
  }
  absl::StatusOr<v1::SecAggShareKeysRequest> shares = client->OnKeys(task);
  if (!shares.ok()) {
    LOG(WARNING) << what << ": peers' keys refused: " << shares.status().message();
    return;
  }
  if (absl::Status s = sender_.share_keys(*shares); !s.ok()) {
    LOG(WARNING) << what << ": key shares not delivered: " << s.message();
    return;
  }
  LOG(INFO) << what << ": " << task.keys_size() << " peers' keys verified, session "
            << crypto::ToHex(client->session_id()).substr(0, 16) << ", "
            << shares->shares_size() << " encrypted shares sent";
}

void SecureRounds::OnShares(const v1::SecAggSharesTask& task) {
  const std::string what = Name(task.run_id(), task.round());
  std::shared_ptr<SecAggClient> client = Find(task.run_id(), task.round());
  if (client == nullptr) {
    LOG(WARNING) << what << ": shares for a round this node is not in; ignored";
    return;
  }
  if (absl::Status s = client->OnShares(task); !s.ok()) {
    LOG(WARNING) << what << ": peers' shares refused: " << s.message();
    return;
  }
  absl::MutexLock lock(&mu_);
  if (current_ && current_->client == client) current_->shares = true;
  LOG(INFO) << what << ": shares from " << task.shares_size() << " peer(s) kept";
}

void SecureRounds::OnUnmask(const v1::SecAggUnmaskTask& task) {
  const std::string what = Name(task.run_id(), task.round());
  std::shared_ptr<SecAggClient> client = Find(task.run_id(), task.round());
  if (client == nullptr) {
    LOG(WARNING) << what << ": unmask request for a round this node is not in; refused";
    return;
  }
  absl::StatusOr<v1::SecAggUnmaskRequest> answer = client->OnUnmask(task);
  if (!answer.ok()) {
    LOG(WARNING) << what << ": unmask request refused: " << answer.status().message();
    return;
  }
  if (absl::Status s = sender_.unmask(*answer); !s.ok()) {
    LOG(WARNING) << what << ": unmask shares not delivered: " << s.message();
    return;
  }
  LOG(INFO) << what << ": unmasking helped (" << task.survivors_size() << " survivor(s), "
            << task.dropped_size() << " dropped)";
}

absl::Status SecureRounds::AwaitShares(const std::string& run_id, uint64_t round,
                                       absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return cancelled_ || !current_ || current_->run_id != run_id || current_->round != round ||
           current_->shares;
  };
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  if (cancelled_) return absl::CancelledError("stopping");
  if (!current_ || current_->run_id != run_id || current_->round != round) {
    return absl::FailedPreconditionError(
        "another secure round started, or the coordinator reopened this one");
  }
  if (!current_->shares) {
    return absl::DeadlineExceededError("the peers' shares did not arrive before the deadline");
  }
  return absl::OkStatus();
}

void SecureRounds::Supersede(const std::string& run_id, uint64_t round) {
  absl::MutexLock lock(&mu_);
  if (current_ && current_->run_id == run_id && current_->round == round) {
    current_.reset();
    LOG(INFO) << Name(run_id, round) << ": the coordinator reopened the round; the old session "
              << "is abandoned";
  }
}

void SecureRounds::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
}

}  // namespace tverr::node
