// Loading a directory of DICOM files with a manifest: good files become
// examples, every kind of bad input is skipped, counted and named, patients
// stay within one split, the cache is used and repaired, and no patient
// identifier reaches a log line.
#include "node/data/dicom_directory_source.h"

#include <glog/logging.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "node/data/dicom_file.h"
#include "node/data/tensor_cache.h"
#include "tests/support/dicom_writer.h"
#include "tests/support/log_capture.h"
#include "tests/support/temp_dir.h"

namespace tverr::node {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

using CapturedLogs = testing::LogCapture;

constexpr int kPatients = 6;
constexpr int kImagesPerPatient = 4;

class DirectorySourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(tmp_.Sub("dicom"));
    std::string manifest = "sop_instance_uid,label\n";
    for (int p = 0; p < kPatients; ++p) {
      for (int i = 0; i < kImagesPerPatient; ++i) {
        testing::TestDicom d;
        d.rows = 8;
        d.cols = 8;
        d.pixels.assign(64, 0);
        for (int k = 0; k < 64; ++k) d.pixels[k] = (p * 37 + i * 11 + k * 5) % 1000;
        d.patient_id = absl::StrCat("PATIENT-ID-", 1000 + p);
        d.patient_name = absl::StrCat("Nordmann^Ola", p);
        d.patient_sex = p % 2 ? "M" : "F";
        d.manufacturer = p < 3 ? "Nordlys Medical" : "Fjord Imaging";
        // Some of the images compressed, as PACS exports often are.
        if (i == 1) d.syntax = p % 2 ? testing::TestSyntax::kJpegLossless : testing::TestSyntax::kRle;
        if (i == 2) d.syntax = testing::TestSyntax::kJpegLsLossless;
        std::string uid;
        // Folders named after the patient, as some PACS exports do: the
        // logs must still not show the IDs.
        fs::create_directories(tmp_.Sub(absl::StrCat("dicom/", d.patient_id)));
        ASSERT_TRUE(testing::WriteTestDicom(
                        tmp_.Sub(absl::StrCat("dicom/", d.patient_id, "/img", i, ".dcm")), d,
                        &uid)
                        .ok());
        patient_of_[uid] = p;
        absl::StrAppend(&manifest, uid, ",", (p + i) % 2 ? "pneumonia" : "normal", "\n");
      }
    }
    // Bad inputs, one of each.
    testing::TestDicom extra;
    extra.patient_id = "PATIENT-ID-9999";
    extra.patient_name = "Unlabelled^Kari";
    ASSERT_TRUE(testing::WriteTestDicom(tmp_.Sub("dicom/unlabelled.dcm"), extra).ok());
    extra.with_pixel_data = false;
    std::string no_pixels_uid;
    ASSERT_TRUE(
        testing::WriteTestDicom(tmp_.Sub("dicom/nopixels.dcm"), extra, &no_pixels_uid).ok());
    absl::StrAppend(&manifest, no_pixels_uid, ",normal\n");
    std::string full = testing::ReadFileOrEmpty(tmp_.Sub("dicom/PATIENT-ID-1000/img0.dcm"));
    testing::WriteFileOrDie(tmp_.Sub("dicom/truncated.dcm"), full.substr(0, full.size() - 40));
    fs::copy_file(tmp_.Sub("dicom/PATIENT-ID-1001/img0.dcm"),
                  tmp_.Sub("dicom/PATIENT-ID-1001/zz-duplicate.dcm"));
    // Hidden files and folders are not data; a dangling link is one bad
    // file, not a failed load.
    fs::create_directories(tmp_.Sub("dicom/.snapshot"));
    fs::copy_file(tmp_.Sub("dicom/PATIENT-ID-1002/img0.dcm"), tmp_.Sub("dicom/.snapshot/x.dcm"));
    fs::create_symlink(tmp_.Sub("dicom/gone.dcm"), tmp_.Sub("dicom/dangling.dcm"));
    testing::WriteFileOrDie(tmp_.Sub("dicom/README.txt"), "exported by the research PACS\n");
    absl::StrAppend(&manifest, "1.2.826.0.1.3680043.10.99.1,normal\n");  // no such file
    absl::StrAppend(&manifest, "1.2.826.0.1.3680043.10.99.2,tumour\n");  // unknown label
    testing::WriteFileOrDie(tmp_.Sub("labels.csv"), manifest);
  }

  DirectorySourceOptions Options(bool cache = true) {
    DirectorySourceOptions o;
    o.source.set_directory(tmp_.Sub("dicom"));
    o.source.set_manifest(tmp_.Sub("labels.csv"));
    o.input.set_width(8);
    o.input.set_height(8);
    o.input.set_channels(1);
    o.labels = {"normal", "pneumonia"};
    o.fractions.set_train(0.5);
    o.fractions.set_validation(0.25);
    o.fractions.set_test(0.25);
    o.split_salt = "run-1";
    if (cache) o.cache_dir = tmp_.Sub("cache");
    o.threads = 2;
    return o;
  }

  std::map<std::string, std::vector<float>> AllPixels(const DataSource& source) {
    std::map<std::string, std::vector<float>> out;
    for (size_t i = 0; i < source.Size(); ++i) {
      auto e = source.Get(i);
      EXPECT_TRUE(e.ok()) << e.status();
      if (e.ok()) out[e->sop_instance_uid] = e->pixels;
    }
    return out;
  }

  testing::TempDir tmp_;
  std::map<std::string, int> patient_of_;  // uid -> patient
};

