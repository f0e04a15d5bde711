#include "node/data/demo/demo_dataset.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "tests/support/temp_dir.h"

namespace tverr::node::demo {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tverr::testing::ReadFileOrEmpty;
using tverr::testing::TempDir;
using tverr::testing::WriteFileOrDie;

constexpr char kMnistDir[] = "/usr/share/datasets/fashion-mnist";

const MnistImages& TestSet() {
  static const MnistImages* const kImages = [] {
    auto read = ReadIdx(std::string(kMnistDir) + "/t10k-images-idx3-ubyte.gz",
                        std::string(kMnistDir) + "/t10k-labels-idx1-ubyte.gz");
    EXPECT_TRUE(read.ok()) << read.status();
    return new MnistImages(read.ok() ? *std::move(read) : MnistImages());
  }();
  return *kImages;
}

DemoOptions SmallOptions(const std::string& out_dir) {
  DemoOptions o;
  o.out_dir = out_dir;
  o.use_test_set = true;
  o.sites = {"site-a", "site-b", "site-c"};
  o.images_per_site = 60;
  o.seed = 7;
  return o;
}

// ------------------------------------------------------------ helpers

std::string Be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}
std::string IdxImages(uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols,
                      size_t data_bytes) {
  std::string s = Be32(magic) + Be32(count) + Be32(rows) + Be32(cols);
  for (size_t i = 0; i < data_bytes; ++i) s.push_back(static_cast<char>(i));
  return s;
}
std::string IdxLabels(uint32_t magic, uint32_t count, std::string labels) {
  return Be32(magic) + Be32(count) + labels;
}

bool IsValidUid(const std::string& uid) {
  if (uid.empty() || uid.size() > 64) return false;
  for (absl::string_view part : absl::StrSplit(uid, '.')) {
    if (part.empty() || (part.size() > 1 && part[0] == '0')) return false;
    if (!std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
  }
  return true;
}

// sop_instance_uid -> label name, in file order; checks the header.
std::vector<std::pair<std::string, std::string>> ReadLabels(const std::string& path) {
  std::istringstream in(ReadFileOrEmpty(path));
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "sop_instance_uid,label") << path;
  std::vector<std::pair<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> fields = absl::StrSplit(line, ',');
    EXPECT_EQ(fields.size(), 2u) << line;
    if (fields.size() == 2) rows.emplace_back(fields[0], fields[1]);
  }
  return rows;
}

// Every file under dir: relative path -> bytes.
std::map<std::string, std::string> Tree(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      files[fs::relative(entry.path(), dir).string()] = ReadFileOrEmpty(entry.path().string());
    }
  }
  return files;
}

struct LoadedImage {
  std::string site, dir_name, file_stem, transfer_syntax, media_sop_uid;
  std::map<std::string, std::string> text;  // by tag name, for string tags
  std::map<std::string, Uint16> numbers;
  std::string pixels;
};

