// Each step of the pixel pipeline on small DICOM files written through
// DCMTK, with the values the DICOM standard prescribes
// (PS3.3 C.11.2.1.2: y = ((x - (c - 0.5)) / (w - 1) + 0.5), clamped).
#include "node/data/pixel_pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "node/data/dicom_file.h"
#include "tests/support/dicom_writer.h"
#include "tests/support/temp_dir.h"

namespace tverr::node {
namespace {

using testing::TestDicom;
using testing::TestSyntax;

v1::InputSpec Spec(int w, int h, std::optional<std::pair<double, double>> window = std::nullopt) {
  v1::InputSpec s;
  s.set_width(w);
  s.set_height(h);
  s.set_channels(1);
  if (window) {
    s.mutable_window()->set_center(window->first);
    s.mutable_window()->set_width(window->second);
  }
  return s;
}

struct Case {
  std::string name;
  TestDicom dicom;
  v1::InputSpec spec;
  std::vector<float> expected;
  float tolerance = 2.0f / 65535;
};

TestDicom Base() {
  TestDicom d;
  d.rows = 2;
  d.cols = 2;
  d.pixels = {0, 100, 200, 300};
  return d;
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  const auto window = std::make_pair(150.5, 201.0);  // maps 0..300 to {0,.25,.75,1}
  const std::vector<float> ramp = {0.0f, 0.25f, 0.75f, 1.0f};
  {
    Case c{"window_from_spec", Base(), Spec(2, 2, window), ramp};
    cases.push_back(c);
  }
  {
    Case c{"modality_rescale", Base(), Spec(2, 2, window), ramp};
    c.dicom.pixels = {50, 100, 150, 200};  // 2x - 100 = 0, 100, 200, 300
    c.dicom.rescale_slope = 2;
    c.dicom.rescale_intercept = -100;
    cases.push_back(c);
  }
  {
    Case c{"monochrome1_is_inverted", Base(), Spec(2, 2, window), {1.0f, 0.75f, 0.25f, 0.0f}};
    c.dicom.photometric = "MONOCHROME1";
    cases.push_back(c);
  }
  {
    Case c{"signed_16_bit", Base(), Spec(2, 2, std::make_pair(500.5, 2001.0)), ramp};
    c.dicom.is_signed = true;
    c.dicom.pixels = {-1000, 0, 1000, 2000};
    cases.push_back(c);
  }
  {
    Case c{"signed_12_of_16_bits_with_ct_rescale", Base(),
           Spec(2, 2, std::make_pair(500.5, 2001.0)), ramp};
    c.dicom.is_signed = true;
    c.dicom.bits_stored = 12;
    c.dicom.pixels = {0, 1000, 2000, 2047};  // HU = x - 1000 -> -1000, 0, 1000, 1047
    c.dicom.rescale_slope = 1;  // slope and intercept come together (type 1C)
    c.dicom.rescale_intercept = -1000;
    c.expected = {0.0f, 0.25f, 0.75f, 0.7735f};  // (1047-500)/2000+0.5
    cases.push_back(c);
  }
  {
    // Negative stored values in 12 of 16 bits: sign extension from bit 11.
    Case c{"signed_12_bit_negative_values", Base(), Spec(2, 2, std::make_pair(500.5, 2001.0)),
           ramp};
    c.dicom.is_signed = true;
    c.dicom.bits_stored = 12;
    c.dicom.pixels = {-1000, 0, 1000, 2000};
    cases.push_back(c);
  }
  {
    // The file's window also applies after a resize.
    Case c{"window_from_file_after_resize", Base(), Spec(2, 2), ramp};
    c.dicom.rows = 4;
    c.dicom.cols = 4;
    c.dicom.pixels = {0,   0,   100, 100,  //
                      0,   0,   100, 100,  //
                      200, 200, 300, 300,  //
                      200, 200, 300, 300};
    c.dicom.window_center = 150.5;
    c.dicom.window_width = 201;
    cases.push_back(c);
  }
  {
    Case c{"window_from_file", Base(), Spec(2, 2), ramp};
    c.dicom.window_center = 150.5;
    c.dicom.window_width = 201;
    cases.push_back(c);
  }
  {
    Case c{"spec_window_overrides_file", Base(), Spec(2, 2, window), ramp};
    c.dicom.window_center = 1000;
    c.dicom.window_width = 10;
    cases.push_back(c);
  }
  {
    // No window anywhere: the file's min-max range.
    Case c{"min_max_window_8_bit", Base(), Spec(2, 2), {0.0f, 64 / 255.0f, 128 / 255.0f, 1.0f}};
    c.dicom.bits_allocated = 8;
    c.dicom.pixels = {0, 64, 128, 255};
    c.tolerance = 0.01f;
    cases.push_back(c);
  }
  {
    Case c{"normalize", Base(), Spec(2, 2, window), {-2.0f, -1.0f, 1.0f, 2.0f}};
    c.spec.set_normalize_mean(0.5);
    c.spec.set_normalize_std(0.25);
    c.tolerance = 8.0f / 65535;
    cases.push_back(c);
  }
  {
    Case c{"three_channels_replicate_gray", Base(), Spec(2, 2, window), {}};
    c.spec.set_channels(3);
    for (int i = 0; i < 3; ++i) c.expected.insert(c.expected.end(), ramp.begin(), ramp.end());
    cases.push_back(c);
  }
  {
    // 4x4 of constant 2x2 blocks, resized to 2x2: each output is its block.
    Case c{"resize_by_area", Base(), Spec(2, 2, window), ramp};
    c.dicom.rows = 4;
    c.dicom.cols = 4;
    c.dicom.pixels = {0,   0,   100, 100,  //
                      0,   0,   100, 100,  //
                      200, 200, 300, 300,  //
                      200, 200, 300, 300};
    cases.push_back(c);
  }
  for (TestSyntax syntax :
       {TestSyntax::kJpegLossless, TestSyntax::kJpegLsLossless, TestSyntax::kRle,
        TestSyntax::kImplicitLittle}) {
    Case c{"", Base(), Spec(2, 2, window), ramp};
    c.dicom.syntax = syntax;
    c.name = syntax == TestSyntax::kJpegLossless     ? "jpeg_lossless"
             : syntax == TestSyntax::kJpegLsLossless ? "jpeg_ls_lossless"
             : syntax == TestSyntax::kRle            ? "rle_lossless"
                                                     : "implicit_little_endian";
    cases.push_back(c);
  }
  {
    // Lossy JPEG baseline of a smooth 8x8 ramp: values within JPEG's error.
    // (The ramp starts at 0: DCMTK's lossy encoder stores values relative
    // to the image minimum.)
    Case c{"jpeg_baseline_8_bit", Base(), Spec(8, 8, std::make_pair(127.5, 256.0)), {}};
    c.dicom.bits_allocated = 8;
    c.dicom.rows = 8;
    c.dicom.cols = 8;
    c.dicom.pixels.clear();
    for (int i = 0; i < 64; ++i) {
      c.dicom.pixels.push_back(2 * i);
      c.expected.push_back(std::max(0.0f, (2 * i - 127) / 255.0f + 0.5f));
    }
    c.dicom.syntax = TestSyntax::kJpegBaseline;
    c.tolerance = 6.0f / 255;
    cases.push_back(c);
  }
  return cases;
}

class PixelPipelineTest : public ::testing::TestWithParam<Case> {};

TEST_P(PixelPipelineTest, ProducesTheStandardValues) {
  const Case& c = GetParam();
  testing::TempDir tmp;
  const std::string path = tmp.Sub("image.dcm");
  ASSERT_TRUE(testing::WriteTestDicom(path, c.dicom).ok());
  absl::StatusOr<std::vector<float>> got = DecodeDicomFile(path, c.spec);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), c.expected.size());
  for (size_t i = 0; i < c.expected.size(); ++i) {
    EXPECT_NEAR((*got)[i], c.expected[i], c.tolerance) << "value " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Steps, PixelPipelineTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

// A header that promises more pixels than the file holds is refused before
// the decoder allocates anything.
TEST(RenderPixels, HeaderLargerThanThePixelDataIsRefused) {
  testing::TempDir tmp;
  testing::TestDicom d = Base();
  ASSERT_TRUE(testing::WriteTestDicom(tmp.Sub("a.dcm"), d).ok());
  // Patch Rows to 60000 in place: find the (0028,0010) US element.
  std::string bytes = testing::ReadFileOrEmpty(tmp.Sub("a.dcm"));
  const std::string rows_tag("\x28\x00\x10\x00US\x02\x00\x02\x00", 10);
  size_t at = bytes.find(rows_tag);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 8] = static_cast<char>(0x60);
  bytes[at + 9] = static_cast<char>(0xEA);  // 60000
  testing::WriteFileOrDie(tmp.Sub("a.dcm"), bytes);
  auto got = DecodeDicomFile(tmp.Sub("a.dcm"), Spec(2, 2));
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(std::string(got.status().message()), ::testing::HasSubstr("pixel data holds"));
}

TEST(InputSpec, InvalidSpecsAreRefusedWithTheField) {
  v1::InputSpec s = Spec(28, 28);
  EXPECT_TRUE(ValidateInputSpec(s).ok());
  s.set_channels(2);
  EXPECT_THAT(std::string(ValidateInputSpec(s).message()), ::testing::HasSubstr("channels"));
  s = Spec(0, 28);
  EXPECT_THAT(std::string(ValidateInputSpec(s).message()), ::testing::HasSubstr("width"));
  s = Spec(28, 28, std::make_pair(0.0, 1.0));
  EXPECT_THAT(std::string(ValidateInputSpec(s).message()), ::testing::HasSubstr("window.width"));
}

TEST(PipelineFingerprint, ChangesWithEveryParameter) {
  std::set<std::string> seen;
  v1::InputSpec s = Spec(28, 28);
  seen.insert(PipelineFingerprint(s));
  s.set_width(29);
  seen.insert(PipelineFingerprint(s));
  s.set_channels(3);
  seen.insert(PipelineFingerprint(s));
  s.mutable_window()->set_center(1);
  s.mutable_window()->set_width(10);
  seen.insert(PipelineFingerprint(s));
  s.set_normalize_mean(0.1);
  seen.insert(PipelineFingerprint(s));
  s.set_normalize_std(2);
  seen.insert(PipelineFingerprint(s));
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_EQ(PipelineFingerprint(Spec(28, 28)), PipelineFingerprint(Spec(28, 28)));
}

}  // namespace
}  // namespace tverr::node
