#include "coordinator/flctl/run_command.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/crypto/sha256.h"
#include "common/status/grpc_status.h"
#include "common/transfer/chunk_writer.h"
#include "absl/time/clock.h"
#include "coordinator/flctl/connection.h"
#include "coordinator/flctl/progress_view.h"
#include "tverr/v1/researcher.grpc.pb.h"

namespace tverr::flctl {
namespace {

constexpr char kUsage[] =
    "usage: flctl run create --spec spec.textproto --artifact model.pt --initial_weights w.tvts\n"
    "       flctl run start RUN_ID        (also continues a paused run)\n"
    "       flctl run pause RUN_ID        (after the round in progress)\n"
    "       flctl run abort RUN_ID        (drops the round in progress)\n"
    "       flctl run status RUN_ID [--format table|json]\n"
    "       flctl run watch RUN_ID [--progress auto|bars|lines|none]\n"
    "           round and per-node progress: bars on a terminal, state lines otherwise\n"
    "       flctl run report RUN_ID [--format csv|json] [--out FILE]\n"
    "           per-round and per-site metrics (csv: one row per round and site)\n"
    "connection: --coordinator host:port --tls_dir DIR (or TVERR_COORDINATOR, TVERR_TLS_DIR)\n";

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::unique_ptr<grpc::ClientContext> Context(int seconds) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return ctx;
}

void PrintStatus(const v1::RunStatus& s, std::ostream& out) {
  out << "run " << s.run().run_id() << "\n  state: " << s.state();
  if (!s.phase().empty()) out << " (round " << s.committed_round() + 1 << ": " << s.phase() << ")";
  out << "\n  rounds: " << s.committed_round() << "/" << s.total_rounds() << " committed\n";
  if (!s.failure().empty()) out << "  failure: " << s.failure() << "\n";
  if (s.rounds_size() > 0) {
    out << absl::StrFormat("  %-6s %-6s %-8s %-12s %-14s %s\n", "ROUND", "NODES", "SAMPLES",
                           "TRAIN LOSS", "VAL ACCURACY", "DROPPED");
  }
  for (const v1::RoundSummary& r : s.rounds()) {
    // A secure round knows only the sum: no per-node training loss.
    out << absl::StrFormat("  %-6d %-6d %-8d %-12s %-14s %d\n", r.round(),
                           r.contributors_size(), r.samples(),
                           r.secure_session_id().empty()
                               ? absl::StrFormat("%.4f", r.mean_train_loss())
                               : std::string("- (secure)"),
                           r.evaluated() ? absl::StrFormat("%.4f", r.pooled_accuracy()) : "-",
                           r.dropped_size());
  }
}

}  // namespace

int RunRunCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  if (argv.empty() || argv[0] == "help") {
    (argv.empty() ? err : out) << kUsage;
    return argv.empty() ? 2 : 0;
  }
  const std::string sub = argv[0];
  std::set<std::string> options = ConnectionOptions();
  options.insert({"spec", "artifact", "initial_weights", "format", "out", "progress"});
  absl::StatusOr<Args> args =
      ParseArgs(std::vector<std::string>(argv.begin() + 1, argv.end()), options);
  if (!args.ok()) {
    err << "flctl run " << sub << ": " << args.status().message() << "\n" << kUsage;
    return 2;
  }
  auto fail = [&](const absl::Status& s) {
    err << "flctl run " << sub << ": " << s.message() << "\n";
    return 1;
  };
  const bool needs_id = sub == "start" || sub == "status" || sub == "watch" || sub == "report" ||
                        sub == "pause" || sub == "abort";
  if (needs_id && args->positional.size() != 1) {
    err << "flctl run " << sub << ": give exactly one RUN_ID\n" << kUsage;
    return 2;
  }
  if (!needs_id && sub != "create") {
    err << "flctl run: unknown subcommand '" << sub << "'\n" << kUsage;
    return 2;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect(*args);
  if (!channel.ok()) return fail(channel.status());
  auto stub = v1::ResearcherService::NewStub(*channel);

  if (sub == "create") {
    std::map<std::string, std::string> paths;
    for (const std::string option : {"spec", "artifact", "initial_weights"}) {
      absl::StatusOr<std::string> path = args->Require(option);
      if (!path.ok()) {
        err << "flctl run create: " << path.status().message() << "\n" << kUsage;
        return 2;
      }
      paths[option] = *path;
    }
    v1::CreateRunRequest request;
    if (!ReadFile(paths["spec"], request.mutable_spec_textproto())) {
      return fail(absl::NotFoundError(absl::StrCat("cannot read ", paths["spec"])));
    }
    // Artifact and weights go as chunked transfers (any size), read from
    // their files chunk by chunk; the run then names them by digest.
    for (const auto& [option, kind] :
         std::vector<std::pair<std::string, v1::PayloadKind>>{
             {"artifact", v1::PAYLOAD_KIND_MODEL_ARTIFACT},
             {"initial_weights", v1::PAYLOAD_KIND_GLOBAL_WEIGHTS}}) {
      grpc::ClientContext ctx;
      v1::UploadReceipt receipt;
      auto writer = stub->UploadPayload(&ctx, &receipt);
      v1::TransferHeader header;
      header.set_kind(kind);
      absl::Status sent = transfer::SendFile(
          header, paths[option], [&](const v1::Chunk& c) { return writer->Write(c); });
      writer->WritesDone();
      grpc::Status s = writer->Finish();
      if (!s.ok()) {
        return fail(absl::Status(FromGrpcStatus(s).code(),
                                 absl::StrCat(paths[option], ": ", s.error_message())));
      }
      if (!sent.ok()) return fail(sent);
      if (option == "initial_weights") {
        request.set_initial_weights_sha256(crypto::ToHex(receipt.sha256().digest()));
      }
    }
    v1::CreateRunResponse response;
    grpc::Status s = stub->CreateRun(Context(600).get(), request, &response);
    if (!s.ok()) return fail(FromGrpcStatus(s));
    out << response.run().run_id() << "\n";
    return 0;
  }
  v1::RunRef ref;
  ref.set_run_id(args->positional[0]);
  if (sub == "report") {
    v1::RunStatus status;
    grpc::Status s = stub->GetRunStatus(Context(30).get(), ref, &status);
    if (!s.ok()) return fail(FromGrpcStatus(s));
    const std::string format = args->Get("format", "csv");
    std::string text;
    if (format == "json") {
      google::protobuf::util::JsonPrintOptions print;
      print.add_whitespace = true;
      print.preserve_proto_field_names = true;
      (void)google::protobuf::util::MessageToJsonString(status, &text, print);
    } else if (format == "csv") {
      text = "run_id,round,site,contributors,samples,mean_train_loss,eval_samples,accuracy,"
             "loss\n";
      for (const v1::RoundSummary& r : status.rounds()) {
        // One row for the pooled round, then one per site.
        absl::StrAppend(&text, status.run().run_id(), ",", r.round(), ",pooled,",
                        r.contributors_size(), ",", r.samples(), ",",
                        r.secure_session_id().empty() ? absl::StrCat(r.mean_train_loss()) : "",
                        ",",
                        r.evaluation_samples(), ",",
                        r.evaluated() ? absl::StrCat(r.pooled_accuracy()) : "", ",\n");
        for (const v1::SiteMetrics& m : r.sites()) {
          absl::StrAppend(&text, status.run().run_id(), ",", r.round(), ",", m.site(), ",,,,",
                          m.samples(), ",", m.accuracy(), ",", m.loss(), "\n");
        }
      }
    } else {
      err << "flctl run report: --format must be csv or json\n";
      return 2;
    }
    const std::string path = args->Get("out");
    if (path.empty()) {
      out << text;
    } else {
      std::ofstream file(path, std::ios::binary | std::ios::trunc);
      file << text;
      if (!file) return fail(absl::UnavailableError(absl::StrCat("cannot write ", path)));
      out << "wrote " << path << "\n";
    }
    return 0;
  }
  if (sub == "start" || sub == "status" || sub == "pause" || sub == "abort") {
    v1::RunStatus status;
    grpc::Status s = sub == "start"   ? stub->StartRun(Context(60).get(), ref, &status)
                     : sub == "pause" ? stub->PauseRun(Context(30).get(), ref, &status)
                     : sub == "abort" ? stub->AbortRun(Context(30).get(), ref, &status)
                                      : stub->GetRunStatus(Context(30).get(), ref, &status);
    if (!s.ok()) return fail(FromGrpcStatus(s));
    if (args->Get("format", "table") == "json") {
      std::string json;
      google::protobuf::util::JsonPrintOptions print;
      print.add_whitespace = true;
      print.preserve_proto_field_names = true;
      (void)google::protobuf::util::MessageToJsonString(status, &json, print);
      out << json;
    } else {
      PrintStatus(status, out);
    }
    return 0;
  }
  // watch: events until the run ends, with the round's progress as bars
  // on a terminal, as state-change lines otherwise.
  std::string mode = args->Get("progress", "auto");
  if (mode == "auto") mode = &out == &std::cout && ::isatty(STDOUT_FILENO) ? "bars" : "lines";
  if (mode != "bars" && mode != "lines" && mode != "none") {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("--progress: '", mode, "' is not one of auto, bars, lines, none")));
  }
  grpc::ClientContext ctx;
  auto reader = stub->WatchRun(&ctx, ref);
  v1::RunEvent event;
  std::string last;
  size_t drawn = 0;  // lines of the progress block on screen
  std::map<std::string, std::string> seen;
  while (reader->Read(&event)) {
    if (mode == "bars") {
      for (; drawn > 0; --drawn) out << "\033[1A\033[2K";
    }
    if (!event.message().empty()) {
      out << event.message() << "\n";
      last = event.message();
    }
    if (mode == "lines") {
      for (const std::string& line : StateChanges(event.status(), &seen)) out << line << "\n";
    }
    if (mode == "bars") {
      for (const std::string& line : RenderRoundProgress(event.status(), absl::Now())) {
        out << line << "\n";
        ++drawn;
      }
    }
    out.flush();
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return fail(FromGrpcStatus(s));
  return last.rfind("run failed", 0) == 0 ? 1 : 0;
}

}  // namespace tverr::flctl