LoadedImage Load(const std::string& site, const fs::path& path) {
  LoadedImage out;
  out.site = site;
  out.dir_name = path.parent_path().filename().string();
  out.file_stem = path.stem().string();
  DcmFileFormat file;
  const OFCondition loaded = file.loadFile(path.string().c_str());
  EXPECT_TRUE(loaded.good()) << path << ": " << loaded.text();
  OFString value;
  file.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, value);
  out.transfer_syntax = value.c_str();
  file.getMetaInfo()->findAndGetOFString(DCM_MediaStorageSOPInstanceUID, value);
  out.media_sop_uid = value.c_str();
  DcmDataset* ds = file.getDataset();
  const std::pair<const char*, DcmTagKey> strings[] = {
      {"SOPClassUID", DCM_SOPClassUID},
      {"SOPInstanceUID", DCM_SOPInstanceUID},
      {"StudyInstanceUID", DCM_StudyInstanceUID},
      {"SeriesInstanceUID", DCM_SeriesInstanceUID},
      {"Modality", DCM_Modality},
      {"ConversionType", DCM_ConversionType},
      {"PhotometricInterpretation", DCM_PhotometricInterpretation},
      {"PatientID", DCM_PatientID},
      {"PatientName", DCM_PatientName},
      {"PatientSex", DCM_PatientSex},
      {"PatientBirthDate", DCM_PatientBirthDate},
      {"PatientAge", DCM_PatientAge},
      {"StudyDate", DCM_StudyDate},
      {"Manufacturer", DCM_Manufacturer},
      {"ManufacturerModelName", DCM_ManufacturerModelName},
      {"InstanceNumber", DCM_InstanceNumber},
  };
  for (const auto& [name, tag] : strings) {
    if (ds->findAndGetOFString(tag, value).good()) out.text[name] = value.c_str();
  }
  const std::pair<const char*, DcmTagKey> numbers[] = {
      {"SamplesPerPixel", DCM_SamplesPerPixel},
      {"Rows", DCM_Rows},
      {"Columns", DCM_Columns},
      {"BitsAllocated", DCM_BitsAllocated},
      {"BitsStored", DCM_BitsStored},
      {"HighBit", DCM_HighBit},
      {"PixelRepresentation", DCM_PixelRepresentation},
  };
  for (const auto& [name, tag] : numbers) {
    Uint16 v = 0;
    if (ds->findAndGetUint16(tag, v).good()) out.numbers[name] = v;
  }
  const Uint8* pixels = nullptr;
  unsigned long count = 0;
  if (ds->findAndGetUint8Array(DCM_PixelData, pixels, &count).good() && pixels != nullptr) {
    out.pixels.assign(reinterpret_cast<const char*>(pixels), count);
  }
  return out;
}

std::vector<LoadedImage> LoadSite(const std::string& out_dir, const std::string& site) {
  std::vector<LoadedImage> images;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(out_dir) / site / "dicom")) {
    if (entry.is_regular_file()) {
      EXPECT_EQ(entry.path().extension(), ".dcm") << entry.path();
      images.push_back(Load(site, entry.path()));
    }
  }
  return images;
}

// Total variation distance between two sites' label distributions.
double TotalVariation(const SiteSummary& a, const SiteSummary& b) {
  double tv = 0;
  for (size_t l = 0; l < a.per_label.size(); ++l) {
    tv += std::abs(double(a.per_label[l]) / a.images - double(b.per_label[l]) / b.images);
  }
  return tv / 2;
}

// ------------------------------------------------------------ ReadIdx

TEST(FashionMnistLabelsTest, TenClassesInLabelOrder) {
  EXPECT_THAT(FashionMnistLabels(),
              ::testing::ElementsAre("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"));
}

TEST(ReadIdxTest, ReadsDebianTestSet) {
  const MnistImages& images = TestSet();
  ASSERT_EQ(images.count(), 10000u);
  EXPECT_EQ(images.rows, 28);
  EXPECT_EQ(images.cols, 28);
  EXPECT_EQ(images.pixels.size(), 10000u * 28 * 28);
  std::vector<int> per_label(10);
  for (uint8_t label : images.labels) {
    ASSERT_LT(label, 10);
    ++per_label[label];
  }
  EXPECT_THAT(per_label, ::testing::Each(1000));  // the test set is balanced
  EXPECT_NE(*std::max_element(images.pixels.begin(), images.pixels.end()), 0);
}

TEST(ReadIdxTest, ReadsUncompressedFiles) {
  TempDir dir;
  WriteFileOrDie(dir.Sub("img"), IdxImages(2051, 2, 2, 3, 12));
  WriteFileOrDie(dir.Sub("lbl"), IdxLabels(2049, 2, std::string("\x09\x00", 2)));
  const auto read = ReadIdx(dir.Sub("img"), dir.Sub("lbl"));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->rows, 2);
  EXPECT_EQ(read->cols, 3);
  EXPECT_THAT(read->pixels, ::testing::ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
  EXPECT_THAT(read->labels, ::testing::ElementsAre(9, 0));
}

