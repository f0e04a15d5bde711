#include "node/daemon/node_daemon.h"

#include <glog/logging.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/grpc_status.h"
#include "common/crypto/sha256.h"
#include "common/status/status_macros.h"
#include "common/tensor/tensor_codec.h"
#include "common/tls/credentials.h"
#include "common/tls/peer.h"
#include "node/daemon/backoff.h"
#include "node/daemon/payload_client.h"
#include "tverr/v1/node.grpc.pb.h"

namespace tverr::node {

// What the heartbeat thread shares with the session that started it.
class SessionState {
 public:
  SessionState(v1::NodeService::Stub* stub, std::string session_id, absl::Duration interval)
      : stub(stub), session_id(std::move(session_id)), interval(interval) {}
  v1::NodeService::Stub* const stub;
  const std::string session_id;
  const absl::Duration interval;
  absl::Mutex mu;
  bool ended ABSL_GUARDED_BY(mu) = false;
  grpc::ClientContext* stream ABSL_GUARDED_BY(mu) = nullptr;
};

// The RoundWorker keeps one fetcher for its lifetime (it caches per run);
// this one forwards to the transfers of the task in progress.
class SessionFetcher final : public PayloadFetcher {
 public:
  // Null between tasks; then every fetch fails.
  void set_client(PayloadClient* client) { client_ = client; }
  absl::StatusOr<std::string> Fetch(const std::string& sha256_hex,
                                    v1::PayloadKind kind) override {
    if (client_ == nullptr) return absl::FailedPreconditionError("no task in progress");
    return client_->Fetch(sha256_hex, kind);
  }

