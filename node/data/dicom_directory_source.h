// The node's DICOM data as a DataSource: a directory tree of DICOM files
// (a research PACS export, or the store directory a PacsClient retrieved
// into) plus a labels manifest.
//
// Open() scans every file (except hidden ones), matches it to the manifest, assigns
// patient-level splits and prepares every example's pixels (through the
// tensor cache when one is configured). A bad file never stops the load:
// it is skipped, counted and reported (by path relative to the directory,
// never by patient). Get() is then cheap.
//
// With a cache directory, Open() also keeps an index of file headers there
// (SQLite, keyed by path, size and modification time; patient IDs are
// stored only as hashes), so a second Open() reads neither headers nor
// pixels of unchanged files.
// Thread-safe after Open().
#ifndef TVERR_NODE_DATA_DICOM_DIRECTORY_SOURCE_H_
#define TVERR_NODE_DATA_DICOM_DIRECTORY_SOURCE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/data/data_source.h"
#include "node/data/dataset_summary.h"
#include "node/data/tensor_cache.h"
#include "tverr/v1/data.pb.h"

namespace tverr::node {

struct DirectorySourceOptions {
  v1::DicomDirectorySource source;
  v1::InputSpec input;
  // The run's label set; manifest labels must be among them.
  std::vector<std::string> labels;
  v1::SplitFractions fractions;
  // Salt of the patient-level split (for example the run id).
  std::string split_salt;
  // Secret keying the patient hash (see DicomHeader::patient_key). Empty:
  // read from <cache_dir>/patient-key.secret, created (0600, random) on
  // first use; without a cache directory a fixed public key (tests only).
  std::string patient_key_secret;
  // Cache and index directory; empty keeps decoded pixels in memory.
  std::string cache_dir;
  // Decoding threads; 0 means all cores.
  int threads = 0;
  // Prepared pixels are kept in memory up to this many bytes, so Get() is a
  // copy; beyond it Get() reads the tensor cache. Without a cache
  // directory everything stays in memory. Default: 1 GiB.
  uint64_t memory_budget_bytes = uint64_t{1} << 30;
};

// One file or manifest row that could not be used.
struct LoadIssue {
  // What logs show: "file <8 hex>" (a hash of the relative path: export
  // folders are often named after patients) or "manifest line N".
  std::string where;
  // The relative path (empty for manifest rows), for the operator's own
  // screen (fl-node-data check); never logged or sent.
  std::string path;
  std::string problem;  // short name, e.g. "truncated_or_malformed"
  std::string message;
};

struct LoadReport {
  int64_t files_seen = 0;
  int64_t examples = 0;
  int64_t unlabelled = 0;  // DICOM files the manifest does not list
  int64_t cache_hits = 0;
  int64_t cache_misses = 0;
  int64_t cache_corrupt_rebuilt = 0;
  int64_t index_hits = 0;
  std::map<std::string, int64_t> problems;  // problem -> count
  std::vector<LoadIssue> issues;
};

class DicomDirectorySource final : public DataSource {
 public:
  // INVALID_ARGUMENT for bad options; NOT_FOUND if the directory or the
  // manifest cannot be read; INVALID_ARGUMENT for a manifest without a
  // usable header. Everything else is reported, not returned.
  static absl::StatusOr<std::unique_ptr<DicomDirectorySource>> Open(
      const DirectorySourceOptions& options);
  ~DicomDirectorySource() override;

  size_t Size() const override;
  absl::StatusOr<Example> Get(size_t index) const override;
  std::vector<size_t> IndicesOf(Split split) const override;

  const LoadReport& report() const;
  const DatasetSummary& summary() const;

 private:
  struct Impl;
  explicit DicomDirectorySource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tverr::node

#endif  // TVERR_NODE_DATA_DICOM_DIRECTORY_SOURCE_H_