struct BadIdxCase {
  const char* name;
  std::string images;
  std::string labels;
  bool blame_labels;  // which file the message must name
};

TEST(ReadIdxTest, RejectsMalformedFilesNamingThem) {
  const std::string two_labels("\x01\x02", 2);
  const BadIdxCase cases[] = {
      {"image magic", IdxImages(2049, 2, 2, 3, 12), IdxLabels(2049, 2, two_labels), false},
      {"label magic", IdxImages(2051, 2, 2, 3, 12), IdxLabels(2051, 2, two_labels), true},
      {"short image header", "\x00\x00\x08", IdxLabels(2049, 2, two_labels), false},
      {"short label header", IdxImages(2051, 2, 2, 3, 12), "\x00", true},
      {"truncated images", IdxImages(2051, 2, 2, 3, 11), IdxLabels(2049, 2, two_labels), false},
      {"extra image bytes", IdxImages(2051, 2, 2, 3, 13), IdxLabels(2049, 2, two_labels), false},
      {"zero rows", IdxImages(2051, 2, 0, 3, 0), IdxLabels(2049, 2, two_labels), false},
      {"truncated labels", IdxImages(2051, 2, 2, 3, 12), IdxLabels(2049, 3, two_labels), true},
      {"count mismatch", IdxImages(2051, 3, 2, 3, 18), IdxLabels(2049, 2, two_labels), true},
      {"label out of range", IdxImages(2051, 2, 2, 3, 12),
       IdxLabels(2049, 2, std::string("\x01\x0a", 2)), true},
      {"corrupt gzip", std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage", 17),
       IdxLabels(2049, 2, two_labels), false},
  };
  for (const BadIdxCase& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    WriteFileOrDie(dir.Sub("images.idx"), c.images);
    WriteFileOrDie(dir.Sub("labels.idx"), c.labels);
    const auto read = ReadIdx(dir.Sub("images.idx"), dir.Sub("labels.idx"));
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument) << read.status();
    EXPECT_THAT(read.status().message(),
                HasSubstr(c.blame_labels ? dir.Sub("labels.idx") : dir.Sub("images.idx")));
  }
}

TEST(ReadIdxTest, TruncatedGzipIsRejected) {
  TempDir dir;
  const std::string gz = ReadFileOrEmpty(std::string(kMnistDir) + "/t10k-labels-idx1-ubyte.gz");
  ASSERT_GT(gz.size(), 100u);
  WriteFileOrDie(dir.Sub("labels.gz"), gz.substr(0, gz.size() / 2));
  const auto read =
      ReadIdx(std::string(kMnistDir) + "/t10k-images-idx3-ubyte.gz", dir.Sub("labels.gz"));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument) << read.status();
  EXPECT_THAT(read.status().message(), HasSubstr(dir.Sub("labels.gz")));
}

TEST(ReadIdxTest, MissingFileIsNotFound) {
  TempDir dir;
  const auto read = ReadIdx(dir.Sub("nope-images"), dir.Sub("nope-labels"));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(read.status().message(), HasSubstr(dir.Sub("nope-images")));
}

// ------------------------------------------------------------ WriteDemoSites

