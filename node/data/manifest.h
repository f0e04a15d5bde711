// The labels manifest of a DICOM directory: CSV with a header row naming a
// key column (`sop_instance_uid` for instance labels, or
// `study_instance_uid` for study labels), a `label` column and optionally a
// `split` column (train | validation | test). Fields may be quoted ("...",
// with "" for a quote). Bad rows are reported and skipped, never fatal.
// Thread-compatible.
#ifndef TVERR_NODE_DATA_MANIFEST_H_
#define TVERR_NODE_DATA_MANIFEST_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/data/example.h"

namespace tverr::node {

struct ManifestEntry {
  int64_t label = -1;            // index into the label set
  std::optional<Split> split;    // when the manifest fixes it
  int row = 0;                   // 1-based line number, for messages
  bool matched = false;          // set by the loader when a file matched
};

struct ManifestIssue {
  int row = 0;
  std::string message;  // never contains patient data (manifests hold none)
};

struct Manifest {
  enum class Key { kSopInstanceUid, kStudyInstanceUid };
  Key key = Key::kSopInstanceUid;
  std::map<std::string, ManifestEntry> entries;
  std::vector<ManifestIssue> issues;
};

// Parses manifest text. `labels` is the run's label set (label values must
// be one of them). Errors (INVALID_ARGUMENT) only for a missing or bad
// header; bad rows (unknown label, bad split, missing fields, a key listed
// twice with different labels) become issues.
absl::StatusOr<Manifest> ParseManifest(absl::string_view text,
                                       const std::vector<std::string>& labels);

// Reads and parses a manifest file. NOT_FOUND if it cannot be read.
absl::StatusOr<Manifest> ReadManifest(const std::string& path,
                                      const std::vector<std::string>& labels);

// One CSV line split into fields (exposed for tests). INVALID_ARGUMENT for
// an unterminated quote.
absl::StatusOr<std::vector<std::string>> SplitCsvLine(absl::string_view line);

}  // namespace tverr::node

#endif  // TVERR_NODE_DATA_MANIFEST_H_
