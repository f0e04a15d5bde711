#include "coordinator/server/coordinator_server.h"

#include <glog/logging.h>
#include <grpcpp/grpcpp.h>

#include <thread>

#include "absl/synchronization/notification.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "common/audit/audit_key.h"
#include "common/audit/audit_log.h"
#include "common/crypto/sha256.h"
#include "common/pki/certificate.h"
#include "common/pki/key_request.h"
#include "common/status/status_macros.h"
#include "common/store/blob_store.h"
#include "common/store/sqlite.h"
#include "common/tls/credentials.h"
#include "common/transfer/limits.h"
#include "coordinator/registry/node_registry.h"
#include "coordinator/round/commit_reconciler.h"
#include "coordinator/round/round_summary.h"
#include "coordinator/server/crl_monitor.h"
#include "coordinator/runs/run_spec.h"
#include "coordinator/runs/run_store.h"
#include "common/tensor/tensor_codec.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "coordinator/service/authorizer.h"
#include "coordinator/service/node_service.h"
#include "coordinator/service/operator_service.h"
#include "coordinator/service/researcher_service.h"
#include "coordinator/service/session_table.h"
#include "coordinator/service/auditor_service.h"
#include "coordinator/storage/payload_store.h"

namespace tverr::coordinator {
namespace {

absl::Status MakeDir(const std::string& dir) {
  // BlobStore::Open creates intermediate directories; reuse it for the root.
  return store::BlobStore::Open(dir).status();
}

class CoordinatorServerImpl final : public CoordinatorServer {
 public:
  absl::Status Init(const v1::CoordinatorConfig& config) {
    RETURN_IF_ERROR(MakeDir(config.state_dir()));
    ASSIGN_OR_RETURN(std::unique_ptr<store::SqliteDb> db,
                     store::SqliteDb::Open(config.state_dir() + "/coordinator.db"));
    db_ = std::move(db);
    ASSIGN_OR_RETURN(registry_, NodeRegistry::Open(db_));
    ASSIGN_OR_RETURN(payloads_, PayloadStore::Open(config.state_dir() + "/payloads"));
    ASSIGN_OR_RETURN(runs_, RunStore::Open(db_));
    RETURN_IF_ERROR(OpenAuditLog(config));
    authorizer_ = std::make_unique<Authorizer>(config.consortium());
    const AuditSink audit = [this](v1::AuditRecord record, bool durable) {
      return WriteAuditRecord(std::move(record), durable);
    };
    authorizer_->set_audit(audit);

    NodeServiceOptions node_options;
    node_options.heartbeat_interval_seconds = config.heartbeat_interval_seconds();
    node_options.max_transfer_bytes = config.max_transfer_bytes();
    node_options.accept_unbound_uploads = config.accept_unbound_uploads();
    node_options.keepalive_interval = absl::Seconds(config.heartbeat_interval_seconds());
    node_options.max_silence = 3 * absl::Seconds(config.heartbeat_interval_seconds());
    node_options.audit = audit;
    node_options.audit_consistency = [this](uint64_t first, uint64_t second) {
      absl::StatusOr<std::vector<audit::Hash>> proof = audit_log_->ConsistencyProof(first, second);
      if (!proof.ok()) return absl::StatusOr<v1::AuditConsistencyResponse>(proof.status());
      v1::AuditConsistencyResponse response;
      for (const audit::Hash& h : *proof) {
        response.add_path(std::string(crypto::AsStringView(h)));
      }
      response.set_audit_public_key_pem(audit_key_->public_key_pem());
      return absl::StatusOr<v1::AuditConsistencyResponse>(std::move(response));
    };
    RoundManagerHooks hooks;
    hooks.online_nodes = [this] { return sessions_.OnlineNodes(); };
    hooks.send_task = [this](const std::string& node, v1::Task task) {
      return sessions_.Enqueue(node, std::move(task));
    };
    hooks.publish = [this](v1::PayloadKind kind, absl::string_view data) {
      return payloads_->Publish(kind, data);
    };
    hooks.persist_commit = [this](const std::string& run_id, const RoundRecord& r,
                                  const std::string& optimizer_sha256) {
      return runs_->CommitRound(run_id, ToRoundSummary(r), optimizer_sha256);
    };
    hooks.persist_state = [this](const std::string& run_id, const std::string& state,
                                 const std::string& failure) {
      if (absl::Status s = runs_->SetState(run_id, state, failure); !s.ok()) {
        LOG(ERROR) << "cannot record the state of run " << run_id << ": " << s;
      }
    };
    hooks.audit = audit;
    hooks.close_round = [this](const std::string& run_id, uint64_t round) {
      return audit_log_->SignTreeHead(run_id, round);
    };
    ASSIGN_OR_RETURN(std::unique_ptr<UpdateSpool> spool,
                     UpdateSpool::Open(config.state_dir() + "/spool"));
    rounds_ = std::make_unique<RoundManager>(std::move(hooks), std::move(spool));
    // A crash between a round's commit and its audit record: the record
    // first, then the run goes on.
    ASSIGN_OR_RETURN(std::vector<ReconciledRound> reconciled,
                     RecordMissingCommits(*runs_, *audit_log_));
    for (const ReconciledRound& r : reconciled) {
      LOG(WARNING) << "round " << r.round << " of run " << r.run_id
                   << " was committed but not in the audit log (the coordinator stopped in "
                      "between): its AGGREGATE_COMMITTED record was written now";
    }
    RETURN_IF_ERROR(ResumeRuns());
    node_service_ = std::make_unique<NodeServiceImpl>(node_options, authorizer_.get(),
                                                      registry_.get(), &sessions_,
                                                      payloads_.get(), rounds_.get());
    operator_service_ =
        std::make_unique<OperatorServiceImpl>(authorizer_.get(), registry_.get(), &sessions_);
    researcher_service_ =
        std::make_unique<ResearcherServiceImpl>(authorizer_.get(), rounds_.get(), runs_.get(),
                                                payloads_.get(), config.max_transfer_bytes(),
                                                audit);
    auditor_service_ = std::make_unique<AuditorServiceImpl>(authorizer_.get(), audit_log_.get());

    tls::TlsFiles files{config.tls().cert_file(), config.tls().key_file(),
                        config.tls().ca_file(), config.tls().crl_dir(),
                        config.tls().reload_interval_seconds()};
    ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> creds,
                     tls::MakeServerCredentials(files));