TEST_F(DirectorySourceTest, LoadsGoodFilesAndReportsEachBadInput) {
  CapturedLogs logs;
  auto source = DicomDirectorySource::Open(Options());
  ASSERT_TRUE(source.ok()) << source.status();
  const LoadReport& r = (*source)->report();
  EXPECT_EQ((*source)->Size(), size_t{kPatients * kImagesPerPatient});
  EXPECT_EQ(r.examples, kPatients * kImagesPerPatient);
  EXPECT_EQ(r.files_seen, kPatients * kImagesPerPatient + 6);
  EXPECT_EQ(r.unlabelled, 1);
  const std::map<std::string, int64_t> expected = {
      {"truncated_or_malformed", 1},     {"not_dicom", 1},        {"no_pixel_data", 1},
      {"duplicate_sop_instance_uid", 1}, {"missing_instance", 2}, {"manifest_row", 1},
      {"unreadable", 1}};
  EXPECT_EQ(r.problems, expected);
  std::set<std::string> paths;
  for (const LoadIssue& issue : r.issues) {
    paths.insert(issue.path);
    // What may be logged never carries the path.
    EXPECT_THAT(issue.where, ::testing::Not(HasSubstr("PATIENT")));
  }
  EXPECT_TRUE(paths.count("truncated.dcm"));
  EXPECT_TRUE(paths.count("README.txt"));
  EXPECT_TRUE(paths.count("dangling.dcm"));
  EXPECT_TRUE(paths.count("PATIENT-ID-1001/zz-duplicate.dcm"));

  // Examples carry label, split and subgroups; the summary counts them.
  auto e = (*source)->Get(0);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->pixels.size(), 64u);
  EXPECT_TRUE(e->label == 0 || e->label == 1);
  EXPECT_EQ((*source)->summary().counts.at("manufacturer").at("Nordlys Medical"),
            3 * kImagesPerPatient);
  EXPECT_EQ((*source)->Get(10000).status().code(), absl::StatusCode::kOutOfRange);

  // Nothing identifying in the logs.
  std::string text = logs.text();
  EXPECT_THAT(text, HasSubstr("skipping file "));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("PATIENT-ID")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("Nordmann")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("Unlabelled^Kari")));
}

TEST_F(DirectorySourceTest, PatientsNeverSpanTwoSplitsAndSplitsAreDeterministic) {
  auto a = DicomDirectorySource::Open(Options(/*cache=*/false));
  auto b = DicomDirectorySource::Open(Options(/*cache=*/false));
  ASSERT_TRUE(a.ok() && b.ok());
  std::map<int, std::set<Split>> splits_of_patient;
  std::map<std::string, Split> first;
  for (size_t i = 0; i < (*a)->Size(); ++i) {
    Example e = *(*a)->Get(i);
    splits_of_patient[patient_of_.at(e.sop_instance_uid)].insert(e.split);
    first[e.sop_instance_uid] = e.split;
  }
  for (const auto& [patient, splits] : splits_of_patient) {
    EXPECT_EQ(splits.size(), 1u) << "patient " << patient;
  }
  for (size_t i = 0; i < (*b)->Size(); ++i) {
    Example e = *(*b)->Get(i);
    EXPECT_EQ(first.at(e.sop_instance_uid), e.split);
  }
  size_t total = 0;
  for (Split s : {Split::kTrain, Split::kValidation, Split::kTest}) {
    total += (*a)->IndicesOf(s).size();
  }
  EXPECT_EQ(total, (*a)->Size());
  EXPECT_EQ((*a)->summary().fingerprint, (*b)->summary().fingerprint);

  DirectorySourceOptions other = Options(false);
  other.split_salt = "run-2";
  auto c = DicomDirectorySource::Open(other);
  ASSERT_TRUE(c.ok());
  EXPECT_NE((*c)->summary().fingerprint, (*a)->summary().fingerprint)
      << "with 6 patients, a new salt should move at least one";
}