TEST(WriteDemoSitesTest, WritesSecondaryCaptureFilesMatchingLabelsCsv) {
  TempDir dir;
  const DemoOptions options = SmallOptions(dir.path());
  const auto summaries = WriteDemoSites(options);
  ASSERT_TRUE(summaries.ok()) << summaries.status();
  ASSERT_EQ(summaries->size(), 3u);

  // Source pixels -> how often each occurs and with which labels.
  const MnistImages& src = TestSet();
  std::map<std::string, std::pair<int, std::set<std::string>>> source;
  for (size_t i = 0; i < src.count(); ++i) {
    auto& entry =
        source[std::string(src.pixels.begin() + i * 784, src.pixels.begin() + (i + 1) * 784)];
    ++entry.first;
    entry.second.insert(FashionMnistLabels()[src.labels[i]]);
  }
  std::map<std::string, int> used;
  std::set<std::string> all_sops;
  const std::set<std::pair<std::string, std::string>> scanners = {{"Nordlys Medical", "NL-200"},
                                                                  {"Fjord Imaging", "FI Vista"},
                                                                  {"Aurora Systems", "AX-1"},
                                                                  {"Nordlys Medical", "NL-300"}};
  int with_age = 0;
  std::set<std::string> sexes;
  for (size_t s = 0; s < options.sites.size(); ++s) {
    const std::string& site = options.sites[s];
    const SiteSummary& summary = (*summaries)[s];
    EXPECT_EQ(summary.site, site);
    EXPECT_EQ(summary.images, 60);
    ASSERT_EQ(summary.per_label.size(), 10u);

    const auto labels = ReadLabels(dir.path() + "/" + site + "/labels.csv");
    ASSERT_EQ(labels.size(), 60u);
    std::map<std::string, std::string> label_of(labels.begin(), labels.end());
    std::vector<int> csv_counts(10);
    for (const auto& [uid, label] : labels) {
      const auto& names = FashionMnistLabels();
      const auto it = std::find(names.begin(), names.end(), label);
      ASSERT_NE(it, names.end()) << label;
      ++csv_counts[it - names.begin()];
    }
    EXPECT_EQ(csv_counts, summary.per_label);

    const std::vector<LoadedImage> images = LoadSite(dir.path(), site);
    ASSERT_EQ(images.size(), 60u);
    std::set<std::string> patients;
    for (const LoadedImage& image : images) {
      SCOPED_TRACE(site + "/" + image.dir_name + "/" + image.file_stem);
      const std::string sop = image.text.at("SOPInstanceUID");
      EXPECT_TRUE(IsValidUid(sop));
      EXPECT_TRUE(IsValidUid(image.text.at("StudyInstanceUID")));
      EXPECT_TRUE(IsValidUid(image.text.at("SeriesInstanceUID")));
      EXPECT_EQ(image.file_stem, sop);
      EXPECT_EQ(image.media_sop_uid, sop);
      EXPECT_TRUE(all_sops.insert(sop).second) << "duplicate SOP Instance UID";
      EXPECT_EQ(image.transfer_syntax, UID_LittleEndianExplicitTransferSyntax);
      EXPECT_EQ(image.text.at("SOPClassUID"), UID_SecondaryCaptureImageStorage);
      EXPECT_EQ(image.text.at("Modality"), "OT");
      EXPECT_EQ(image.text.at("ConversionType"), "WSD");
      EXPECT_EQ(image.text.at("PhotometricInterpretation"), "MONOCHROME2");
      const std::map<std::string, Uint16> want_numbers = {
          {"SamplesPerPixel", 1}, {"Rows", 28},   {"Columns", 28},           {"BitsAllocated", 8},
          {"BitsStored", 8},      {"HighBit", 7}, {"PixelRepresentation", 0}};
      EXPECT_EQ(image.numbers, want_numbers);

      const std::string& patient_id = image.text.at("PatientID");
      // Folders are named by study, never by patient.
      EXPECT_EQ(image.dir_name, image.text.at("StudyInstanceUID"));
      EXPECT_TRUE(absl::StartsWith(patient_id, absl::AsciiStrToUpper(site) + "-P"));
      EXPECT_TRUE(absl::StartsWith(image.text.at("PatientName"), "Demo^Patient"));
      patients.insert(patient_id);
      sexes.insert(image.text.at("PatientSex"));
      EXPECT_THAT(image.text.at("PatientSex"), ::testing::AnyOf("M", "F"));
      const std::string& birth = image.text.at("PatientBirthDate");
      ASSERT_EQ(birth.size(), 8u);
      EXPECT_GE(birth, "19350101");
      EXPECT_LE(birth, "20051231");
      const std::string& study_date = image.text.at("StudyDate");
      EXPECT_GE(study_date, "20230101");
      EXPECT_LE(study_date, "20241231");
      if (image.text.count("PatientAge")) {
        ++with_age;
        const std::string& age = image.text.at("PatientAge");
        ASSERT_EQ(age.size(), 4u);
        EXPECT_EQ(age[3], 'Y');
        const int years = std::stoi(age.substr(0, 3));
        const int year_diff = std::stoi(study_date.substr(0, 4)) - std::stoi(birth.substr(0, 4));
        EXPECT_TRUE(years == year_diff || years == year_diff - 1) << age;
      }
      EXPECT_EQ(
          scanners.count({image.text.at("Manufacturer"), image.text.at("ManufacturerModelName")}),
          1u);

      // The pixels are an unused source image of the class labels.csv names.
      ASSERT_EQ(image.pixels.size(), 784u);
      ASSERT_EQ(label_of.count(sop), 1u) << "file missing from labels.csv";
      const auto found = source.find(image.pixels);
      ASSERT_NE(found, source.end()) << "pixels are not a source image";
      EXPECT_EQ(found->second.second.count(label_of[sop]), 1u) << label_of[sop];
      EXPECT_LE(++used[image.pixels], found->second.first) << "source image used twice";
    }
    EXPECT_EQ(static_cast<int>(patients.size()), summary.patients);
    // 2..6 images per patient; only the last one may be smaller.
    EXPECT_GE(summary.patients, 10);
    EXPECT_LE(summary.patients, 31);
  }
  EXPECT_GT(with_age, 0);
  EXPECT_LT(with_age, 180);
  EXPECT_EQ(sexes, (std::set<std::string>{"F", "M"}));
}

