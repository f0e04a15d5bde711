// Internal to the OpenSSL wrappers of common/ (common/crypto, and
// common/pki through openssl_util.h): not part of any module's API.
//
// Turning an OpenSSL failure into an absl::Status. Thread-safe: OpenSSL's
// error queue is per thread.
#ifndef TVERR_COMMON_CRYPTO_OPENSSL_ERROR_H_
#define TVERR_COMMON_CRYPTO_OPENSSL_ERROR_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tverr::crypto::internal {

// `what` plus OpenSSL's reason for the most recent failure (never key
// material), with `code`; clears the error queue so a later call does not
// report a stale error.
absl::Status OpenSslError(absl::StatusCode code, absl::string_view what);

// OpenSslError with INTERNAL: for failures that are not the input's fault.
absl::Status OpenSslInternal(absl::string_view what);

// Deleter calling the OpenSSL free function `kFree`, for std::unique_ptr.
template <auto kFree>
struct OpenSslFree {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};

template <typename T, auto kFree>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree<kFree>>;

}  // namespace tverr::crypto::internal

#endif  // TVERR_COMMON_CRYPTO_OPENSSL_ERROR_H_
