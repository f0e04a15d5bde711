// Collects every glog line while alive, so a test can check what was (and
// was not) logged — for example that no patient identifier reaches a log.
#ifndef TVERR_TESTS_SUPPORT_LOG_CAPTURE_H_
#define TVERR_TESTS_SUPPORT_LOG_CAPTURE_H_

#include <glog/logging.h>

#include <mutex>
#include <string>

namespace tverr::testing {

class LogCapture : public google::LogSink {
 public:
  LogCapture() { google::AddLogSink(this); }
  ~LogCapture() override { google::RemoveLogSink(this); }
  using google::LogSink::send;
  void send(google::LogSeverity /*severity*/, const char* /*full_filename*/,
            const char* /*base_filename*/, int /*line*/, const google::LogMessageTime& /*time*/,
            const char* message, size_t message_len) override {
    std::lock_guard<std::mutex> lock(mu_);
    text_.append(message, message_len).push_back('\n');
  }
  std::string text() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  std::mutex mu_;
  std::string text_;
};

}  // namespace tverr::testing

#endif  // TVERR_TESTS_SUPPORT_LOG_CAPTURE_H_
