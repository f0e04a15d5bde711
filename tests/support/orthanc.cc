#include "tests/support/orthanc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/temp_dir.h"

namespace tverr::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = Loopback(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::string FindOrthanc() {
  if (const char* env = std::getenv("TVERR_ORTHANC"); env != nullptr && *env != '\0') return env;
  if (access("/usr/sbin/Orthanc", X_OK) == 0) return "/usr/sbin/Orthanc";
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      std::string candidate = absl::StrCat(dir, "/Orthanc");
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return "";
}

// JSON string literal (the paths we write are plain, but be safe).
std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string Tail(const std::string& text, size_t n) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

}  // namespace

int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

OrthancServer::~OrthancServer() { Stop(); }

absl::Status OrthancServer::Start(const std::string& work_dir, absl::Duration timeout) {
  if (process_ != nullptr) return absl::FailedPreconditionError("Orthanc already started");
  const std::string binary = FindOrthanc();
  if (binary.empty()) return absl::FailedPreconditionError("Orthanc is not installed");
  std::error_code ec;
  std::filesystem::create_directories(work_dir + "/storage", ec);
  std::filesystem::create_directories(work_dir + "/index", ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", work_dir, ": ", ec.message()));

  dicom_port_ = PickFreePort();
  http_port_ = PickFreePort();
  while (http_port_ == dicom_port_ && dicom_port_ != 0) http_port_ = PickFreePort();
  if (dicom_port_ == 0 || http_port_ == 0) return absl::UnavailableError("no free port");

  // Options as documented in Orthanc 1.10.1's default configuration
  // (`Orthanc --config=FILE`). The DicomAlwaysAllow* options let any calling
  // AE title (our SCU is "TVERR") use the services without being listed in
  // DicomModalities; C-GET answers on the same association, so no modality
  // (host and port for C-MOVE) has to be declared.
  const std::pair<const char*, std::string> options[] = {
      {"Name", Quote("TverrTestPacs")},
      {"StorageDirectory", Quote(work_dir + "/storage")},
      {"IndexDirectory", Quote(work_dir + "/index")},
      {"StorageCompression", "false"},
      {"Plugins", "[]"},
      {"HttpServerEnabled", "true"},  // not used by the tests
      {"HttpPort", absl::StrCat(http_port_)},
      {"RemoteAccessAllowed", "false"},
      {"AuthenticationEnabled", "false"},
      {"SslEnabled", "false"},
      {"DicomServerEnabled", "true"},
      {"DicomAet", Quote(aet_)},
      {"DicomPort", absl::StrCat(dicom_port_)},
      {"DicomCheckCalledAet", "false"},
      {"DicomCheckModalityHost", "false"},
      {"DicomAlwaysAllowEcho", "true"},
      {"DicomAlwaysAllowStore", "true"},
      {"DicomAlwaysAllowFind", "true"},
      {"DicomAlwaysAllowGet", "true"},
      {"DicomModalities", "{}"},
      {"DicomScpTimeout", "30"},
      {"DicomThreadsCount", "2"},
      {"HttpThreadsCount", "2"},
      {"StableAge", "1"},
      {"SaveJobs", "false"},
      {"JobsHistorySize", "1"},
      {"LimitFindResults", "0"},
      {"LimitFindInstances", "0"},
  };
  std::string config = "{\n";
  for (const auto& [key, value] : options) {
    absl::StrAppend(&config, config.size() > 2 ? ",\n" : "", "  ", Quote(key), " : ", value);
  }
  config += "\n}\n";
  const std::string config_path = work_dir + "/orthanc.json";
  {
    std::ofstream out(config_path, std::ios::trunc);
    out << config;
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", config_path));
  }
  log_path_ = work_dir + "/orthanc.log";
  process_ = std::make_unique<Subprocess>(std::vector<std::string>{binary, config_path}, log_path_);

  bool exited = false;
  const bool ready = WaitFor(
      [&] {
        if (!process_->running()) {
          exited = true;
          return true;
        }
        return Accepts(dicom_port_);
      },
      timeout);
  if (!ready || exited) {
    Stop();
    return absl::UnavailableError(
        absl::StrCat("Orthanc ", exited ? "exited" : "was not ready within the timeout",
                     "; log tail:\n", Tail(ReadFileOrEmpty(log_path_), 2000)));
  }
  return absl::OkStatus();
}

void OrthancServer::Stop() {
  if (process_ == nullptr) return;
  process_->Stop(SIGTERM, absl::Seconds(5));  // SIGKILLs after the timeout
  process_.reset();
}

v1::PacsSource OrthancServer::MakePacsSource(const std::string& store_directory,
                                             int timeout_seconds) const {
  v1::PacsSource source;
  source.set_host("127.0.0.1");
  source.set_port(static_cast<uint32_t>(dicom_port_));
  source.set_called_ae_title(aet_);
  source.set_calling_ae_title("TVERR");
  source.set_store_directory(store_directory);
  source.set_timeout_seconds(static_cast<uint32_t>(timeout_seconds));
  return source;
}

}  // namespace tverr::testing