 private:
  PayloadClient* client_ = nullptr;
};

namespace {

std::chrono::system_clock::time_point DeadlineIn(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoMilliseconds(d);
}

// The coordinator must prove it is the coordinator of our consortium, not
// merely any holder of a certificate from our CA.
absl::Status CheckCoordinatorIdentity(const grpc::ClientContext& context,
                                      const std::string& consortium) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (!auth) return absl::UnauthenticatedError("no TLS peer information");
  absl::StatusOr<tls::Peer> peer = tls::PeerFromAuthContext(*auth);
  if (!peer.ok()) return peer.status();
  if (peer->identity.role != v1::ROLE_COORDINATOR || peer->identity.consortium != consortium) {
    return absl::PermissionDeniedError(absl::StrCat(
        "server at the coordinator address presents ", peer->identity.Uri(),
        ", not a coordinator of consortium '", consortium, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

NodeDaemon::NodeDaemon(NodeDaemonOptions options)
    : options_(std::move(options)), queue_(options_.max_queued_tasks) {
  if (!options_.config.state_dir().empty()) {
    absl::StatusOr<std::unique_ptr<ReceiptKeeper>> receipts =
        ReceiptKeeper::Open(options_.config.state_dir() + "/receipts");
    if (receipts.ok()) {
      receipts_ = std::move(*receipts);
      if (!receipts_->halted().empty()) {
        LOG(ERROR) << "this node has stopped taking part: " << receipts_->halted()
                   << " (remove " << options_.config.state_dir()
                   << "/receipts/halted once resolved)";
      }
    } else {
      receipts_error_ = std::string(receipts.status().message());
      LOG(ERROR) << "round receipts unavailable, refusing round work: " << receipts_error_;
    }
  }
  if (!options_.config.state_dir().empty()) {
    absl::StatusOr<std::unique_ptr<audit::AuditLog>> log =
        audit::AuditLog::Open(options_.config.state_dir() + "/audit");
    if (log.ok()) {
      audit_ = std::move(*log);
      if (!audit_->open_report().torn_tails.empty()) {
        LOG(WARNING) << "node audit log: " << audit_->open_report().ToString();
      }
      // The configuration this node runs with, at every start: which runs
      // the hospital approved, and a hash of the whole config.
      v1::AuditRecord started;
      started.set_event(v1::CONFIGURATION_CHANGED);
      started.set_outcome(v1::SUCCESS);
      started.mutable_actor()->set_identity("node");
      started.set_reason(audit_->open_report().torn_tails.empty()
                             ? "node started"
                             : absl::StrCat("node started; ",
                                            audit_->open_report().ToString()));
      auto& p = *started.mutable_parameters();
      p["config_sha256"] = crypto::ToHex(crypto::Sha256(options_.config.SerializeAsString()));
      p["approved_runs"] = absl::StrJoin(options_.config.approved_runs(), ",");
      p["coordinator_address"] = options_.config.coordinator_address();
      p["secure_aggregation_min_peers"] =
          absl::StrCat(options_.config.secure_aggregation_min_peers());
      p["software_version"] = options_.software_version;
      if (absl::StatusOr<uint64_t> s = audit_->AppendDurable(std::move(started)); !s.ok()) {
        LOG(ERROR) << "node audit log: " << s.status();
      }
    } else if (receipts_error_.empty()) {
      receipts_error_ = absl::StrCat("the node's audit log cannot be opened: ",
                                     log.status().message());
      LOG(ERROR) << receipts_error_;
    }
  }
  const v1::NodeDataConfig& data = options_.worker.data;
  if (data.has_directory() && !data.directory().directory().empty()) {
    fetcher_ = std::make_unique<SessionFetcher>();
    RoundWorkerOptions worker = options_.worker;
    worker.audit = [this](v1::AuditRecord record) { Audit(std::move(record)); };
    round_worker_ = std::make_unique<RoundWorker>(worker, fetcher_.get());
    progress_ = std::make_unique<ProgressReporter>(
        [this](const v1::TaskProgress& progress) {
          std::shared_ptr<v1::NodeService::Stub> stub;
          {
            absl::MutexLock lock(&mu_);
            stub = session_stub_;
          }
          if (stub == nullptr) return;
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
          v1::ProgressAck ack;
          grpc::Status s = stub->ReportProgress(&ctx, progress, &ack);
          if (!s.ok()) VLOG(1) << "progress report refused: " << s.error_message();
        },
        absl::Milliseconds(500));
    SecureRounds::Sender sender;
    sender.advertise = [this](const v1::SecAggAdvertiseRequest& r) {
      return SendSecure(&v1::NodeService::Stub::SecAggAdvertise, r);
    };
    sender.share_keys = [this](const v1::SecAggShareKeysRequest& r) {
      return SendSecure(&v1::NodeService::Stub::SecAggShareKeys, r);
    };
    sender.unmask = [this](const v1::SecAggUnmaskRequest& r) {
      return SendSecure(&v1::NodeService::Stub::SecAggUnmask, r);
    };
    secure_rounds_ = std::make_unique<SecureRounds>(std::move(sender));
    worker_thread_ = std::thread([this] { WorkerLoop(); });
  }
}

template <typename Request>
absl::Status NodeDaemon::SendSecure(
    grpc::Status (v1::NodeService::Stub::*rpc)(grpc::ClientContext*, const Request&,
                                               v1::SecAggAck*),
    const Request& request) {
  std::shared_ptr<v1::NodeService::Stub> stub;
  {
    absl::MutexLock lock(&mu_);
    stub = session_stub_;
  }
  if (stub == nullptr) return absl::UnavailableError("not connected to the coordinator");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::SecAggAck ack;
  return FromGrpcStatus(((*stub).*rpc)(&ctx, request, &ack));
}

absl::StatusOr<SecAggClient::Options> NodeDaemon::SecureOptions() {
  const v1::TlsConfig& tls = options_.config.tls();
  SecAggClient::Options options;
  {
    absl::MutexLock lock(&mu_);
    options.node = identity_;
  }
  if (options.node.empty()) return absl::UnavailableError("not joined to the coordinator");
  auto read = [](const std::string& path, std::string* out) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    *out = bytes.str();
    return in.good() || in.eof() ? absl::OkStatus()
                                 : absl::NotFoundError(absl::StrCat("cannot read ", path));
  };
  RETURN_IF_ERROR(read(tls.cert_file(), &options.certificate_pem));
  RETURN_IF_ERROR(read(tls.key_file(), &options.private_key_pem));
  RETURN_IF_ERROR(read(tls.ca_file(), &options.ca_pem));
  if (!tls.crl_dir().empty()) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(tls.crl_dir(), ec)) {
      std::string crl;
      if (entry.is_regular_file() && read(entry.path().string(), &crl).ok()) {
        options.crl_pems.push_back(std::move(crl));
      }
    }
  }
  options.min_peers = options_.config.secure_aggregation_min_peers() > 0
                          ? options_.config.secure_aggregation_min_peers()
                          : 3;
  return options;
}

NodeDaemon::~NodeDaemon() {
  Stop();
  if (worker_thread_.joinable()) worker_thread_.join();
  progress_.reset();
}

ProgressFn NodeDaemon::ProgressFor(const std::string& run_id, uint64_t round) {
  return [this, run_id, round](v1::TaskProgress::Stage stage, uint64_t done, uint64_t total) {
    v1::TaskProgress p;
    p.set_run_id(run_id);
    p.set_round(round);
    p.set_stage(stage);
    p.set_done(done);
    p.set_total(total);
    progress_->Update(p);
  };
}

std::string NodeDaemon::halted() const {
  if (!receipts_error_.empty()) return receipts_error_;
  return receipts_ != nullptr ? receipts_->halted() : "";
}

void NodeDaemon::Audit(v1::AuditRecord record) {
  if (audit_ == nullptr) return;
  if (record.actor().identity() == "node" || record.actor().identity().empty()) {
    absl::MutexLock lock(&mu_);
    record.mutable_actor()->set_identity(identity_.empty() ? "node" : identity_);
  }
  absl::StatusOr<uint64_t> appended = audit_->AppendDurable(std::move(record));
  if (!appended.ok()) LOG(ERROR) << "node audit log: " << appended.status();
}

void NodeDaemon::OnReceipt(const v1::AuditTreeHead& head) {
  if (receipts_ == nullptr) return;
  {
    v1::AuditRecord received;
    received.set_event(v1::TREE_HEAD_RECEIVED);
    received.set_outcome(v1::SUCCESS);
    received.set_run_id(head.run_id());
    received.set_round(head.round());
    (*received.mutable_parameters())["tree_size"] = absl::StrCat(head.tree_size());
    (*received.mutable_parameters())["root_sha256"] = head.root_sha256();
    (*received.mutable_parameters())["key_id"] = head.key_id();
    Audit(std::move(received));
  }
  const std::optional<v1::AuditTreeHead> previous = receipts_->last();
  absl::Status s = receipts_->Receive(head, [this](uint64_t first, uint64_t second) {
    std::shared_ptr<v1::NodeService::Stub> stub;
    {
      absl::MutexLock lock(&mu_);
      stub = session_stub_;
    }
    if (stub == nullptr) {
      return absl::StatusOr<v1::AuditConsistencyResponse>(
          absl::UnavailableError("not connected to the coordinator"));
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::AuditConsistencyRequest request;
    request.set_first_tree_size(first);
    request.set_second_tree_size(second);
    v1::AuditConsistencyResponse response;
    grpc::Status g = stub->GetAuditConsistencyProof(&ctx, request, &response);
    if (!g.ok()) return absl::StatusOr<v1::AuditConsistencyResponse>(FromGrpcStatus(g));
    return absl::StatusOr<v1::AuditConsistencyResponse>(std::move(response));
  });
  if (!s.ok()) LOG(WARNING) << "receipt of round " << head.round() << ": " << s.message();
  if (absl::IsUnavailable(s)) return;  // not checked: nothing to record yet
  v1::AuditRecord checked;
  checked.set_event(v1::CONSISTENCY_CHECKED);
  checked.set_outcome(s.ok() ? v1::SUCCESS : v1::FAILURE);
  checked.set_reason(std::string(s.message()));
  checked.set_run_id(head.run_id());
  checked.set_round(head.round());
  (*checked.mutable_parameters())["from_tree_size"] =
      absl::StrCat(previous ? previous->tree_size() : 0);
  (*checked.mutable_parameters())["to_tree_size"] = absl::StrCat(head.tree_size());
  Audit(std::move(checked));
}

void NodeDaemon::Stop() {
  if (secure_rounds_ != nullptr) secure_rounds_->Cancel();
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  if (active_call_ != nullptr) active_call_->TryCancel();
  if (active_transfers_ != nullptr) active_transfers_->Cancel();
}

bool NodeDaemon::WaitForStop(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
  mu_.AwaitWithTimeout(absl::Condition(&stopping), timeout);
  return stopping_;
}

void NodeDaemon::Run() {
  uint64_t seed = options_.backoff_seed;
  if (seed == 0) seed = std::random_device{}();
  Backoff backoff(options_.config.backoff(), seed);
  while (true) {
    absl::Status ended = RunSession();
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
      if (reset_backoff_) backoff.Reset();
      reset_backoff_ = false;
    }
    absl::Duration delay = backoff.Next();
    LOG(WARNING) << "not connected to the coordinator (" << ended.message()
                 << "); retrying in " << absl::FormatDuration(absl::Trunc(delay, absl::Milliseconds(1)));
    if (WaitForStop(delay)) break;
  }
  LOG(INFO) << "node daemon stopped";
}

absl::Status NodeDaemon::RunSession() {
  const v1::NodeConfig& config = options_.config;
  tls::TlsFiles files{config.tls().cert_file(), config.tls().key_file(), config.tls().ca_file(),
                      "", config.tls().reload_interval_seconds()};
  // Every connection of the channel must reach a coordinator of our
  // consortium (checked in the handshake, so also for downloads and uploads
  // after gRPC reconnects by itself).
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds =
      tls::MakeChannelCredentials(files, config.consortium());
  if (!creds.ok()) return creds.status();
  grpc::ChannelArguments args = tls::DefaultChannelArguments();
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(config.coordinator_address(), *creds, args);
  // Shared with the worker thread, which may still use it after this session.
  std::shared_ptr<v1::NodeService::Stub> stub = v1::NodeService::NewStub(channel);

  // Join.
  v1::JoinRequest join;
  join.set_software_version(options_.software_version);
  *join.mutable_capabilities() = options_.capabilities;
  v1::JoinResponse joined;
  grpc::ClientContext join_ctx;
  join_ctx.set_deadline(DeadlineIn(absl::Seconds(10)));
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
    active_call_ = &join_ctx;
  }
  grpc::Status join_status = stub->Join(&join_ctx, join, &joined);
  {
    absl::MutexLock lock(&mu_);
    active_call_ = nullptr;
  }
  if (!join_status.ok()) return FromGrpcStatus(join_status);
  if (absl::Status s = CheckCoordinatorIdentity(join_ctx, config.consortium()); !s.ok()) {
    LOG(ERROR) << "refusing coordinator: " << s.message();
    return s;
  }
  ++joins_;
  const absl::Time joined_at = absl::Now();
  LOG(INFO) << "joined the coordinator at " << config.coordinator_address() << " as "
            << joined.identity() << " (coordinator " << joined.coordinator_version() << ")";

