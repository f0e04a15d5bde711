#include "node/data/pixel_pipeline.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmimage/diregist.h>  // registers colour image support
#include <dcmtk/dcmimgle/dcmimage.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/crypto/sha256.h"
#include "node/data/dicom_codecs.h"
#include "node/data/dicom_info.h"

namespace tverr::node {
namespace {

constexpr double kOutputMax = 65535.0;

double StdOrOne(const v1::InputSpec& spec) {
  return spec.normalize_std() == 0 ? 1.0 : spec.normalize_std();
}

absl::Status ImageError(const DicomImage& image, absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat(what, ": ", DicomImage::getString(image.getStatus())));
}

// A hostile or broken header must not make the decoder allocate gigabytes:
// the declared size is capped, and for uncompressed data it must match
// what the file holds.
constexpr uint64_t kMaxPixels = uint64_t{1} << 26;  // 64 Mi pixels (8192 x 8192)

absl::Status CheckImageSize(DcmDataset* dataset) {
  Uint16 rows = 0, cols = 0, bits = 0, samples = 1;
  dataset->findAndGetUint16(DCM_Rows, rows);
  dataset->findAndGetUint16(DCM_Columns, cols);
  dataset->findAndGetUint16(DCM_BitsAllocated, bits);
  dataset->findAndGetUint16(DCM_SamplesPerPixel, samples);
  if (rows == 0 || cols == 0) return absl::FailedPreconditionError("image has no rows or columns");
  const uint64_t pixels = uint64_t{rows} * cols;
  if (pixels > kMaxPixels) {
    return absl::FailedPreconditionError(
        absl::StrCat("image of ", rows, "x", cols, " pixels is larger than this node decodes"));
  }
  if (bits != 1 && bits != 8 && bits != 16 && bits != 32) {
    return absl::FailedPreconditionError(absl::StrCat("unsupported BitsAllocated ", bits));
  }
  if (samples != 1 && samples != 3) {
    return absl::FailedPreconditionError(absl::StrCat("unsupported SamplesPerPixel ", samples));
  }
  DcmXfer xfer(dataset->getCurrentXfer());
  if (!xfer.isEncapsulated()) {
    DcmElement* data = nullptr;
    if (dataset->findAndGetElement(DCM_PixelData, data).bad() || data == nullptr) {
      return absl::FailedPreconditionError("no pixel data");
    }
    const uint64_t frame_bytes = (pixels * samples * bits + 7) / 8;
    if (data->getLength() < frame_bytes) {
      return absl::FailedPreconditionError(absl::StrCat(
          "pixel data holds ", data->getLength(), " bytes; a ", rows, "x", cols,
          " frame needs ", frame_bytes));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateInputSpec(const v1::InputSpec& spec) {
  if (spec.width() < 1 || spec.width() > 4096) {
    return absl::InvalidArgumentError("input.width must be between 1 and 4096");
  }
  if (spec.height() < 1 || spec.height() > 4096) {
    return absl::InvalidArgumentError("input.height must be between 1 and 4096");
  }
  if (spec.channels() != 1 && spec.channels() != 3) {
    return absl::InvalidArgumentError("input.channels must be 1 or 3");
  }
  if (spec.has_window() && !(spec.window().width() > 1)) {
    return absl::InvalidArgumentError("input.window.width must be greater than 1");
  }
  if (spec.normalize_std() < 0) {
    return absl::InvalidArgumentError("input.normalize_std must not be negative");
  }
  return absl::OkStatus();
}

std::string PipelineFingerprint(const v1::InputSpec& spec) {
  // Explicit text rather than serialized proto bytes: stable across
  // protobuf versions and readable when debugging.
  // The DCMTK version is part of it: another decoder may render the same
  // file differently, and cached tensors must not outlive that.
  std::string canonical = absl::StrFormat(
      "tverr-pipeline v%d dcmtk=%s w=%u h=%u c=%u window=%s mean=%.17g std=%.17g",
      kPipelineVersion, DcmtkVersion(),
      spec.width(), spec.height(), spec.channels(),
      spec.has_window()
          ? absl::StrFormat("%.17g/%.17g", spec.window().center(), spec.window().width())
          : std::string("file"),
      spec.normalize_mean(), StdOrOne(spec));
  return crypto::ToHex(crypto::Sha256(canonical));
}

absl::StatusOr<std::vector<float>> RenderPixels(DcmDataset* dataset, const v1::InputSpec& spec) {
  try {
    return RenderPixelsUnchecked(dataset, spec);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("not enough memory to decode this image");
  }
}

absl::StatusOr<std::vector<float>> RenderPixelsUnchecked(DcmDataset* dataset,
                                                         const v1::InputSpec& spec) {
  if (absl::Status s = ValidateInputSpec(spec); !s.ok()) return s;
  RegisterDicomDecoders();
  if (absl::Status s = CheckImageSize(dataset); !s.ok()) return s;
  const E_TransferSyntax xfer = dataset->getCurrentXfer();
  DicomImage original(dataset, xfer, CIF_UsePartialAccessToPixelData, /*fstart=*/0,
                      /*fcount=*/1);
  if (original.getStatus() != EIS_Normal) return ImageError(original, "cannot decode image");

  // Work on the image the model needs: grayscale or colour, right size.
  std::unique_ptr<DicomImage> owned;
  DicomImage* image = &original;
  const bool want_rgb = spec.channels() == 3 && !original.isMonochrome();
  if (!original.isMonochrome() && !want_rgb) {
    owned.reset(original.createMonochromeImage());
    if (owned == nullptr || owned->getStatus() != EIS_Normal) {
      return absl::FailedPreconditionError("cannot convert colour image to grayscale");
    }
    image = owned.get();
  }
  if (image->getWidth() != spec.width() || image->getHeight() != spec.height()) {
    std::unique_ptr<DicomImage> scaled(image->createScaledImage(
        static_cast<unsigned long>(spec.width()), static_cast<unsigned long>(spec.height()),
        /*interpolate=*/1, /*aspect=*/0));
    if (scaled == nullptr || scaled->getStatus() != EIS_Normal) {
      return absl::FailedPreconditionError("cannot resize image");
    }
    owned = std::move(scaled);
    image = owned.get();
  }
  if (image->isMonochrome()) {
    bool windowed = false;
    if (spec.has_window()) {
      windowed = image->setWindow(spec.window().center(), spec.window().width()) != 0;
    } else if (image->getWindowCount() > 0) {
      windowed = image->setWindow(0) != 0;
    }
    if (!windowed) image->setMinMaxWindow(/*idx=*/0);
  }

  const size_t plane = static_cast<size_t>(spec.width()) * spec.height();
  const int samples = image->isMonochrome() ? 1 : 3;
  const auto* data = static_cast<const Uint16*>(image->getOutputData(/*bits=*/16, /*frame=*/0,
                                                                     /*planar=*/1));
  if (data == nullptr) return ImageError(*image, "cannot render pixels");
  const double mean = spec.normalize_mean();
  const double scale = 1.0 / (kOutputMax * StdOrOne(spec));
  const double offset = mean / StdOrOne(spec);
  std::vector<float> out(plane * spec.channels());
  for (size_t c = 0; c < spec.channels(); ++c) {
    // Grayscale is replicated; RGB is planar (planar=1 above).
    const Uint16* src = data + (samples == 1 ? 0 : c * plane);
    float* dst = out.data() + c * plane;
    for (size_t i = 0; i < plane; ++i) dst[i] = static_cast<float>(src[i] * scale - offset);
  }
  return out;
}

}  // namespace tverr::node
