#include "common/log/log.h"

#include <glog/logging.h>
#include <grpc/support/log.h>

#include <mutex>

#include "absl/strings/str_cat.h"

namespace tverr {
namespace {

void GrpcToGlog(gpr_log_func_args* args) {
  switch (args->severity) {
    case GPR_LOG_SEVERITY_ERROR:
      LOG(ERROR) << "grpc: " << args->message;
      break;
    case GPR_LOG_SEVERITY_INFO:
      VLOG(1) << "grpc: " << args->message;
      break;
    default:
      VLOG(2) << "grpc: " << args->message;
      break;
  }
}

}  // namespace

void InitLogging(const char* program) {
  static std::once_flag once;
  std::call_once(once, [program] {
    FLAGS_logtostderr = true;
    FLAGS_colorlogtostderr = false;
    google::InitGoogleLogging(program);
    gpr_set_log_function(GrpcToGlog);
    gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
  });
}

bool IsValidLogLevel(absl::string_view level) {
  return level == "debug" || level == "info" || level == "warning" || level == "error";
}

absl::Status SetLogLevel(absl::string_view level) {
  if (level == "debug") {
    FLAGS_minloglevel = google::GLOG_INFO;
    FLAGS_v = 1;
    gpr_set_log_verbosity(GPR_LOG_SEVERITY_INFO);
  } else if (level == "info") {
    FLAGS_minloglevel = google::GLOG_INFO;
    FLAGS_v = 0;
  } else if (level == "warning") {
    FLAGS_minloglevel = google::GLOG_WARNING;
    FLAGS_v = 0;
  } else if (level == "error") {
    FLAGS_minloglevel = google::GLOG_ERROR;
    FLAGS_v = 0;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown log level '", level, "' (expected debug, info, warning or error)"));
  }
  return absl::OkStatus();
}

}  // namespace tverr
