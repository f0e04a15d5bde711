// A real Orthanc PACS for integration tests: started as a child process on
// loopback with free DICOM and HTTP ports, its storage under a work
// directory, accepting C-ECHO, C-STORE, C-FIND and C-GET from any calling
// AE title. Not thread-safe; one object per Orthanc process.
#ifndef TVERR_TESTS_SUPPORT_ORTHANC_H_
#define TVERR_TESTS_SUPPORT_ORTHANC_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/support/subprocess.h"
#include "tverr/v1/data.pb.h"

namespace tverr::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and
// released). Returns 0 on failure.
int PickFreePort();

class OrthancServer {
 public:
  OrthancServer() = default;
  ~OrthancServer();  // Stop()
  OrthancServer(const OrthancServer&) = delete;
  OrthancServer& operator=(const OrthancServer&) = delete;

  // Writes <work_dir>/orthanc.json, starts Orthanc (binary: $TVERR_ORTHANC,
  // else /usr/sbin/Orthanc, else Orthanc from PATH) with output to
  // <work_dir>/orthanc.log, and waits until its DICOM port accepts
  // connections. FAILED_PRECONDITION when Orthanc is not installed;
  // UNAVAILABLE (with the log's tail) when it exits or is not ready within
  // `timeout`.
  absl::Status Start(const std::string& work_dir, absl::Duration timeout = absl::Seconds(30));
  // SIGTERM, then SIGKILL after a few seconds; reaps the process.
  void Stop();

  int dicom_port() const { return dicom_port_; }
  int http_port() const { return http_port_; }
  const std::string& aet() const { return aet_; }
  const std::string& log_path() const { return log_path_; }

  // A source for tverr::node::PacsClient pointing at this server.
  v1::PacsSource MakePacsSource(const std::string& store_directory, int timeout_seconds = 10) const;

 private:
  std::unique_ptr<Subprocess> process_;
  int dicom_port_ = 0;
  int http_port_ = 0;
  std::string aet_ = "ORTHANC";
  std::string log_path_;
};

}  // namespace tverr::testing

#endif  // TVERR_TESTS_SUPPORT_ORTHANC_H_