  // Task stream plus heartbeats.
  absl::Duration interval = absl::Seconds(std::max(1u, joined.heartbeat_interval_seconds()));
  SessionState session(stub.get(), joined.session_id(), interval);
  grpc::ClientContext stream_ctx;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
    active_call_ = &stream_ctx;
    session_stub_ = stub;
    identity_ = joined.identity();
  }
  {
    absl::MutexLock lock(&session.mu);
    session.stream = &stream_ctx;
  }
  std::thread heartbeat([this, &session] { HeartbeatLoop(&session); });
  v1::TaskStreamRequest open;
  open.set_session_id(joined.session_id());
  std::unique_ptr<grpc::ClientReader<v1::Task>> reader = stub->OpenTaskStream(&stream_ctx, open);
  v1::Task task;
  bool first = true;
  absl::Status refused;
  while (reader->Read(&task)) {
    if (first) {
      // The stream may run on a new connection: check who serves it too.
      refused = CheckCoordinatorIdentity(stream_ctx, config.consortium());
      if (!refused.ok()) {
        LOG(ERROR) << "refusing coordinator: " << refused.message();
        stream_ctx.TryCancel();
        break;
      }
      connected_ = true;
      first = false;
    }
    switch (task.kind_case()) {
      case v1::Task::kKeepAlive:
        VLOG(1) << "keepalive " << task.task_id();
        break;
      case v1::Task::kTrain:
        EnqueueRoundTask(std::move(task));
        break;
      case v1::Task::kEvaluate:
        EnqueueRoundTask(std::move(task));
        break;
      case v1::Task::kReceipt:
        OnReceipt(task.receipt());
        break;
      case v1::Task::kSecaggKeys:
      case v1::Task::kSecaggShares:
      case v1::Task::kSecaggUnmask:
        if (secure_rounds_ == nullptr) {
          LOG(WARNING) << "refusing task " << task.task_id() << ": no round work configured";
        } else if (task.has_secagg_keys()) {
          secure_rounds_->OnKeys(task.secagg_keys());
        } else if (task.has_secagg_shares()) {
          secure_rounds_->OnShares(task.secagg_shares());
        } else {
          secure_rounds_->OnUnmask(task.secagg_unmask());
        }
        break;
      default:
        // A newer coordinator may send task kinds this node does not know;
        // it never acts on them.
        LOG(WARNING) << "refusing task " << task.task_id()
                     << ": a task kind this node version does not know";
        break;
    }
  }
  grpc::Status stream_status = reader->Finish();
  connected_ = false;
  {
    absl::MutexLock lock(&session.mu);
    session.ended = true;
    session.stream = nullptr;
  }
  heartbeat.join();
  {
    absl::MutexLock lock(&mu_);
    active_call_ = nullptr;
    session_stub_ = nullptr;
    reset_backoff_ = refused.ok() && absl::Now() - joined_at >= options_.stable_session;
  }
  if (!refused.ok()) return refused;
  if (stream_status.ok()) return absl::UnavailableError("coordinator closed the task stream");
  return FromGrpcStatus(stream_status);
}