TEST(WriteDemoSitesTest, PatientsShareStudyAndNeverSpanSites) {
  TempDir dir;
  const DemoOptions options = SmallOptions(dir.path());
  ASSERT_TRUE(WriteDemoSites(options).ok());
  struct PatientInfo {
    std::string site, name, sex, birth, study, series, scanner;
    std::set<std::string> instance_numbers;
    int images = 0;
  };
  std::map<std::string, PatientInfo> patients;
  std::map<std::string, std::string> patient_of_study;
  std::map<std::string, int> small_patients_by_site;
  for (const std::string& site : options.sites) {
    for (const LoadedImage& image : LoadSite(dir.path(), site)) {
      const std::string& id = image.text.at("PatientID");
      const PatientInfo info{
          site,
          image.text.at("PatientName"),
          image.text.at("PatientSex"),
          image.text.at("PatientBirthDate"),
          image.text.at("StudyInstanceUID"),
          image.text.at("SeriesInstanceUID"),
          image.text.at("Manufacturer") + "/" + image.text.at("ManufacturerModelName"),
          {},
          0};
      auto [it, inserted] = patients.emplace(id, info);
      PatientInfo& p = it->second;
      if (!inserted) {
        EXPECT_EQ(p.site, info.site) << id << " appears at two sites";
        EXPECT_EQ(p.name, info.name) << id;
        EXPECT_EQ(p.sex, info.sex) << id;
        EXPECT_EQ(p.birth, info.birth) << id;
        EXPECT_EQ(p.study, info.study) << id;
        EXPECT_EQ(p.series, info.series) << id;
        EXPECT_EQ(p.scanner, info.scanner) << id;
      }
      ++p.images;
      EXPECT_TRUE(p.instance_numbers.insert(image.text.at("InstanceNumber")).second);
      EXPECT_EQ(patient_of_study.emplace(info.study, id).first->second, id)
          << "study shared by two patients";
    }
  }
  for (const auto& [id, p] : patients) {
    EXPECT_NE(p.study, p.series);
    EXPECT_GE(p.images, 1) << id;
    EXPECT_LE(p.images, 6) << id;
    if (p.images < options.min_images_per_patient) ++small_patients_by_site[p.site];
  }
  for (const auto& [site, small] : small_patients_by_site) EXPECT_LE(small, 1) << site;
}

