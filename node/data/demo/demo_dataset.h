// Demo and test data: the real Fashion-MNIST images (Debian package
// dataset-fashion-mnist) written as DICOM Secondary Capture files with
// synthetic patients, partitioned across N sites. Never real patient data.
// Seeded and reproducible: the same options write the same files.
#ifndef TVERR_NODE_DATA_DEMO_DEMO_DATASET_H_
#define TVERR_NODE_DATA_DEMO_DEMO_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tverr::node::demo {

// The ten Fashion-MNIST classes, in label order.
const std::vector<std::string>& FashionMnistLabels();

struct MnistImages {
  int rows = 0;
  int cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols, row-major
  std::vector<uint8_t> labels;  // count
  size_t count() const { return labels.size(); }
};

// Reads an IDX image file and its label file (gzip-compressed or plain).
// INVALID_ARGUMENT naming the file for a bad magic number or size.
absl::StatusOr<MnistImages> ReadIdx(const std::string& images_path,
                                    const std::string& labels_path);

struct DemoOptions {
  // Where the Debian package puts the files.
  std::string mnist_dir = "/usr/share/datasets/fashion-mnist";
  // Use the 10k test file (true) or the 60k training file (false).
  bool use_test_set = false;
  // Output root; each site gets <out_dir>/<site>/dicom/... and
  // <out_dir>/<site>/labels.csv.
  std::string out_dir;
  std::vector<std::string> sites = {"site-a", "site-b", "site-c"};
  // Images per site (taken without replacement; must fit the source).
  int images_per_site = 1000;
  // IID split (false) or non-IID with per-site label proportions drawn from
  // Dirichlet(alpha) (true).
  bool non_iid = false;
  double dirichlet_alpha = 0.5;
  // Images per synthetic patient: uniform in [min, max].
  int min_images_per_patient = 2;
  int max_images_per_patient = 6;
  uint64_t seed = 1;
};

struct SiteSummary {
  std::string site;
  int images = 0;
  int patients = 0;
  std::vector<int> per_label;  // 10 counts
};

// Writes the demo sites. Each file: SC Image Storage, MONOCHROME2, 8-bit,
// 28x28; synthetic PatientID/PatientName/PatientSex/PatientBirthDate,
// StudyDate, Study/Series/SOP Instance UIDs; Manufacturer and
// ManufacturerModelName drawn from a per-site mix of fictional scanners;
// labels.csv with columns sop_instance_uid,label (label = class name).
absl::StatusOr<std::vector<SiteSummary>> WriteDemoSites(const DemoOptions& options);

}  // namespace tverr::node::demo

#endif  // TVERR_NODE_DATA_DEMO_DEMO_DATASET_H_