void NodeDaemon::HeartbeatLoop(SessionState* session) {
  while (true) {
    {
      absl::MutexLock lock(&session->mu);
      auto ended = [session]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(session->mu) {
        return session->ended;
      };
      session->mu.AwaitWithTimeout(absl::Condition(&ended), session->interval);
      if (session->ended) return;
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineIn(absl::Seconds(10)));
    v1::HeartbeatRequest request;
    request.set_session_id(session->session_id);
    v1::HeartbeatResponse response;
    grpc::Status s = session->stub->Heartbeat(&ctx, request, &response);
    if (!s.ok() || !response.session_valid()) {
      LOG(WARNING) << "heartbeat failed ("
                   << (s.ok() ? std::string("session no longer known") : s.error_message())
                   << "); reconnecting";
      absl::MutexLock lock(&session->mu);
      if (session->stream != nullptr) session->stream->TryCancel();
      return;
    }
  }
}

void NodeDaemon::EnqueueRoundTask(v1::Task task) {
  // Logging needs only the run and round, which both task kinds carry.
  v1::TrainTask train;
  if (task.has_train()) {
    train = task.train();
  } else {
    train.set_run_id(task.evaluate().run_id());
    train.set_round(task.evaluate().round());
  }
  if (round_worker_ == nullptr) {
    LOG(WARNING) << "refusing task " << task.task_id() << " (run " << train.run_id() << " round "
                 << train.round() << "): this node has no data configured for round work";
    return;
  }
  if (const std::string why = halted(); !why.empty()) {
    LOG(ERROR) << "refusing task " << task.task_id() << " (run " << train.run_id() << " round "
               << train.round() << "): this node has stopped taking part: " << why;
    return;
  }
  const std::string what = absl::StrCat("task ", task.task_id(), " (",
                                        task.has_train() ? "training" : "evaluation", " of run ",
                                        train.run_id(), " round ", train.round(), ")");
  // A new secure session for the round in progress (the coordinator
  // restarted and reopened it): the old one is abandoned, so that the worker
  // is free for the new task at once instead of waiting for shares that
  // will never come.
  bool supersedes = false;
  {
    absl::MutexLock lock(&mu_);
    supersedes = queue_.NewSessionForInProgress(task);
    if (absl::Status s = queue_.Push(std::move(task)); !s.ok()) {
      // A repeat of the work in hand (the coordinator sent it again after a
      // restart) is not an error: that work goes on.
      if (absl::IsAlreadyExists(s)) {
        LOG(INFO) << what << " received again: " << s.message() << "; not queued twice";
      } else {
        LOG(WARNING) << "refusing " << what << ": " << s.message();
      }
      return;
    }
    LOG(INFO) << what << " queued";
  }
  // Outside mu_: SecureRounds has a lock of its own.
  if (supersedes && secure_rounds_ != nullptr) {
    secure_rounds_->Supersede(train.run_id(), train.round());
  }
}

