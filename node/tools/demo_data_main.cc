// fl-demo-data: writes the Fashion-MNIST demo sites as DICOM (see
// node/data/demo/demo_dataset.h) and prints a per-site table.
// Exit status: 0 success, 1 error, 2 usage error.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "node/data/demo/demo_dataset.h"

using tverr::node::demo::DemoOptions;

ABSL_FLAG(std::string, out, "",
          "Output directory (required). Writes <out>/<site>/dicom/<PatientID>/<SOP UID>.dcm "
          "and <out>/<site>/labels.csv; a site directory must not exist or be empty.");
ABSL_FLAG(std::vector<std::string>, sites, DemoOptions().sites,
          "Comma-separated site names, each of [a-z0-9-]+.");
ABSL_FLAG(int, images_per_site, DemoOptions().images_per_site,
          "Images per site, drawn without replacement.");
ABSL_FLAG(bool, non_iid, DemoOptions().non_iid,
          "Give each site a Dirichlet(--alpha) label mix instead of an IID split.");
ABSL_FLAG(double, alpha, DemoOptions().dirichlet_alpha,
          "Dirichlet concentration for --non_iid; smaller is more skewed.");
ABSL_FLAG(uint64_t, seed, DemoOptions().seed, "Seed; the same flags write the same files.");
ABSL_FLAG(bool, test_set, DemoOptions().use_test_set,
          "Use the 10k test images instead of the 60k training images.");
ABSL_FLAG(std::string, mnist_dir, DemoOptions().mnist_dir,
          "Directory with the Fashion-MNIST IDX files (Debian: dataset-fashion-mnist).");

namespace {

constexpr int kUsageError = 2;
bool flags_parsed = false;
bool help_requested = false;

// Abseil 20220623 calls exit(1) both after --help and on a malformed command
// line; we want 0 and 2. _Exit inside an atexit handler is allowed; flush
// first, since _Exit does not.
void FixParseExitCode() {
  if (flags_parsed) return;
  std::cout.flush();
  std::fflush(nullptr);
  std::_Exit(help_requested ? 0 : kUsageError);
}

bool IsHelpFlag(absl::string_view arg) {
  absl::ConsumePrefix(&arg, "-");
  absl::ConsumePrefix(&arg, "-");
  return absl::StartsWith(arg, "help") || arg == "version";
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "fl-demo-data: %s\nTry --help.\n", message.c_str());
  return kUsageError;
}

void PrintTable(const std::vector<tverr::node::demo::SiteSummary>& summaries) {
  std::vector<std::string> rows = {"images", "patients"};
  for (const std::string& label : tverr::node::demo::FashionMnistLabels()) rows.push_back(label);
  size_t width = 0;
  for (const std::string& row : rows) width = std::max(width, row.size());
  std::string line = absl::StrFormat("%-*s", width, "");
  for (const auto& s : summaries) absl::StrAppendFormat(&line, "  %10s", s.site);
  std::printf("%s\n", line.c_str());
  for (size_t r = 0; r < rows.size(); ++r) {
    line = absl::StrFormat("%-*s", width, rows[r]);
    for (const auto& s : summaries) {
      const int value = r == 0 ? s.images : r == 1 ? s.patients : s.per_label[r - 2];
      absl::StrAppendFormat(&line, "  %10d", value);
    }
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Writes Fashion-MNIST as DICOM demo sites with synthetic patients.\n"
      "Usage: fl-demo-data --out DIR [--sites a,b,c] [--images_per_site N] [--non_iid] "
      "[--alpha A] [--seed S] [--test_set] [--mnist_dir D]");
  absl::FlagsUsageConfig usage;  // --help lists the flags of this file
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "demo_data_main");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  for (int i = 1; i < argc; ++i) help_requested = help_requested || IsHelpFlag(argv[i]);
  std::atexit(FixParseExitCode);
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  flags_parsed = true;
  if (positional.size() > 1) {
    return UsageError(absl::StrCat("unexpected argument \"", positional[1], "\""));
  }
  DemoOptions options;
  options.out_dir = absl::GetFlag(FLAGS_out);
  if (options.out_dir.empty()) return UsageError("--out is required");
  options.sites = absl::GetFlag(FLAGS_sites);
  options.images_per_site = absl::GetFlag(FLAGS_images_per_site);
  options.non_iid = absl::GetFlag(FLAGS_non_iid);
  options.dirichlet_alpha = absl::GetFlag(FLAGS_alpha);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.use_test_set = absl::GetFlag(FLAGS_test_set);
  options.mnist_dir = absl::GetFlag(FLAGS_mnist_dir);

  const auto summaries = tverr::node::demo::WriteDemoSites(options);
  if (!summaries.ok()) {
    std::fprintf(stderr, "fl-demo-data: %s\n", std::string(summaries.status().message()).c_str());
    return 1;
  }
  std::printf(
      "Wrote %zu sites to %s (%s, seed %llu)\n", summaries->size(), options.out_dir.c_str(),
      options.non_iid ? absl::StrCat("non-IID, alpha ", options.dirichlet_alpha).c_str() : "IID",
      static_cast<unsigned long long>(options.seed));
  PrintTable(*summaries);
  return 0;
}