    grpc::ServerBuilder builder;
    builder.AddListeningPort(config.listen_address(), creds, &port_);
    builder.SetMaxReceiveMessageSize(transfer::kGrpcMaxMessageBytes);
    builder.SetMaxSendMessageSize(transfer::kGrpcMaxMessageBytes);
    // Let nodes keep idle connections alive with pings every 20 s or more.
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    // Detect dead connections (a node's host vanished) within ~30 s instead
    // of waiting for TCP to give up.
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
    // Two coordinators must never share a port (gRPC enables SO_REUSEPORT
    // by default).
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.RegisterService(node_service_.get());
    builder.RegisterService(operator_service_.get());
    builder.RegisterService(researcher_service_.get());
    builder.RegisterService(auditor_service_.get());
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", config.listen_address(),
                       " (address in use, or not a local address?)"));
    }
    // Drives the rounds: deadlines, aggregation, next round. Nodes are
    // pushed their tasks on their streams; nothing polls on their side.
    round_driver_ = std::thread([this] {
      while (!stop_rounds_.WaitForNotificationWithTimeout(absl::Milliseconds(50))) {
        rounds_->Step(absl::Now());
      }
    });
    crl_monitor_ = std::make_unique<CrlMonitor>(config.tls().crl_dir(), config.tls().ca_file(),
                                                 absl::Hours(1), absl::Hours(24 * 7));
    if (!config.port_file().empty()) {
      RETURN_IF_ERROR(pki::WritePublicFile(config.port_file(), absl::StrCat(port_, "\n")));
    }
    LOG(INFO) << "fl-coordinator serving consortium '" << config.consortium() << "' on port "
              << port_ << ", state in " << config.state_dir();
    return absl::OkStatus();
  }

  // A run that was running when the coordinator stopped continues after
  // its last committed round (the round in progress is started again).
  absl::Status ResumeRuns() {
    ASSIGN_OR_RETURN(std::vector<StoredRun> stored, runs_->List());
    for (const StoredRun& run : stored) {
      if (run.state != "running" && run.state != "paused") continue;
      ASSIGN_OR_RETURN(std::string weights, payloads_->ReadPublished(run.global_sha256));
      ASSIGN_OR_RETURN(tensor::TensorList global, tensor::Decode(weights));
      ServerOptimizerState optimizer;
      if (!run.optimizer_sha256.empty()) {
        ASSIGN_OR_RETURN(std::string bytes, payloads_->ReadPublished(run.optimizer_sha256));
        ASSIGN_OR_RETURN(optimizer, DecodeServerOptimizerState(bytes));
      }
      ASSIGN_OR_RETURN(std::vector<v1::RoundSummary> rounds, runs_->Rounds(run.run_id));
      std::vector<RoundRecord> history;
      for (const v1::RoundSummary& r : rounds) history.push_back(FromRoundSummary(run.run_id, r));
      RETURN_IF_ERROR(rounds_->Resume(run.run_id, run.spec, std::move(global),
                                      std::move(optimizer), run.committed_round,
                                      std::move(history), run.state == "paused"));
      break;  // one run at a time
    }
    return absl::OkStatus();
  }

  int port() const override { return port_; }

  absl::StatusOr<crypto::Sha256Digest> Publish(v1::PayloadKind kind,
                                               absl::string_view data) override {
    return payloads_->Publish(kind, data);
  }

  absl::Status StartRun(const v1::RunSpec& spec, absl::string_view artifact,
                        tensor::TensorList initial) override {
    ASSIGN_OR_RETURN(std::string run_id, RunId(spec));
    // As CreateRun + StartRun do: payloads and the run row first.
    ASSIGN_OR_RETURN(crypto::Sha256Digest initial_digest,
                     payloads_->Publish(v1::PAYLOAD_KIND_GLOBAL_WEIGHTS, tensor::Encode(initial)));
    StoredRun run;
    run.run_id = run_id;
    run.spec = spec;
    run.artifact_sha256 = spec.artifact_sha256();
    run.initial_weights_sha256 = crypto::ToHex(initial_digest);
    run.global_sha256 = run.initial_weights_sha256;
    run.state = "created";
    RETURN_IF_ERROR(runs_->Create(run));
    return rounds_->StartRun(run_id, spec, artifact, std::move(initial), absl::Now());
  }

  RunProgress Progress() const override { return rounds_->Progress(); }
  tensor::TensorList GlobalModel() const override { return rounds_->Global(); }

  ~CoordinatorServerImpl() override { StopRounds(); }

  void StopRounds() {
    if (!stop_rounds_.HasBeenNotified()) stop_rounds_.Notify();
    if (round_driver_.joinable()) round_driver_.join();
  }

  void Shutdown() override {
    StopRounds();
    sessions_.Shutdown();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  void Wait() override {
    if (server_) server_->Wait();
  }

 private:
  // Opens (creating on first start) the audit key and log, and records the
  // start, with anything the log had to repair after a crash.
  absl::Status OpenAuditLog(const v1::CoordinatorConfig& config) {
    const std::string& key_file = config.audit_key_file();
    std::string public_file = key_file;
    if (absl::EndsWith(public_file, ".pem")) public_file.resize(public_file.size() - 4);
    public_file += ".pub.pem";
    absl::StatusOr<std::unique_ptr<audit::AuditKey>> key = audit::AuditKey::Load(key_file);
    if (absl::IsNotFound(key.status())) {
      key = audit::AuditKey::Generate(key_file, public_file);
      if (key.ok()) {
        LOG(INFO) << "audit key created; its public key for auditors and nodes: " << public_file;
      }
    }
    if (!key.ok()) {
      return absl::Status(key.status().code(),
                          absl::StrCat("audit key ", key_file, ": ", key.status().message()));
    }
    audit_key_ = std::move(*key);
    audit::AuditLogOptions options;
    options.key = audit_key_.get();
    absl::StatusOr<std::unique_ptr<audit::AuditLog>> log =
        audit::AuditLog::Open(config.audit_dir(), options);
    if (!log.ok()) {
      return absl::Status(log.status().code(), absl::StrCat("audit log ", config.audit_dir(), ": ",
                                                            log.status().message()));
    }
    audit_log_ = std::move(*log);
    const audit::AuditLogOpenReport& report = audit_log_->open_report();
    if (!report.torn_tails.empty()) LOG(WARNING) << "audit log: " << report.ToString();
    absl::StatusOr<pki::CertificateInfo> own = pki::ReadCertificateFile(config.tls().cert_file());
    if (own.ok()) {
      coordinator_identity_ = own->identity.Uri();
      coordinator_certificate_ = own->sha256_hex;
    }
    v1::AuditRecord started;
    started.set_event(v1::COORDINATOR_STARTED);
    started.set_outcome(v1::SUCCESS);
    started.mutable_actor()->set_identity("coordinator");
    auto& p = *started.mutable_parameters();
    p["version"] = TVERR_VERSION_STRING;
    p["consortium"] = config.consortium();
    p["audit_key_id"] = audit_key_->key_id();
    p["config_sha256"] = crypto::ToHex(crypto::Sha256(config.SerializeAsString()));
    if (!report.torn_tails.empty()) {
      // A crash left half-written lines; they were moved aside, not lost.
      started.set_reason(report.ToString());
    }
    return WriteAuditRecord(std::move(started), true);
  }

  absl::Status WriteAuditRecord(v1::AuditRecord record, bool durable) {
    if (record.actor().identity() == "coordinator" && !coordinator_identity_.empty()) {
      record.mutable_actor()->set_identity(coordinator_identity_);
      record.mutable_actor()->set_certificate_sha256(coordinator_certificate_);
    }
    if (durable) return audit_log_->AppendDurable(std::move(record)).status();
    return audit_log_->Append(std::move(record)).status();
  }

  std::shared_ptr<store::SqliteDb> db_;
  std::unique_ptr<NodeRegistry> registry_;
  std::unique_ptr<PayloadStore> payloads_;
  std::unique_ptr<RunStore> runs_;
  std::unique_ptr<audit::AuditKey> audit_key_;
  std::unique_ptr<audit::AuditLog> audit_log_;
  std::string coordinator_identity_;
  std::string coordinator_certificate_;
  std::unique_ptr<Authorizer> authorizer_;
  SessionTable sessions_;
  // Before the services and the server, which use it: destroyed after them.
  std::unique_ptr<RoundManager> rounds_;
  std::unique_ptr<NodeServiceImpl> node_service_;
  std::unique_ptr<OperatorServiceImpl> operator_service_;
  std::unique_ptr<ResearcherServiceImpl> researcher_service_;
  std::unique_ptr<AuditorServiceImpl> auditor_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<CrlMonitor> crl_monitor_;
  absl::Notification stop_rounds_;
  std::thread round_driver_;
  int port_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(
    const v1::CoordinatorConfig& config) {
  auto server = std::make_unique<CoordinatorServerImpl>();
  RETURN_IF_ERROR(server->Init(config));
  return std::unique_ptr<CoordinatorServer>(std::move(server));
}

}  // namespace tverr::coordinator
