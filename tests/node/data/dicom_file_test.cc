#include "node/data/dicom_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "node/data/dicom_codecs.h"
#include "node/data/subgroups.h"
#include "tests/support/dicom_writer.h"
#include "tests/support/temp_dir.h"

namespace tverr::node {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ReadDicomHeader, ReadsIdentifiersAndSubgroupsButNoPatientId) {
  testing::TempDir tmp;
  testing::TestDicom d;
  d.patient_id = "PID-4711";
  d.patient_sex = "m";
  d.patient_birth_date = "19500610";
  d.study_date = "20240301";  // 73 years old
  d.manufacturer = " Nordlys Medical ";
  d.manufacturer_model = "";
  std::string uid;
  ASSERT_TRUE(testing::WriteTestDicom(tmp.Sub("a.dcm"), d, &uid).ok());
  HeaderResult r = ReadDicomHeader(tmp.Sub("a.dcm"));
  ASSERT_EQ(r.problem, FileProblem::kNone) << r.message;
  EXPECT_EQ(r.header.sop_instance_uid, uid);
  EXPECT_TRUE(r.header.has_pixel_data);
  EXPECT_EQ(r.header.transfer_syntax_uid, "1.2.840.10008.1.2.1");
  EXPECT_EQ(r.header.subgroups.sex, "M");
  EXPECT_EQ(r.header.subgroups.age_band, "60-79");
  EXPECT_EQ(r.header.subgroups.manufacturer, "Nordlys Medical");
  EXPECT_EQ(r.header.subgroups.model, "unknown");
  EXPECT_EQ(r.header.patient_key.size(), 64u);
  EXPECT_THAT(r.header.patient_key, Not(HasSubstr("4711")));

  // Same patient, same key; another patient, another key.
  std::string other;
  ASSERT_TRUE(testing::WriteTestDicom(tmp.Sub("b.dcm"), d, &other).ok());
  EXPECT_EQ(ReadDicomHeader(tmp.Sub("b.dcm")).header.patient_key, r.header.patient_key);
  d.patient_id = "PID-4712";
  ASSERT_TRUE(testing::WriteTestDicom(tmp.Sub("c.dcm"), d).ok());
  EXPECT_NE(ReadDicomHeader(tmp.Sub("c.dcm")).header.patient_key, r.header.patient_key);
}

TEST(ReadDicomHeader, NamesEachBadInputWithoutPatientData) {
  testing::TempDir tmp;
  testing::TestDicom d;
  d.patient_id = "SECRET-ID";
  d.patient_name = "Hemmelig^Person";
  d.rows = 64;
  d.cols = 64;
  d.pixels.assign(64 * 64, 7);
  ASSERT_TRUE(testing::WriteTestDicom(tmp.Sub("full.dcm"), d).ok());
  std::string full = testing::ReadFileOrEmpty(tmp.Sub("full.dcm"));
  testing::WriteFileOrDie(tmp.Sub("truncated.dcm"), full.substr(0, full.size() / 2));
  testing::WriteFileOrDie(tmp.Sub("text.txt"), "patient list: nothing to see here\n");
  testing::WriteFileOrDie(tmp.Sub("empty.dcm"), "");
  d.with_pixel_data = false;
  ASSERT_TRUE(testing::WriteTestDicom(tmp.Sub("nopixels.dcm"), d).ok());

  struct Expect {
    std::string file;
    FileProblem problem;
  };
  for (const Expect& e : {Expect{"truncated.dcm", FileProblem::kTruncated},
                          Expect{"text.txt", FileProblem::kNotDicom},
                          Expect{"empty.dcm", FileProblem::kNotDicom},
                          Expect{"nopixels.dcm", FileProblem::kNoPixelData},
                          Expect{"missing.dcm", FileProblem::kUnreadable}}) {
    SCOPED_TRACE(e.file);
    HeaderResult r = ReadDicomHeader(tmp.Sub(e.file));
    EXPECT_EQ(r.problem, e.problem) << FileProblemName(r.problem) << ": " << r.message;
    EXPECT_FALSE(r.message.empty());
    EXPECT_THAT(r.message, Not(HasSubstr("SECRET")));
    EXPECT_THAT(r.message, Not(HasSubstr("Hemmelig")));
  }
  EXPECT_EQ(ReadDicomHeader(tmp.Sub("full.dcm")).problem, FileProblem::kNone);
}

TEST(CheckDecodable, KnowsWhatDebiansDcmtkDecodes) {
  for (const char* ok : {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.4.50",
                         "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80",
                         "1.2.840.10008.1.2.5"}) {
    EXPECT_TRUE(CheckDecodable(ok).ok()) << ok;
  }
  absl::Status j2k = CheckDecodable("1.2.840.10008.1.2.4.90");
  EXPECT_EQ(j2k.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(j2k.message()), HasSubstr("JPEG 2000"));
  EXPECT_EQ(CheckDecodable("1.2.3.4").code(), absl::StatusCode::kUnimplemented);
}

TEST(Subgroups, AgeBandsFromAgeOrDates) {
  EXPECT_EQ(AgeBand("045Y", "", ""), "40-59");
  EXPECT_EQ(AgeBand("017Y", "", ""), "0-17");
  EXPECT_EQ(AgeBand("018Y", "", ""), "18-39");
  EXPECT_EQ(AgeBand("080Y", "", ""), "80+");
  EXPECT_EQ(AgeBand("006M", "", ""), "0-17");
  EXPECT_EQ(AgeBand("", "19840229", "20240228"), "18-39");  // 39 the day before
  EXPECT_EQ(AgeBand("", "19640301", "20240301"), "60-79");  // 60 on the day
  EXPECT_EQ(AgeBand("abc", "1964", "20240301"), "unknown");
  EXPECT_EQ(SexGroup("f"), "F");
  EXPECT_EQ(SexGroup("X"), "unknown");
  EXPECT_EQ(TextGroup("  "), "unknown");
}

}  // namespace
}  // namespace tverr::node