void NodeDaemon::WorkerLoop() {
  while (true) {
    v1::Task task;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      task = queue_.Take();
    }
    if (task.has_evaluate()) {
      RunEvaluateTask(task);
    } else {
      RunTrainTask(task);
    }
    absl::MutexLock lock(&mu_);
    queue_.Done();
  }
}

void NodeDaemon::RunEvaluateTask(const v1::Task& task) {
  const v1::EvaluateTask& eval = task.evaluate();
  const std::string what = absl::StrCat("task ", task.task_id(), " (evaluate run ",
                                        eval.run_id(), " round ", eval.round(), ")");
  const absl::Time deadline = eval.deadline_unix_millis() > 0
                                  ? absl::FromUnixMillis(eval.deadline_unix_millis())
                                  : absl::Now() + absl::Minutes(10);
  std::shared_ptr<v1::NodeService::Stub> stub = AwaitSessionStub(deadline);
  if (stub == nullptr) {
    LOG(WARNING) << what << " dropped: not connected to the coordinator";
    return;
  }
  PayloadClient client(stub.get());
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) client.Cancel();
    active_transfers_ = &client;
  }
  fetcher_->set_client(&client);
  absl::StatusOr<EvalResult> result =
      round_worker_->Evaluate(eval, ProgressFor(eval.run_id(), eval.round()));
  fetcher_->set_client(nullptr);
  {
    absl::MutexLock lock(&mu_);
    active_transfers_ = nullptr;
  }
  if (!result.ok()) {
    LOG(WARNING) << what << " failed: " << result.status();
    return;
  }
  // Aggregate numbers only.
  v1::EvaluationReport report;
  report.set_run_id(eval.run_id());
  report.set_round(eval.round());
  report.set_samples(static_cast<uint64_t>(result->samples));
  report.set_loss(result->loss);
  report.set_accuracy(result->accuracy);
  for (double v : result->sensitivity) report.add_sensitivity(v);
  for (double v : result->specificity) report.add_specificity(v);
  if (result->roc_auc) {
    report.set_has_roc_auc(true);
    report.set_roc_auc(*result->roc_auc);
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::EvaluationAck ack;
  grpc::Status s = stub->ReportEvaluation(&ctx, report, &ack);
  if (!s.ok()) {
    LOG(WARNING) << what << ": report refused: " << s.error_message();
    return;
  }
  LOG(INFO) << what << ": accuracy " << result->accuracy << " on " << result->samples
            << " validation examples reported";
}