TEST_F(DirectorySourceTest, ManifestSplitIsHonouredPerPatientAndConflictsAreLeftOut) {
  std::string manifest = "sop_instance_uid,label,split\n";
  int patient1_rows = 0;
  for (const auto& [uid, patient] : patient_of_) {
    std::string split = patient == 0 ? "test" : "";
    // Patient 1 is put into two splits: all of its images must be dropped.
    if (patient == 1) split = patient1_rows++ % 2 ? "train" : "validation";
    absl::StrAppend(&manifest, uid, ",normal,", split, "\n");
  }
  testing::WriteFileOrDie(tmp_.Sub("labels.csv"), manifest);
  auto s = DicomDirectorySource::Open(Options(false));
  ASSERT_TRUE(s.ok());
  std::set<int> present;
  for (size_t i = 0; i < (*s)->Size(); ++i) {
    Example e = *(*s)->Get(i);
    int patient = patient_of_.at(e.sop_instance_uid);
    present.insert(patient);
    if (patient == 0) EXPECT_EQ(e.split, Split::kTest);
  }
  EXPECT_EQ((*s)->report().problems.at("patient_in_two_splits"), 1);
  EXPECT_EQ(present.count(1), 0u);
  EXPECT_EQ((*s)->Size(), size_t((kPatients - 1) * kImagesPerPatient));
}

TEST_F(DirectorySourceTest, SecondOpenUsesIndexAndCacheWithIdenticalTensors) {
  auto cold = DicomDirectorySource::Open(Options());
  ASSERT_TRUE(cold.ok());
  EXPECT_EQ((*cold)->report().cache_misses, kPatients * kImagesPerPatient);
  EXPECT_EQ((*cold)->report().index_hits, 0);
  auto cold_pixels = AllPixels(**cold);

  auto warm = DicomDirectorySource::Open(Options());
  ASSERT_TRUE(warm.ok());
  EXPECT_EQ((*warm)->report().cache_hits, kPatients * kImagesPerPatient);
  EXPECT_EQ((*warm)->report().cache_misses, 0);
  // Every file but the dangling link (never remembered) comes from the index.
  EXPECT_EQ((*warm)->report().index_hits, (*warm)->report().files_seen - 1);
  EXPECT_EQ(AllPixels(**warm), cold_pixels);
  EXPECT_EQ((*warm)->report().problems, (*cold)->report().problems)
      << "bad files are remembered as bad";

  auto uncached = DicomDirectorySource::Open(Options(/*cache=*/false));
  ASSERT_TRUE(uncached.ok());
  EXPECT_EQ(AllPixels(**uncached), cold_pixels);
}

TEST_F(DirectorySourceTest, BeyondTheMemoryBudgetGetReadsTheCache) {
  DirectorySourceOptions o = Options();
  auto in_memory = DicomDirectorySource::Open(o);
  ASSERT_TRUE(in_memory.ok());
  o.memory_budget_bytes = 10 * 64 * sizeof(float);  // ten of the 24 images
  auto budgeted = DicomDirectorySource::Open(o);
  ASSERT_TRUE(budgeted.ok());
  EXPECT_EQ(AllPixels(**budgeted), AllPixels(**in_memory));
  // Entries not kept in memory come from the cache: removing it breaks
  // nothing, Get() decodes again.
  fs::remove_all(tmp_.Sub("cache"));
  EXPECT_EQ(AllPixels(**budgeted), AllPixels(**in_memory));
}

