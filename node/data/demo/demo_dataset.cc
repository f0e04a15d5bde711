// Fashion-MNIST as DICOM demo sites (see demo_dataset.h).
//
// Output layout, per site (the site name doubles as a directory name, hence
// the [a-z0-9-]+ rule):
//   <out_dir>/<site>/dicom/<StudyInstanceUID>/<SOPInstanceUID>.dcm
// (folders are not named after patients: paths end up in logs and reports)
//   <out_dir>/<site>/labels.csv   "sop_instance_uid,label", one row per file
// A site directory that already exists must be empty: stale files from an
// earlier run would otherwise mix with the new ones unnoticed.
//
// Reproducibility: every random choice comes from one std::mt19937_64 seeded
// with options.seed (the engine's output is fixed by the C++ standard). We do
// not use std::*_distribution or std::shuffle, whose results differ between
// standard libraries; the integer draws below are exact everywhere, and the
// Dirichlet draws only use libm's log/exp/pow/cos. UIDs are "2.25.<n>" with
// <n> a UUID (ISO/IEC 9834-8, RFC 4122 version 8) cut from SHA-256 of the
// content-determining options plus the object's role and numbers, so the same
// options give the same UIDs and different options do not reuse them.
#include "node/data/demo/demo_dataset.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/crypto/sha256.h"
#include "common/status/status_macros.h"

namespace tverr::node::demo {
namespace {

namespace fs = std::filesystem;

constexpr int kNumLabels = 10;
constexpr double kPi = 3.14159265358979323846;
constexpr uint32_t kImageMagic = 2051;
constexpr uint32_t kLabelMagic = 2049;
// Far above the 47 MB of the 60k training images; guards against gzip bombs.
constexpr size_t kMaxIdxBytes = size_t{1} << 30;
constexpr size_t kMaxSiteNameLength = 32;  // keeps PatientID within LO's 64

// ---------------------------------------------------------------- IDX files

absl::Status BadIdx(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("IDX file ", path, ": ", what));
}

// Whole file, gunzipped if it is gzip (zlib reads plain files transparently).
absl::StatusOr<std::string> ReadMaybeGzipped(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat("IDX file ", path, " not found"));
  }
  gzFile in = gzopen(path.c_str(), "rb");
  if (in == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot open IDX file ", path));
  }
  std::string data;
  std::vector<char> buf(1 << 20);
  int zerr = Z_OK;
  for (;;) {
    const int n = gzread(in, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      const std::string msg = gzerror(in, &zerr);
      gzclose(in);
      return BadIdx(path, absl::StrCat("cannot decompress: ", msg));
    }
    if (n == 0) break;
    data.append(buf.data(), static_cast<size_t>(n));
    if (data.size() > kMaxIdxBytes) {
      gzclose(in);
      return BadIdx(path, "larger than 1 GiB uncompressed");
    }
  }
  gzerror(in, &zerr);  // Z_BUF_ERROR: the gzip stream was cut short
  const int close_err = gzclose(in);
  if (zerr != Z_OK || close_err != Z_OK) return BadIdx(path, "truncated or corrupt gzip data");
  return data;
}

uint32_t BigEndian32(const std::string& data, size_t offset) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(data[offset + i]);
  return v;
}

// ------------------------------------------------------------ randomness

// Portable draws from mt19937_64 (see the file comment).
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, n), n > 0; rejection keeps it unbiased.
  uint64_t Below(uint64_t n) {
    const uint64_t max = std::numeric_limits<uint64_t>::max();
    const uint64_t limit = max - max % n;
    uint64_t x;
    do {
      x = engine_();
    } while (x >= limit);
    return x % n;
  }
  // Uniform in [lo, hi], lo <= hi.
  int Between(int lo, int hi) {
    return lo + static_cast<int>(Below(static_cast<uint64_t>(hi) - lo + 1));
  }
  // Uniform in the open interval (0, 1).
  double Open01() { return (static_cast<double>(engine_() >> 11) + 0.5) * 0x1.0p-53; }
  double Normal() {              // Box-Muller, one of the pair
    const double u1 = Open01();  // separate statements: a fixed draw order
    const double u2 = Open01();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
  }
  // Gamma(shape, 1) by Marsaglia & Tsang (2000); shape > 0.
  double Gamma(double shape) {
    if (shape < 1.0) {
      const double g = Gamma(shape + 1.0);
      return g * std::pow(Open01(), 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      const double x = Normal();
      double v = 1.0 + c * x;
      if (v <= 0.0) continue;
      v = v * v * v;
      if (std::log(Open01()) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
    }
  }
  template <typename T>
  void Shuffle(std::vector<T>& v) {  // Fisher-Yates
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Below(i)]);
  }

 private:
  std::mt19937_64 engine_;
};

