#include "common/tls/credentials.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/pki/certificate.h"
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

absl::Status CheckKeyMatchesCert(const std::string& key_pem, const std::string& cert_pem,
                                 const TlsFiles& files) {
  BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  BIO_free(kb);
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("key file ", files.key_file, " holds no PEM private key"));
  }
  BIO* cb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  BIO_free(cb);
  bool match = cert != nullptr && X509_check_private_key(cert, key) == 1;
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!match) {
    return absl::InvalidArgumentError(absl::StrCat("key file ", files.key_file,
                                                   " does not belong to certificate ",
                                                   files.cert_file));
  }
  return absl::OkStatus();
}

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
  if (absl::Status s = CheckKeyMatchesCert(*key, *cert, files); !s.ok()) return s;
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
    const TlsFiles& files) {
  if (absl::Status s = CheckTlsFiles(files, /*require_crl_dir=*/false); !s.ok()) return s;
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key_file, files.cert_file, files.ca_file, files.reload_interval_seconds);
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  options.set_certificate_verifier(
      std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

grpc::ChannelArguments DefaultChannelArguments() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(transfer::kGrpcMaxMessageBytes);
  args.SetMaxSendMessageSize(transfer::kGrpcMaxMessageBytes);
  return args;
}

}  // namespace tverr::tls
