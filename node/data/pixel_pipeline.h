// DICOM pixels -> model input, with DCMTK's grayscale pipeline (dcmimgle,
// which implements the DICOM standard's modality LUT, VOI LUT and
// presentation steps):
//   1. modality rescale (Rescale Slope/Intercept) to modality units,
//   2. resize to the input size (area averaging, on modality values),
//   3. VOI window: the run's, else the file's first, else min-max,
//   4. MONOCHROME1 is inverted so that high always means bright,
//   5. scale to [0, 1] (16-bit output precision), then (x - mean) / std,
//   6. replicate grayscale to 3 channels when asked; colour images become
//      luminance for 1 channel, or planar RGB for 3.
// 8- and 16-bit, signed and unsigned pixels; compressed syntaxes after
// RegisterDicomDecoders(). Only the first frame of multi-frame images.
// Thread-safe.
#ifndef TVERR_NODE_DATA_PIXEL_PIPELINE_H_
#define TVERR_NODE_DATA_PIXEL_PIPELINE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tverr/v1/data.pb.h"

class DcmDataset;

namespace tverr::node {

// Bumped whenever the pipeline's output for the same input may change, so
// that old cache entries stop matching.
inline constexpr int kPipelineVersion = 1;

// INVALID_ARGUMENT naming the field for sizes outside 1..4096, channels
// other than 1 or 3, a window width <= 1, or a negative std.
absl::Status ValidateInputSpec(const v1::InputSpec& spec);

// Lower-case hex SHA-256 over the pipeline version and every InputSpec
// field, in a fixed order; part of every cache key and dataset fingerprint.
std::string PipelineFingerprint(const v1::InputSpec& spec);

// Renders the first frame of `dataset` (stored in its current transfer
// syntax) as spec.channels * spec.height * spec.width floats.
// FAILED_PRECONDITION with DCMTK's reason when the image cannot be decoded
// (missing or truncated pixel data, unsupported photometric
// interpretation, undecodable compression).
absl::StatusOr<std::vector<float>> RenderPixels(DcmDataset* dataset, const v1::InputSpec& spec);

// RenderPixels without the out-of-memory guard (internal).
absl::StatusOr<std::vector<float>> RenderPixelsUnchecked(DcmDataset* dataset,
                                                         const v1::InputSpec& spec);

}  // namespace tverr::node

#endif  // TVERR_NODE_DATA_PIXEL_PIPELINE_H_
