// fl-node-data: the hospital operator's tool for the node's data, run next
// to fl-node with the same config file. Nothing it does leaves the node.
//   fl-node-data --config=node.textproto echo    C-ECHO the configured PACS
//   fl-node-data --config=node.textproto pull    pull new matching studies
//   fl-node-data --config=node.textproto check --labels=a,b [--width=..]
//       load the data as a run would and print the load report, the
//       problems per file, and the summary that may leave the node.
#include <google/protobuf/util/json_util.h>

#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "common/log/log.h"
#include "node/daemon/node_config.h"
#include "node/data/dicom_directory_source.h"
#include "node/data/pacs_client.h"
#include "node/data/pacs_pull.h"

ABSL_FLAG(std::string, config, "", "Node config (textproto) with a data section. Required.");
ABSL_FLAG(std::string, labels, "", "check: the run's labels, comma-separated.");
ABSL_FLAG(uint32_t, width, 224, "check: input width.");
ABSL_FLAG(uint32_t, height, 224, "check: input height.");
ABSL_FLAG(uint32_t, channels, 1, "check: input channels (1 or 3).");
ABSL_FLAG(std::string, split_salt, "check", "check: salt of the patient-level split.");
ABSL_FLAG(int, max_issues, 50, "check: problems to list (all are counted).");

namespace {

int Fail(const absl::Status& status) {
  std::cerr << "fl-node-data: " << status.message() << "\n";
  return 1;
}

int Echo(const tverr::v1::NodeConfig& config) {
  absl::Status s = tverr::node::PacsClient(config.data().pacs()).Echo();
  if (!s.ok()) return Fail(s);
  std::cout << "C-ECHO to " << config.data().pacs().called_ae_title() << " at "
            << config.data().pacs().host() << ":" << config.data().pacs().port() << ": ok\n";
  return 0;
}

int Pull(const tverr::v1::NodeConfig& config) {
  absl::StatusOr<tverr::node::PullResult> r = tverr::node::PullNewStudies(config.data().pacs());
  if (!r.ok()) return Fail(r.status());
  std::cout << "studies matching the query: " << r->studies_found << "\n"
            << "already complete (skipped): " << r->studies_skipped << "\n"
            << "retrieved:                  " << r->studies_retrieved << " ("
            << r->instances_stored << " instances, " << r->instances_failed << " failed)\n"
            << "studies the PACS failed:    " << r->studies_failed
            << (r->last_error.empty() ? "" : " (last: " + r->last_error + ")") << "\n"
            << "store directory:            " << config.data().pacs().store_directory() << "\n";
  return r->instances_failed == 0 && r->studies_failed == 0 ? 0 : 1;
}

int Check(const tverr::v1::NodeConfig& config) {
  tverr::node::DirectorySourceOptions o;
  o.source = config.data().directory();
  o.cache_dir = config.data().cache_dir();
  o.input.set_width(absl::GetFlag(FLAGS_width));
  o.input.set_height(absl::GetFlag(FLAGS_height));
  o.input.set_channels(absl::GetFlag(FLAGS_channels));
  o.labels = absl::StrSplit(absl::GetFlag(FLAGS_labels), ',', absl::SkipEmpty());
  o.fractions.set_train(0.8);
  o.fractions.set_validation(0.1);
  o.fractions.set_test(0.1);
  o.split_salt = absl::GetFlag(FLAGS_split_salt);
  auto source = tverr::node::DicomDirectorySource::Open(o);
  if (!source.ok()) return Fail(source.status());
  const tverr::node::LoadReport& r = (*source)->report();
  std::cout << "files seen:      " << r.files_seen << "\n"
            << "usable examples: " << r.examples << "\n"
            << "not in manifest: " << r.unlabelled << "\n"
            << "cache:           " << r.cache_hits << " hits, " << r.cache_misses << " misses, "
            << r.cache_corrupt_rebuilt << " corrupt entries rebuilt\n";
  for (const auto& [problem, n] : r.problems) std::cout << "problem " << problem << ": " << n << "\n";
  int listed = 0;
  for (const tverr::node::LoadIssue& issue : r.issues) {
    if (listed++ >= absl::GetFlag(FLAGS_max_issues)) break;
    // Paths are for this screen only; the log shows the file tag.
    std::cout << "  " << (issue.path.empty() ? issue.where : issue.path + " [" + issue.where + "]")
              << ": " << issue.message << "\n";
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  print.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(tverr::node::Releasable((*source)->summary()),
                                                     &json, print);
  std::cout << "summary that may leave the node (counts below "
            << tverr::node::kMinReleasableCount << " suppressed):\n"
            << json;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "The node's data tool.\n"
      "Usage: fl-node-data --config=node.textproto echo|pull|check [--labels=a,b ...]");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  tverr::InitLogging(argv[0]);
  (void)tverr::SetLogLevel("warning");
  if (args.size() != 2 || absl::GetFlag(FLAGS_config).empty()) {
    std::cerr << "usage: fl-node-data --config=node.textproto echo|pull|check\n";
    return 2;
  }
  const std::string command = args[1];
  absl::StatusOr<tverr::v1::NodeConfig> config =
      tverr::node::LoadNodeConfig(absl::GetFlag(FLAGS_config), {});
  if (!config.ok()) {
    std::cerr << "fl-node-data: invalid configuration:\n" << config.status().message() << "\n";
    return 2;
  }
  if (!config->has_data()) {
    std::cerr << "fl-node-data: " << absl::GetFlag(FLAGS_config) << " has no data section\n";
    return 2;
  }
  if ((command == "echo" || command == "pull") && !config->data().has_pacs()) {
    std::cerr << "fl-node-data: " << absl::GetFlag(FLAGS_config) << " has no data.pacs section\n";
    return 2;
  }
  if (command == "echo") return Echo(*config);
  if (command == "pull") return Pull(*config);
  if (command == "check") {
    if (absl::GetFlag(FLAGS_labels).empty()) {
      std::cerr << "fl-node-data check: --labels is required\n";
      return 2;
    }
    return Check(*config);
  }
  std::cerr << "fl-node-data: unknown command '" << command << "' (echo, pull or check)\n";
  return 2;
}
