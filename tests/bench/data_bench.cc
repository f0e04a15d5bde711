// Benchmark of the node's data loading on the demo data (Fashion-MNIST as
// DICOM): cold load (header scan + DICOM decode + preprocessing, one
// thread: the target is per core) and cached load (header index + tensor
// cache, all cores), each from Open() to having read every example, with a
// reference measured in the same run: reading the same files' bytes.
// Run it through scripts/bench-data.sh; results go to docs/benchmarks.md.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "node/data/demo/demo_dataset.h"
#include "node/data/dicom_directory_source.h"

ABSL_FLAG(std::string, work_dir, "/tmp/tverr-bench-data", "Scratch directory (wiped).");
ABSL_FLAG(int, images, 20000, "Images to generate and load.");
ABSL_FLAG(int, repeats, 3, "Repetitions of each measurement (best is reported).");

namespace fs = std::filesystem;
using tverr::node::DicomDirectorySource;
using tverr::node::DirectorySourceOptions;

namespace {

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double ReadAllFiles(const std::string& dir, size_t* files) {
  auto start = std::chrono::steady_clock::now();
  std::vector<char> buf(1 << 16);
  *files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() != ".dcm") continue;
    int fd = open(e.path().c_str(), O_RDONLY);
    while (read(fd, buf.data(), buf.size()) > 0) {
    }
    close(fd);
    ++*files;
  }
  return Seconds(start);
}

double Load(const DirectorySourceOptions& options, size_t* examples) {
  auto start = std::chrono::steady_clock::now();
  auto source = DicomDirectorySource::Open(options);
  if (!source.ok()) {
    std::fprintf(stderr, "load failed: %s\n", std::string(source.status().message()).c_str());
    std::exit(1);
  }
  double checksum = 0;
  for (size_t i = 0; i < (*source)->Size(); ++i) {
    auto e = (*source)->Get(i);
    if (!e.ok()) std::exit(1);
    checksum += e->pixels[0];
  }
  *examples = (*source)->Size();
  if (checksum < 0) std::puts("");  // keep the loop
  return Seconds(start);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string work = absl::GetFlag(FLAGS_work_dir);
  fs::remove_all(work);
  tverr::node::demo::DemoOptions demo;
  demo.out_dir = work + "/demo";
  demo.sites = {"bench"};
  demo.images_per_site = absl::GetFlag(FLAGS_images);
  auto written = tverr::node::demo::WriteDemoSites(demo);
  if (!written.ok()) {
    std::fprintf(stderr, "demo data: %s\n", std::string(written.status().message()).c_str());
    return 1;
  }
  DirectorySourceOptions options;
  options.source.set_directory(demo.out_dir + "/bench/dicom");
  options.source.set_manifest(demo.out_dir + "/bench/labels.csv");
  options.input.set_width(28);
  options.input.set_height(28);
  options.input.set_channels(1);
  options.labels = tverr::node::demo::FashionMnistLabels();
  options.fractions.set_train(0.8);
  options.fractions.set_validation(0.1);
  options.fractions.set_test(0.1);
  options.split_salt = "bench";
  options.threads = 1;

  const int repeats = absl::GetFlag(FLAGS_repeats);
  double best_read = 1e9, best_cold = 1e9, best_cached = 1e9;
  size_t files = 0, n = 0;
  for (int r = 0; r < repeats; ++r) {
    best_read = std::min(best_read, ReadAllFiles(options.source.directory(), &files));
    DirectorySourceOptions cold = options;
    cold.cache_dir = work + "/cache-" + std::to_string(r);
    best_cold = std::min(best_cold, Load(cold, &n));  // fills the cache
    DirectorySourceOptions cached = cold;
    cached.threads = 0;  // all cores
    best_cached = std::min(best_cached, Load(cached, &n));
  }
  const double read_rate = files / best_read;
  const double cold_rate = n / best_cold;
  const double cached_rate = n / best_cached;
  std::printf("images: %zu (28x28, 8-bit DICOM, explicit little endian)\n", n);
  std::printf("reference: read file bytes   %10.0f files/s\n", read_rate);
  std::printf("cold load (decode, 1 core)   %10.0f images/s  ratio to reference %.3f\n", cold_rate,
              cold_rate / read_rate);
  std::printf("cached load (all cores)      %10.0f images/s  ratio to reference %.3f\n",
              cached_rate, cached_rate / read_rate);
  fs::remove_all(work);
  return 0;
}
