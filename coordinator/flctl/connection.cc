#include "coordinator/flctl/connection.h"

#include <grpcpp/create_channel.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/pki/certificate.h"
#include "common/tls/credentials.h"

namespace tverr::flctl {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

const std::set<std::string>& ConnectionOptions() {
  static const auto* options =
      new std::set<std::string>{"coordinator", "tls_dir", "cert", "key", "ca"};
  return *options;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const Args& args) {
  std::string address = args.Get("coordinator", Env("TVERR_COORDINATOR"));
  if (address.empty()) {
    return absl::InvalidArgumentError(
        "no coordinator address: pass --coordinator host:port or set TVERR_COORDINATOR");
  }
  std::string dir = args.Get("tls_dir", Env("TVERR_TLS_DIR"));
  tls::TlsFiles files;
  files.cert_file = args.Get("cert", dir.empty() ? "" : dir + "/cert.pem");
  files.key_file = args.Get("key", dir.empty() ? "" : dir + "/key.pem");
  files.ca_file = args.Get("ca", dir.empty() ? "" : dir + "/ca.pem");
  if (files.cert_file.empty() || files.key_file.empty() || files.ca_file.empty()) {
    return absl::InvalidArgumentError(
        "no TLS identity: pass --tls_dir (or --cert, --key, --ca) or set TVERR_TLS_DIR");
  }
  // The server must be a coordinator of the consortium our certificate is
  // from (checked in every handshake).
  ASSIGN_OR_RETURN(pki::CertificateInfo own, pki::ReadCertificateFile(files.cert_file));
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> creds,
                   tls::MakeChannelCredentials(files, own.identity.consortium));
  return grpc::CreateCustomChannel(address, creds, tls::DefaultChannelArguments());
}

}  // namespace tverr::flctl