// ------------------------------------------------------------ options

bool IsValidSiteName(const std::string& site) {
  if (site.empty() || site.size() > kMaxSiteNameLength) return false;
  return std::all_of(site.begin(), site.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

absl::Status ValidateOptions(const DemoOptions& o) {
  if (o.out_dir.empty()) return absl::InvalidArgumentError("out_dir is empty");
  if (o.sites.empty()) return absl::InvalidArgumentError("no sites given");
  std::set<std::string> seen;
  for (const std::string& site : o.sites) {
    if (!IsValidSiteName(site)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "site name \"", site, "\" must be 1-", kMaxSiteNameLength, " characters of [a-z0-9-]"));
    }
    if (!seen.insert(site).second) {
      return absl::InvalidArgumentError(absl::StrCat("site \"", site, "\" given twice"));
    }
  }
  if (o.images_per_site < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("images_per_site must be at least 1, got ", o.images_per_site));
  }
  if (!(o.dirichlet_alpha > 0.0) || !std::isfinite(o.dirichlet_alpha)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dirichlet_alpha must be a positive number, got ", o.dirichlet_alpha));
  }
  if (o.min_images_per_patient < 1 || o.min_images_per_patient > o.max_images_per_patient) {
    return absl::InvalidArgumentError(
        absl::StrCat("images per patient must satisfy 1 <= min <= max, got min ",
                     o.min_images_per_patient, " max ", o.max_images_per_patient));
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------ partition

// The source indices of each site's images, in the order they are written.
std::vector<std::vector<size_t>> Partition(const MnistImages& src, const DemoOptions& o,
                                           Random& rng) {
  std::vector<size_t> order(src.count());
  std::iota(order.begin(), order.end(), size_t{0});
  rng.Shuffle(order);
  const size_t n = static_cast<size_t>(o.images_per_site);
  std::vector<std::vector<size_t>> sites(o.sites.size());
  if (!o.non_iid) {
    for (size_t s = 0; s < sites.size(); ++s) {
      sites[s].assign(order.begin() + s * n, order.begin() + (s + 1) * n);
    }
    return sites;
  }
  // Non-IID: a Dirichlet(alpha) label mix per site; labels are drawn without
  // replacement from shared pools, so an exhausted label passes its share on
  // to the labels that remain.
  std::array<std::vector<size_t>, kNumLabels> pools;
  for (size_t idx : order) pools[src.labels[idx]].push_back(idx);
  for (auto& site : sites) {
    std::array<double, kNumLabels> p;
    double sum = 0.0;
    for (double& x : p) sum += (x = rng.Gamma(o.dirichlet_alpha));
    for (double& x : p) x = sum > 0.0 ? x / sum : 0.0;
    for (size_t i = 0; i < n; ++i) {
      double total = 0.0;
      int available = 0;
      for (int l = 0; l < kNumLabels; ++l) {
        if (pools[l].empty()) continue;
        total += p[l];
        ++available;
      }
      // Tiny alphas can underflow every remaining share to 0: go uniform.
      const bool uniform = !(total > 0.0);
      double u = uniform ? static_cast<double>(rng.Below(available)) + 0.5 : rng.Open01() * total;
      int pick = -1;
      for (int l = 0; l < kNumLabels; ++l) {
        if (pools[l].empty()) continue;
        pick = l;  // the last available label absorbs rounding
        u -= uniform ? 1.0 : p[l];
        if (u < 0.0) break;
      }
      site.push_back(pools[pick].back());
      pools[pick].pop_back();
    }
  }
  return sites;
}

// ------------------------------------------------------------ patients

struct Scanner {
  const char* manufacturer;
  const char* model;
};
constexpr std::array<Scanner, 4> kScanners = {{{"Nordlys Medical", "NL-200"},
                                               {"Fjord Imaging", "FI Vista"},
                                               {"Aurora Systems", "AX-1"},
                                               {"Nordlys Medical", "NL-300"}}};
// Site s favours scanner s mod 4, then the next ones: the mix differs by site.
constexpr std::array<int, 4> kScannerWeights = {55, 25, 15, 5};

struct Patient {
  std::string id, name, sex, birth_date, age, study_date, study_time;
  std::string study_uid, series_uid;
  const Scanner* scanner = nullptr;
  std::vector<size_t> images;  // source indices
};

// A UID "2.25.<decimal UUID>" from SHA-256 of run_key and what.
std::string MakeUid(const std::string& run_key, absl::string_view what) {
  const crypto::Sha256Digest digest = crypto::Sha256(absl::StrCat(run_key, "|", what));
  std::array<uint8_t, 16> n;
  std::copy_n(digest.begin(), n.size(), n.begin());
  n[6] = static_cast<uint8_t>((n[6] & 0x0f) | 0x80);  // version 8
  n[8] = static_cast<uint8_t>((n[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string digits;  // long division by 10, least significant digit first
  bool nonzero = true;
  while (nonzero) {
    uint32_t rem = 0;
    nonzero = false;
    for (uint8_t& byte : n) {
      const uint32_t cur = rem * 256 + byte;
      byte = static_cast<uint8_t>(cur / 10);
      rem = cur % 10;
      nonzero = nonzero || byte != 0;
    }
    digits.push_back(static_cast<char>('0' + rem));
  }
  std::reverse(digits.begin(), digits.end());
  return absl::StrCat("2.25.", digits);
}

std::vector<Patient> MakePatients(const std::vector<size_t>& images, const std::string& site,
                                  size_t site_index, const std::string& run_key,
                                  const DemoOptions& o, Random& rng) {
  const std::string prefix = absl::AsciiStrToUpper(site);
  std::vector<Patient> patients;
  size_t pos = 0;
  for (int number = 1; pos < images.size(); ++number) {
    Patient p;
    const size_t take = std::min(
        static_cast<size_t>(rng.Between(o.min_images_per_patient, o.max_images_per_patient)),
        images.size() - pos);
    p.images.assign(images.begin() + pos, images.begin() + pos + take);
    pos += take;
    p.id = absl::StrFormat("%s-P%06d", prefix, number);
    p.name = absl::StrFormat("Demo^Patient%06d", number);
    p.sex = rng.Below(2) == 0 ? "F" : "M";
    // One draw per statement: argument evaluation order is unspecified.
    std::array<int, 9> d;
    const std::array<std::pair<int, int>, 9> ranges = {{{1935, 2005},
                                                        {1, 12},
                                                        {1, 28},
                                                        {2023, 2024},
                                                        {1, 12},
                                                        {1, 28},
                                                        {7, 17},
                                                        {0, 59},
                                                        {0, 59}}};
    for (size_t k = 0; k < d.size(); ++k) d[k] = rng.Between(ranges[k].first, ranges[k].second);
    const auto [by, bm, bd, sy, sm, sd, hh, mm, ss] = d;
    p.birth_date = absl::StrFormat("%04d%02d%02d", by, bm, bd);
    p.study_date = absl::StrFormat("%04d%02d%02d", sy, sm, sd);
    p.study_time = absl::StrFormat("%02d%02d%02d", hh, mm, ss);
    if (rng.Below(10) < 7) {  // most, not all, carry PatientAge
      const int age = sy - by - (std::make_pair(sm, sd) < std::make_pair(bm, bd) ? 1 : 0);
      p.age = absl::StrFormat("%03dY", age);
    }
    int w = static_cast<int>(rng.Below(100));
    for (size_t k = 0; k < kScanners.size(); ++k) {
      p.scanner = &kScanners[(site_index + k) % kScanners.size()];
      if ((w -= kScannerWeights[k]) < 0) break;
    }
    const std::string key = absl::StrCat(site, "/", number);
    p.study_uid = MakeUid(run_key, absl::StrCat("study/", key));
    p.series_uid = MakeUid(run_key, absl::StrCat("series/", key));
    patients.push_back(std::move(p));
  }
  return patients;
}

// ------------------------------------------------------------ writing

absl::Status Check(const OFCondition& cond, const std::string& path, absl::string_view what) {
  if (cond.good()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(path, ": ", what, ": ", cond.text()));
}

absl::Status WriteImage(const std::string& path, const Patient& p, const std::string& sop_uid,
                        int instance, const MnistImages& src, size_t index) {
  DcmFileFormat file;
  DcmDataset* ds = file.getDataset();
  const std::pair<DcmTagKey, std::string> strings[] = {
      {DCM_ImageType, "DERIVED\\SECONDARY"},
      {DCM_SOPClassUID, UID_SecondaryCaptureImageStorage},
      {DCM_SOPInstanceUID, sop_uid},
      {DCM_StudyDate, p.study_date},
      {DCM_StudyTime, p.study_time},
      {DCM_AccessionNumber, ""},
      {DCM_Modality, "OT"},
      {DCM_ConversionType, "WSD"},
      {DCM_Manufacturer, p.scanner->manufacturer},
      {DCM_ReferringPhysicianName, ""},
      {DCM_StudyDescription, "Tverr demo: Fashion-MNIST, synthetic patient"},
      {DCM_ManufacturerModelName, p.scanner->model},
      {DCM_PatientName, p.name},
      {DCM_PatientID, p.id},
      {DCM_PatientBirthDate, p.birth_date},
      {DCM_PatientSex, p.sex},
      {DCM_StudyInstanceUID, p.study_uid},
      {DCM_SeriesInstanceUID, p.series_uid},
      {DCM_StudyID, "1"},
      {DCM_SeriesNumber, "1"},
      {DCM_InstanceNumber, absl::StrCat(instance)},
      {DCM_PatientOrientation, ""},
      {DCM_PhotometricInterpretation, "MONOCHROME2"},
      {DCM_BurnedInAnnotation, "NO"},
  };
  for (const auto& [tag, value] : strings) {
    RETURN_IF_ERROR(
        Check(ds->putAndInsertString(tag, value.c_str()), path, tag.toString().c_str()));
  }
  if (!p.age.empty()) {
    RETURN_IF_ERROR(Check(ds->putAndInsertString(DCM_PatientAge, p.age.c_str()), path, "age"));
  }
  const std::pair<DcmTagKey, int> numbers[] = {
      {DCM_SamplesPerPixel, 1},     {DCM_Rows, src.rows}, {DCM_Columns, src.cols},
      {DCM_BitsAllocated, 8},       {DCM_BitsStored, 8},  {DCM_HighBit, 7},
      {DCM_PixelRepresentation, 0},
  };
  for (const auto& [tag, value] : numbers) {
    RETURN_IF_ERROR(Check(ds->putAndInsertUint16(tag, static_cast<Uint16>(value)), path,
                          tag.toString().c_str()));
  }
  const size_t size = static_cast<size_t>(src.rows) * src.cols;
  RETURN_IF_ERROR(Check(ds->putAndInsertUint8Array(DCM_PixelData, &src.pixels[index * size],
                                                   static_cast<unsigned long>(size)),
                        path, "pixel data"));
  return Check(file.saveFile(path.c_str(), EXS_LittleEndianExplicit, EET_ExplicitLength,
                             EGL_recalcGL, EPD_noChange, 0, 0, EWM_createNewMeta),
               path, "write");
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

absl::Status MakeDirectories(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::ErrnoToStatus(ec.value(), absl::StrCat("creating ", dir.string()));
  return absl::OkStatus();
}

// Writes one site's files and returns its summary.
absl::StatusOr<SiteSummary> WriteSite(const fs::path& site_dir, const std::string& site,
                                      const std::vector<Patient>& patients,
                                      const std::string& run_key, const MnistImages& src) {
  SiteSummary summary;
  summary.site = site;
  summary.patients = static_cast<int>(patients.size());
  summary.per_label.assign(kNumLabels, 0);
  std::string csv = "sop_instance_uid,label\n";
  for (const Patient& p : patients) {
    const fs::path dir = site_dir / "dicom" / p.study_uid;
    RETURN_IF_ERROR(MakeDirectories(dir));
    for (size_t i = 0; i < p.images.size(); ++i) {
      const std::string sop_uid =
          MakeUid(run_key, absl::StrCat("sop/", site, "/", p.id, "/", i + 1));
      const std::string path = (dir / (sop_uid + ".dcm")).string();
      RETURN_IF_ERROR(WriteImage(path, p, sop_uid, static_cast<int>(i) + 1, src, p.images[i]));
      const int label = src.labels[p.images[i]];
      absl::StrAppend(&csv, sop_uid, ",", CsvField(FashionMnistLabels()[label]), "\n");
      ++summary.per_label[label];
      ++summary.images;
    }
  }
  const std::string csv_path = (site_dir / "labels.csv").string();
  std::ofstream out(csv_path, std::ios::binary | std::ios::trunc);
  out << csv;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", csv_path));
  return summary;
}

}  // namespace

const std::vector<std::string>& FashionMnistLabels() {
  static const auto* const kLabels =
      new std::vector<std::string>{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return *kLabels;
}

absl::StatusOr<MnistImages> ReadIdx(const std::string& images_path,
                                    const std::string& labels_path) {
  ASSIGN_OR_RETURN(const std::string images, ReadMaybeGzipped(images_path));
  ASSIGN_OR_RETURN(const std::string labels, ReadMaybeGzipped(labels_path));
  if (images.size() < 16) return BadIdx(images_path, "too short for an image header");
  if (const uint32_t magic = BigEndian32(images, 0); magic != kImageMagic) {
    return BadIdx(images_path, absl::StrCat("magic number ", magic, ", want ", kImageMagic,
                                            " for an image file"));
  }
  const uint32_t count = BigEndian32(images, 4);
  const uint32_t rows = BigEndian32(images, 8);
  const uint32_t cols = BigEndian32(images, 12);
  if (rows == 0 || cols == 0 || rows > 65535 || cols > 65535) {
    return BadIdx(images_path, absl::StrCat("image size ", rows, "x", cols, " out of range"));
  }
  const uint64_t image_size = uint64_t{rows} * cols;
  if ((images.size() - 16) % image_size != 0 || (images.size() - 16) / image_size != count) {
    return BadIdx(images_path, absl::StrCat("header says ", count, " images of ", rows, "x", cols,
                                            " but the data holds ", images.size() - 16, " bytes"));
  }
  if (labels.size() < 8) return BadIdx(labels_path, "too short for a label header");
  if (const uint32_t magic = BigEndian32(labels, 0); magic != kLabelMagic) {
    return BadIdx(labels_path, absl::StrCat("magic number ", magic, ", want ", kLabelMagic,
                                            " for a label file"));
  }
  const uint32_t label_count = BigEndian32(labels, 4);
  if (labels.size() - 8 != label_count) {
    return BadIdx(labels_path, absl::StrCat("header says ", label_count,
                                            " labels but the data holds ", labels.size() - 8));
  }
  if (label_count != count) {
    return absl::InvalidArgumentError(absl::StrCat("IDX files ", images_path, " and ", labels_path,
                                                   " disagree: ", count, " images, ", label_count,
                                                   " labels"));
  }
  MnistImages out;
  out.rows = static_cast<int>(rows);
  out.cols = static_cast<int>(cols);
  out.pixels.assign(images.begin() + 16, images.end());
  out.labels.assign(labels.begin() + 8, labels.end());
  for (size_t i = 0; i < out.labels.size(); ++i) {
    if (out.labels[i] >= kNumLabels) {
      return BadIdx(labels_path, absl::StrCat("label ", out.labels[i], " at index ", i,
                                              " outside 0..", kNumLabels - 1));
    }
  }
  return out;
}

absl::StatusOr<std::vector<SiteSummary>> WriteDemoSites(const DemoOptions& options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  const fs::path root(options.out_dir);
  for (const std::string& site : options.sites) {
    std::error_code ec;
    if (fs::exists(root / site, ec) && !fs::is_empty(root / site, ec)) {
      return absl::FailedPreconditionError(absl::StrCat("site directory ", (root / site).string(),
                                                        " is not empty; remove it first"));
    }
  }
  const std::string prefix = options.use_test_set ? "t10k" : "train";
  ASSIGN_OR_RETURN(const MnistImages src,
                   ReadIdx(absl::StrCat(options.mnist_dir, "/", prefix, "-images-idx3-ubyte.gz"),
                           absl::StrCat(options.mnist_dir, "/", prefix, "-labels-idx1-ubyte.gz")));
  const uint64_t wanted = uint64_t{options.sites.size()} * options.images_per_site;
  if (wanted > src.count()) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.sites.size(), " sites x ", options.images_per_site, " images need ", wanted,
        " images but the ", options.use_test_set ? "test" : "training", " set has ", src.count()));
  }

  // Everything that decides the content, so that other options never reuse
  // a UID for a different image.
  const std::string run_key = absl::StrCat(
      "tverr-demo-v1|seed=", options.seed, "|test=", options.use_test_set ? 1 : 0,
      "|non_iid=", options.non_iid ? 1 : 0,
      options.non_iid ? absl::StrFormat("|alpha=%.17g", options.dirichlet_alpha) : "",
      "|n=", options.images_per_site, "|per_patient=", options.min_images_per_patient, "-",
      options.max_images_per_patient, "|sites=", absl::StrJoin(options.sites, ","));
  Random rng(options.seed);
  const std::vector<std::vector<size_t>> parts = Partition(src, options, rng);
  std::vector<std::vector<Patient>> patients;
  for (size_t s = 0; s < parts.size(); ++s) {
    patients.push_back(MakePatients(parts[s], options.sites[s], s, run_key, options, rng));
  }
  std::vector<SiteSummary> summaries;
  for (size_t s = 0; s < parts.size(); ++s) {
    ASSIGN_OR_RETURN(SiteSummary summary, WriteSite(root / options.sites[s], options.sites[s],
                                                    patients[s], run_key, src));
    summaries.push_back(std::move(summary));
  }
  return summaries;
}

}  // namespace tverr::node::demo