TEST_F(DirectorySourceTest, CorruptCacheEntryIsDetectedAndRebuilt) {
  auto first = DicomDirectorySource::Open(Options());
  ASSERT_TRUE(first.ok());
  auto pixels = AllPixels(**first);
  int corrupted = 0;
  for (const auto& entry : fs::recursive_directory_iterator(tmp_.Sub("cache"))) {
    if (entry.path().extension() == ".tensor" && corrupted < 2) {
      std::string bytes = testing::ReadFileOrEmpty(entry.path().string());
      bytes[20] ^= 0x5a;
      testing::WriteFileOrDie(entry.path().string(), bytes);
      ++corrupted;
    }
  }
  ASSERT_EQ(corrupted, 2);
  auto second = DicomDirectorySource::Open(Options());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)->report().cache_corrupt_rebuilt, 2);
  EXPECT_EQ((*second)->report().cache_hits, kPatients * kImagesPerPatient - 2);
  EXPECT_EQ(AllPixels(**second), pixels);
  auto third = DicomDirectorySource::Open(Options());
  ASSERT_TRUE(third.ok());
  EXPECT_EQ((*third)->report().cache_corrupt_rebuilt, 0);
}

TEST_F(DirectorySourceTest, ChangedFileIsReadAgain) {
  auto first = DicomDirectorySource::Open(Options());
  ASSERT_TRUE(first.ok());
  // Replace one labelled file's pixels (same UID) with a new write.
  testing::TestDicom d;
  d.rows = 8;
  d.cols = 8;
  d.pixels.assign(64, 999);
  auto e0 = (*first)->Get(0);
  ASSERT_TRUE(e0.ok());
  std::string path;
  for (const auto& entry : fs::recursive_directory_iterator(tmp_.Sub("dicom"))) {
    if (entry.path().filename() == "img0.dcm" &&
        entry.path().parent_path().filename() == "PATIENT-ID-1000") {
      path = entry.path().string();
    }
  }
  ASSERT_FALSE(path.empty());
  HeaderResult h = ReadDicomHeader(path);
  d.sop_instance_uid = h.header.sop_instance_uid;
  d.pixels[0] = 0;
  ASSERT_TRUE(testing::WriteTestDicom(path, d).ok());
  auto second = DicomDirectorySource::Open(Options());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)->report().cache_misses, 1);
  // The dangling link is never remembered, so it is looked at again.
  EXPECT_EQ((*second)->report().index_hits, (*second)->report().files_seen - 2);
  bool found = false;
  for (size_t i = 0; i < (*second)->Size(); ++i) {
    Example e = *(*second)->Get(i);
    if (e.sop_instance_uid != h.header.sop_instance_uid) continue;
    found = true;
    EXPECT_EQ(e.pixels[0], 0.0f);  // min-max window: 0 is the minimum now
    EXPECT_EQ(e.pixels[1], 1.0f);  // and 999 the maximum
  }
  EXPECT_TRUE(found);
}

TEST_F(DirectorySourceTest, StudyLevelLabelsApplyToEveryInstanceOfTheStudy) {
  std::map<std::string, std::string> study_label;
  std::string manifest = "study_instance_uid,label\n";
  for (const auto& entry : fs::recursive_directory_iterator(tmp_.Sub("dicom"))) {
    if (entry.path().extension() != ".dcm" || entry.path().filename() == "zz-duplicate.dcm" ||
        entry.path().string().find("/.snapshot/") != std::string::npos ||
        entry.is_symlink()) {
      continue;
    }
    HeaderResult h = ReadDicomHeader(entry.path().string());
    if (h.problem != FileProblem::kNone || !patient_of_.count(h.header.sop_instance_uid)) continue;
    if (study_label.emplace(h.header.study_instance_uid, "pneumonia").second) {
      absl::StrAppend(&manifest, h.header.study_instance_uid, ",pneumonia\n");
    }
  }
  testing::WriteFileOrDie(tmp_.Sub("labels.csv"), manifest);
  auto s = DicomDirectorySource::Open(Options(false));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->Size(), size_t{kPatients * kImagesPerPatient});
  for (size_t i = 0; i < (*s)->Size(); ++i) EXPECT_EQ((*s)->Get(i)->label, 1);
}

TEST_F(DirectorySourceTest, BadOptionsAreErrors) {
  DirectorySourceOptions o = Options();
  o.labels = {};
  EXPECT_EQ(DicomDirectorySource::Open(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options();
  o.fractions.set_test(0.5);
  EXPECT_EQ(DicomDirectorySource::Open(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options();
  o.source.set_directory(tmp_.Sub("nowhere"));
  EXPECT_EQ(DicomDirectorySource::Open(o).status().code(), absl::StatusCode::kNotFound);
  o = Options();
  o.source.set_manifest(tmp_.Sub("nowhere.csv"));
  EXPECT_EQ(DicomDirectorySource::Open(o).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tverr::node
