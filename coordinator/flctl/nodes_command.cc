#include "coordinator/flctl/nodes_command.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/status/grpc_status.h"
#include "coordinator/flctl/connection.h"
#include "tverr/v1/researcher.grpc.pb.h"

namespace tverr::flctl {
namespace {

std::string FormatTime(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

}  // namespace

std::string FormatNodesTable(const v1::ListNodesResponse& response) {
  std::string out = absl::StrFormat("%-36s %-7s %-8s %5s  %-19s  %-19s  %-16s  %s\n", "NODE",
                                    "STATUS", "VERSION", "JOINS", "FIRST SEEN (UTC)",
                                    "LAST SEEN (UTC)", "CERT SHA-256", "CAPABILITIES");
  for (const v1::NodeRecord& n : response.nodes()) {
    absl::StrAppend(&out, absl::StrFormat("%-36s %-7s %-8s %5d  %-19s  %-19s  %-16s  %s\n",
                                          n.identity(), n.online() ? "online" : "offline",
                                          n.software_version(), n.join_count(),
                                          FormatTime(n.first_seen_unix_seconds()),
                                          FormatTime(n.last_seen_unix_seconds()),
                                          n.certificate_sha256().substr(0, 16),
                                          n.capabilities_summary()));
  }
  absl::StrAppend(&out, response.nodes_size(), " node(s)\n");
  return out;
}

int RunNodesCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  std::set<std::string> options = ConnectionOptions();
  options.insert("format");
  absl::StatusOr<Args> args = ParseArgs(argv, options);
  if (!args.ok()) {
    err << "flctl nodes: " << args.status().message() << "\n"
        << "usage: flctl nodes --coordinator host:port --tls_dir DIR [--format table|json]\n";
    return 2;
  }
  const std::string format = args->Get("format", "table");
  if (format != "table" && format != "json") {
    err << "flctl nodes: --format must be table or json\n";
    return 2;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect(*args);
  if (!channel.ok()) {
    err << "flctl nodes: " << channel.status().message() << "\n";
    return 1;
  }
  auto stub = v1::OperatorService::NewStub(*channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  v1::ListNodesResponse response;
  grpc::Status status = stub->ListNodes(&context, v1::ListNodesRequest(), &response);
  if (!status.ok()) {
    err << "flctl nodes: " << FromGrpcStatus(status) << "\n";
    return 1;
  }
  if (format == "json") {
    std::string json;
    google::protobuf::util::JsonPrintOptions print;
    print.add_whitespace = true;
    print.always_print_primitive_fields = true;
    print.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(response, &json, print);
    out << json;
  } else {
    out << FormatNodesTable(response);
  }
  return 0;
}

}  // namespace tverr::flctl
