#include "node/data/manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tverr::node {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kLabels = {"normal", "pneumonia", "Ankle boot"};

TEST(SplitCsvLine, HandlesQuotesAndSpaces) {
  auto f = SplitCsvLine(R"( a ,"b, c","say ""hi""",)");
  ASSERT_TRUE(f.ok());
  EXPECT_THAT(*f, ::testing::ElementsAre("a", "b, c", "say \"hi\"", ""));
  EXPECT_FALSE(SplitCsvLine(R"(a,"open)").ok());
}

TEST(ParseManifest, InstanceLabelsWithOptionalSplit) {
  auto m = ParseManifest(
      "\xEF\xBB\xBFSOP_Instance_UID,label,split\r\n"
      "1.2.3,normal,train\r\n"
      "1.2.4,\"Ankle boot\",\r\n"
      "\r\n"
      "1.2.5,pneumonia,val\r\n",
      kLabels);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->key, Manifest::Key::kSopInstanceUid);
  ASSERT_EQ(m->entries.size(), 3u);
  EXPECT_EQ(m->entries.at("1.2.3").label, 0);
  EXPECT_EQ(m->entries.at("1.2.3").split, Split::kTrain);
  EXPECT_EQ(m->entries.at("1.2.4").label, 2);
  EXPECT_FALSE(m->entries.at("1.2.4").split.has_value());
  EXPECT_EQ(m->entries.at("1.2.5").split, Split::kValidation);
  EXPECT_EQ(m->entries.at("1.2.5").row, 5);
  EXPECT_TRUE(m->issues.empty());
}

TEST(ParseManifest, BadRowsBecomeIssuesWithTheirLine) {
  auto m = ParseManifest(
      "label,study_instance_uid\n"
      "normal,1.1\n"
      "cancer,1.2\n"
      "normal\n"
      ",\n"
      "pneumonia,1.1\n"
      "normal,1.3\n"
      "normal,1.3\n",
      kLabels);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->key, Manifest::Key::kStudyInstanceUid);
  // 1.1 conflicts (dropped), 1.2 unknown label; 1.3 duplicate but consistent.
  ASSERT_EQ(m->entries.size(), 1u);
  EXPECT_TRUE(m->entries.count("1.3"));
  ASSERT_EQ(m->issues.size(), 5u);
  EXPECT_EQ(m->issues[0].row, 3);
  EXPECT_THAT(m->issues[0].message, HasSubstr("unknown label 'cancer'"));
  EXPECT_EQ(m->issues[1].row, 4);
  EXPECT_THAT(m->issues[1].message, HasSubstr("expected at least 2"));
  EXPECT_EQ(m->issues[2].row, 5);
  EXPECT_THAT(m->issues[3].message, HasSubstr("different label"));
  EXPECT_THAT(m->issues[4].message, HasSubstr("listed again (first at line 7)"));
}

TEST(ParseManifest, HeaderProblemsAreErrors) {
  EXPECT_THAT(std::string(ParseManifest("uid,label\n1,normal\n", kLabels).status().message()),
              HasSubstr("key column"));
  EXPECT_FALSE(ParseManifest("", kLabels).ok());
  EXPECT_FALSE(ParseManifest("sop_instance_uid,study_instance_uid,label\n", kLabels).ok());
  EXPECT_EQ(ReadManifest("/nonexistent/labels.csv", kLabels).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tverr::node