TEST(WriteDemoSitesTest, OneImagePerPatientWhenMinAndMaxAreOne) {
  TempDir dir;
  DemoOptions options = SmallOptions(dir.path());
  options.min_images_per_patient = options.max_images_per_patient = 1;
  const auto summaries = WriteDemoSites(options);
  ASSERT_TRUE(summaries.ok()) << summaries.status();
  for (const SiteSummary& s : *summaries) EXPECT_EQ(s.patients, s.images);
}

TEST(WriteDemoSitesTest, SameSeedWritesIdenticalBytesOtherSeedDoesNot) {
  TempDir first, second, third;
  ASSERT_TRUE(WriteDemoSites(SmallOptions(first.path())).ok());
  ASSERT_TRUE(WriteDemoSites(SmallOptions(second.path())).ok());
  DemoOptions other = SmallOptions(third.path());
  other.seed = 8;
  ASSERT_TRUE(WriteDemoSites(other).ok());

  const auto a = Tree(first.path());
  EXPECT_EQ(a.size(), 3u * 61);  // 60 images and labels.csv per site
  EXPECT_TRUE(a == Tree(second.path())) << "same seed wrote different files";
  for (const std::string& site : SmallOptions("").sites) {
    const std::string csv = "/" + site + "/labels.csv";
    EXPECT_EQ(ReadFileOrEmpty(first.path() + csv), ReadFileOrEmpty(second.path() + csv));
    EXPECT_NE(ReadFileOrEmpty(first.path() + csv), ReadFileOrEmpty(third.path() + csv));
  }
  // No UID is reused for the other seed's (different) images.
  for (const auto& [path, bytes] : Tree(third.path())) {
    if (!absl::EndsWith(path, "labels.csv")) {
      EXPECT_EQ(a.count(path), 0u) << path;
    }
  }
}

TEST(WriteDemoSitesTest, NonIidSkewsLabelsWhileIidStaysBalanced) {
  TempDir iid_dir, non_iid_dir, again_dir;
  DemoOptions iid = SmallOptions(iid_dir.path());
  iid.images_per_site = 500;
  const auto balanced = WriteDemoSites(iid);
  ASSERT_TRUE(balanced.ok()) << balanced.status();
  for (const SiteSummary& s : *balanced) {
    // Expected 50 per label; binomial sd ~6.7.
    for (int count : s.per_label) {
      EXPECT_GE(count, 25) << s.site;
      EXPECT_LE(count, 100) << s.site;
    }
  }
  for (size_t i = 0; i < balanced->size(); ++i) {
    for (size_t j = i + 1; j < balanced->size(); ++j) {
      EXPECT_LT(TotalVariation((*balanced)[i], (*balanced)[j]), 0.2);
    }
  }

  DemoOptions non_iid = SmallOptions(non_iid_dir.path());
  non_iid.images_per_site = 200;
  non_iid.non_iid = true;
  non_iid.dirichlet_alpha = 0.1;
  const auto skewed = WriteDemoSites(non_iid);
  ASSERT_TRUE(skewed.ok()) << skewed.status();
  double max_tv = 0;
  for (size_t i = 0; i < skewed->size(); ++i) {
    const SiteSummary& s = (*skewed)[i];
    EXPECT_EQ(s.images, 200);
    // Dirichlet(0.1) over 10 classes concentrates on a few labels and
    // leaves most of the others (nearly) empty; IID would give ~20 each.
    EXPECT_GE(*std::max_element(s.per_label.begin(), s.per_label.end()), 40) << s.site;
    EXPECT_GE(std::count_if(s.per_label.begin(), s.per_label.end(), [](int n) { return n < 5; }), 3)
        << s.site;
    for (size_t j = i + 1; j < skewed->size(); ++j) {
      max_tv = std::max(max_tv, TotalVariation(s, (*skewed)[j]));
    }
  }
  EXPECT_GT(max_tv, 0.5);

  non_iid.out_dir = again_dir.path();
  ASSERT_TRUE(WriteDemoSites(non_iid).ok());
  for (const std::string& site : non_iid.sites) {
    const std::string csv = "/" + site + "/labels.csv";
    EXPECT_EQ(ReadFileOrEmpty(non_iid_dir.path() + csv), ReadFileOrEmpty(again_dir.path() + csv));
  }
}

