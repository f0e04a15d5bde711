#include "common/tls/credentials.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/crypto.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/pki/certificate.h"
#include "common/pki/crl_status.h"
#include "common/pki/key_request.h"
#include "common/transfer/limits.h"

namespace tverr::tls {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(what, " ", path, " cannot be read"));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Checks, in every TLS handshake of a client channel, first what
// HostNameCertificateVerifier checks (the server's DNS/IP SAN against the
// host dialled), then that the server presents a coordinator certificate of
// the expected consortium. Synchronous; gRPC owns the instance.
class CoordinatorVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit CoordinatorVerifier(std::string consortium)
      : consortium_(std::move(consortium)),
        host_name_(std::make_shared<grpc::experimental::HostNameCertificateVerifier>()) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> callback, grpc::Status* sync_status) override {
    grpc::Status host_status;
    if (!host_name_->Verify(request, std::move(callback), &host_status)) {
      // Never happens (the host name check is synchronous); refuse rather
      // than let a connection through unchecked.
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  "host name check did not complete synchronously");
      return true;
    }
    if (!host_status.ok()) {
      *sync_status = host_status;
      return true;
    }
    const grpc::string_ref pem = request->peer_cert();
    absl::StatusOr<pki::CertificateInfo> info =
        pki::ParseCertificatePem(absl::string_view(pem.data(), pem.size()));
    if (!info.ok()) {
      *sync_status = grpc::Status(
          grpc::StatusCode::UNAUTHENTICATED,
          absl::StrCat("server certificate has no Tverr identity: ", info.status().message()));
      return true;
    }
    if (info->identity.role != v1::ROLE_COORDINATOR ||
        info->identity.consortium != consortium_) {
      *sync_status = grpc::Status(
          grpc::StatusCode::UNAUTHENTICATED,
          absl::StrCat("server presents ", info->identity.Uri(),
                       ", not a coordinator of consortium '", consortium_, "'"));
      return true;
    }
    *sync_status = grpc::Status::OK;
    return true;
  }

  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

 private:
  const std::string consortium_;
  const std::shared_ptr<grpc::experimental::CertificateVerifier> host_name_;
};

}  // namespace

absl::Status CheckTlsFiles(const TlsFiles& files, bool require_crl_dir) {
  absl::StatusOr<std::string> cert = ReadFile(files.cert_file, "certificate file");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<pki::CertificateInfo> info = pki::ParseCertificatePem(*cert);
  if (!info.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate file ", files.cert_file, ": ", info.status().message()));
  }
  absl::StatusOr<std::string> key = ReadFile(files.key_file, "key file");
  if (!key.ok()) return key.status();
  absl::Status match = pki::CheckKeyMatchesCertificate(*key, *cert);
  OPENSSL_cleanse(key->data(), key->size());
  if (!match.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("key file ", files.key_file, ": ",
                                                   match.message(), " ", files.cert_file));
  }
  absl::StatusOr<std::string> ca = ReadFile(files.ca_file, "CA file");
  if (!ca.ok()) return ca.status();
  if (!pki::ParseCertificatePem(*ca).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("CA file ", files.ca_file, " holds no PEM certificate"));
  }
  if (require_crl_dir) {
    struct stat st;
    if (files.crl_dir.empty() || stat(files.crl_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::NotFoundError(
          absl::StrCat("CRL directory '", files.crl_dir, "' does not exist"));
    }
    absl::StatusOr<absl::Time> next_update = pki::CheckCrlDirectory(files.crl_dir, *ca);
    if (!next_update.ok()) return next_update.status();
  }
  return absl::OkStatus();
}

absl::Status CheckOwnTlsFiles(const TlsFiles& files, bool require_crl_dir, v1::Role role,
                              const std::string& consortium) {
  if (absl::Status s = CheckTlsFiles(files, require_crl_dir); !s.ok()) return s;
  absl::StatusOr<pki::CertificateInfo> info = pki::ReadCertificateFile(files.cert_file);
  if (!info.ok()) return info.status();
  if (info->identity.role != role || info->identity.consortium != consortium) {
    return absl::InvalidArgumentError(absl::StrCat(
        "certificate file ", files.cert_file, " is for ", info->identity.Uri(), ", not a ",
        pki::RoleName(role), " of consortium '", consortium, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files) {
  if (absl::Status s = CheckTlsFiles(files, /*require_crl_dir=*/true); !s.ok()) return s;
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key_file, files.cert_file, files.ca_file, files.reload_interval_seconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.set_crl_directory(files.crl_dir);
  return grpc::experimental::TlsServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsFiles& files, const std::string& coordinator_of) {
  if (absl::Status s = CheckTlsFiles(files, /*require_crl_dir=*/false); !s.ok()) return s;
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key_file, files.cert_file, files.ca_file, files.reload_interval_seconds);
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  if (coordinator_of.empty()) {
    options.set_certificate_verifier(
        std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  } else {
    options.set_certificate_verifier(
        grpc::experimental::ExternalCertificateVerifier::Create<CoordinatorVerifier>(
            coordinator_of));
  }
  return grpc::experimental::TlsCredentials(options);
}

grpc::ChannelArguments DefaultChannelArguments() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(transfer::kGrpcMaxMessageBytes);
  args.SetMaxSendMessageSize(transfer::kGrpcMaxMessageBytes);
  return args;
}

}  // namespace tverr::tls
