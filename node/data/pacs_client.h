// DICOM networking with a PACS, from the node (DCMTK's DcmSCU): find
// studies (C-FIND, study level), retrieve their instances (C-GET) into a
// local store directory, and store files (C-STORE, used to fill test PACS).
// Every call opens its own association. Errors are statuses naming the
// PACS and what failed: UNAVAILABLE when it cannot be reached or refuses
// the association, INTERNAL/ABORTED when it answers with a failure status.
// Never logs patient identifiers. Thread-compatible.
#ifndef TVERR_NODE_DATA_PACS_CLIENT_H_
#define TVERR_NODE_DATA_PACS_CLIENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tverr/v1/data.pb.h"

namespace tverr::node {

struct StudyMatch {
  std::string study_instance_uid;
  // Number of instances the PACS reports for the study (0 if not given).
  int instances = 0;
};

struct RetrieveResult {
  int studies = 0;
  // Instances written to the store directory.
  int instances_stored = 0;
  // Sub-operations the PACS reported as failed or warned about.
  int failed = 0;
  // Paths of the stored files.
  std::vector<std::string> files;
};

class PacsClient {
 public:
  // `source` supplies host, port, AE titles, query and store directory.
  explicit PacsClient(v1::PacsSource source);

  // C-ECHO: checks that the PACS accepts an association from this node.
  absl::Status Echo() const;

  // C-FIND at STUDY level with the configured modality and date range.
  absl::StatusOr<std::vector<StudyMatch>> FindStudies() const;

  // C-GET of every instance of `studies` into the store directory.
  absl::StatusOr<RetrieveResult> Retrieve(const std::vector<StudyMatch>& studies) const;

  // FindStudies then Retrieve.
  absl::StatusOr<RetrieveResult> FindAndRetrieve() const;

  // C-STORE of DICOM files to the PACS. Returns how many were stored.
  absl::StatusOr<int> Store(const std::vector<std::string>& files) const;

 private:
  v1::PacsSource source_;
};

}  // namespace tverr::node

#endif  // TVERR_NODE_DATA_PACS_CLIENT_H_