TEST(WriteDemoSitesTest, RejectsInvalidOptionsWithoutWriting) {
  const std::pair<const char*, std::function<void(DemoOptions&)>> cases[] = {
      {"alpha zero",
       [](DemoOptions& o) {
         o.non_iid = true;
         o.dirichlet_alpha = 0;
       }},
      {"alpha negative",
       [](DemoOptions& o) {
         o.non_iid = true;
         o.dirichlet_alpha = -1;
       }},
      {"alpha NaN",
       [](DemoOptions& o) {
         o.non_iid = true;
         o.dirichlet_alpha = std::nan("");
       }},
      {"alpha infinite",
       [](DemoOptions& o) {
         o.non_iid = true;
         o.dirichlet_alpha = HUGE_VAL;
       }},
      {"min zero", [](DemoOptions& o) { o.min_images_per_patient = 0; }},
      {"min above max",
       [](DemoOptions& o) {
         o.min_images_per_patient = 5;
         o.max_images_per_patient = 4;
       }},
      {"no sites", [](DemoOptions& o) { o.sites.clear(); }},
      {"duplicate site",
       [](DemoOptions& o) {
         o.sites = {"a", "b", "a"};
       }},
      {"upper case", [](DemoOptions& o) { o.sites = {"Site-A"}; }},
      {"underscore", [](DemoOptions& o) { o.sites = {"site_a"}; }},
      {"dot dot", [](DemoOptions& o) { o.sites = {".."}; }},
      {"slash", [](DemoOptions& o) { o.sites = {"a/b"}; }},
      {"empty name",
       [](DemoOptions& o) {
         o.sites = {"a", ""};
       }},
      {"too long", [](DemoOptions& o) { o.sites = {std::string(33, 'a')}; }},
      {"zero images", [](DemoOptions& o) { o.images_per_site = 0; }},
      {"negative images", [](DemoOptions& o) { o.images_per_site = -3; }},
      {"no out_dir", [](DemoOptions& o) { o.out_dir.clear(); }},
      {"more than the source", [](DemoOptions& o) { o.images_per_site = 3334; }},
  };
  for (const auto& [name, mutate] : cases) {
    SCOPED_TRACE(name);
    TempDir dir;
    DemoOptions options = SmallOptions(dir.path());
    mutate(options);
    const auto result = WriteDemoSites(options);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
    EXPECT_TRUE(fs::is_empty(dir.path()));
  }
}

TEST(WriteDemoSitesTest, MissingSourceIsNotFound) {
  TempDir dir;
  DemoOptions options = SmallOptions(dir.Sub("out"));
  options.mnist_dir = dir.Sub("no-such-dir");
  const auto result = WriteDemoSites(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(result.status().message(), HasSubstr("no-such-dir"));
}

TEST(WriteDemoSitesTest, RefusesNonEmptySiteDirectoryButAcceptsEmptyOne) {
  TempDir dir;
  fs::create_directories(dir.Sub("site-a"));
  fs::create_directories(dir.Sub("site-b"));
  WriteFileOrDie(dir.Sub("site-b/stale.dcm"), "old");
  const auto refused = WriteDemoSites(SmallOptions(dir.path()));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("site-b"));
  EXPECT_TRUE(fs::is_empty(dir.Sub("site-a")));
  EXPECT_FALSE(fs::exists(dir.Sub("site-c")));

  fs::remove(dir.Sub("site-b/stale.dcm"));
  EXPECT_TRUE(WriteDemoSites(SmallOptions(dir.path())).ok());
}

}  // namespace
}  // namespace tverr::node::demo