std::shared_ptr<v1::NodeService::Stub> NodeDaemon::AwaitSessionStub(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || session_stub_ != nullptr;
  };
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  if (stopping_) return nullptr;
  return session_stub_;
}

void NodeDaemon::RunTrainTask(const v1::Task& task) {
  const v1::TrainTask& train = task.train();
  const std::string what = absl::StrCat("task ", task.task_id(), " (run ", train.run_id(),
                                        " round ", train.round(), ")");
  // Between sessions, wait for the next one, but not past the task's
  // deadline (nor 10 min when it has none).
  const absl::Time deadline = train.deadline_unix_millis() > 0
                                  ? absl::FromUnixMillis(train.deadline_unix_millis())
                                  : absl::Now() + absl::Minutes(10);
  // Runs `fn` with `client` registered for cancelling by Stop().
  auto with_transfers = [this](PayloadClient* client, auto fn) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) client->Cancel();
      active_transfers_ = client;
    }
    auto result = fn();
    absl::MutexLock lock(&mu_);
    active_transfers_ = nullptr;
    return result;
  };

  std::shared_ptr<v1::NodeService::Stub> stub = AwaitSessionStub(deadline);
  if (stub == nullptr) {
    LOG(WARNING) << what << " dropped: not connected to the coordinator";
    return;
  }
  // Secure rounds: keys first (cheap), so that the key exchange runs while
  // this node trains.
  std::shared_ptr<SecAggClient> secure;
  if (task.train().has_secure()) {
    absl::StatusOr<SecAggClient::Options> secure_options = SecureOptions();
    absl::StatusOr<std::shared_ptr<SecAggClient>> started =
        secure_options.ok() ? secure_rounds_->Begin(*secure_options, train)
                            : absl::StatusOr<std::shared_ptr<SecAggClient>>(
                                  secure_options.status());
    if (!started.ok()) {
      LOG(WARNING) << what << " refused: secure aggregation: " << started.status().message();
      return;
    }
    secure = *started;
  }
  LOG(INFO) << what << ": training";
  const absl::Time started = absl::Now();
  PayloadClient fetch_client(stub.get());
  absl::StatusOr<TrainOutcome> outcome = with_transfers(&fetch_client, [&] {
    fetcher_->set_client(&fetch_client);
    absl::StatusOr<TrainOutcome> result =
        round_worker_->Train(train, ProgressFor(train.run_id(), train.round()));
    fetcher_->set_client(nullptr);
    return result;
  });
  if (!outcome.ok()) {
    LOG(WARNING) << what << " failed: " << outcome.status();
    return;
  }

  // The session may have changed while training: upload over the current one.
  stub = AwaitSessionStub(deadline);
  if (stub == nullptr) {
    LOG(WARNING) << what << ": update not uploaded: not connected to the coordinator";
    return;
  }
  if (secure != nullptr) {
    // Only the masked sum may reveal anything: the sample count travels
    // inside it, and no per-node loss or accuracy is sent.
    if (absl::Status ready = secure_rounds_->AwaitShares(train.run_id(), train.round(), deadline);
        !ready.ok()) {
      LOG(WARNING) << what << ": no masked input sent: " << ready.message();
      return;
    }
    absl::StatusOr<tensor::TensorList> delta = tensor::Decode(outcome->update);
    absl::StatusOr<std::string> masked =
        delta.ok() ? secure->MaskedInput(*delta, outcome->info.samples())
                   : absl::StatusOr<std::string>(delta.status());
    if (!masked.ok()) {
      LOG(WARNING) << what << ": no masked input sent: " << masked.status().message();
      return;
    }
    v1::UpdateInfo info;
    info.set_train_seconds(outcome->info.train_seconds());
    outcome->info = info;
    outcome->update = std::move(*masked);
  }
  PayloadClient upload_client(stub.get());
  absl::Status uploaded = with_transfers(&upload_client, [&] {
    return upload_client.UploadUpdate(
        train.run_id(), train.round(), outcome->info, outcome->update,
        secure != nullptr ? v1::PAYLOAD_KIND_MASKED_INPUT : v1::PAYLOAD_KIND_WEIGHT_UPDATE);
  });
  if (!uploaded.ok()) {
    LOG(WARNING) << what << ": update not uploaded: " << uploaded;
    return;
  }
  {
    // What left the hospital: a digest and a size, nothing else.
    v1::AuditRecord sent;
    sent.set_event(v1::UPDATE_SENT);
    sent.set_outcome(v1::SUCCESS);
    sent.set_run_id(train.run_id());
    sent.set_round(train.round());
    sent.set_bytes(outcome->update.size());
    sent.mutable_hashes()->set_update(crypto::ToHex(crypto::Sha256(outcome->update)));
    sent.mutable_hashes()->set_run_spec(train.run_id());
    if (secure != nullptr) {
      sent.mutable_hashes()->set_secure_session(crypto::ToHex(secure->session_id()));
    } else {
      sent.set_samples(outcome->info.samples());
    }
    (*sent.mutable_parameters())["kind"] = secure != nullptr ? "masked_input" : "weight_update";
    Audit(std::move(sent));
  }
  LOG(INFO) << what << ": " << (secure != nullptr ? "masked input" : "update") << " uploaded ("
            << outcome->info.samples() << " samples, "
            << outcome->update.size() << " bytes, "
            << absl::FormatDuration(absl::Trunc(absl::Now() - started, absl::Seconds(1)))
            << ")";
}

}  // namespace tverr::node
