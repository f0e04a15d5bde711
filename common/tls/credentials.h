// gRPC credentials for Tverr's mutual TLS. Both sides load PEM files through
// gRPC's FileWatcherCertificateProvider, so a rotated certificate/key (or CA
// bundle) on disk is used for new connections without a restart. The server
// requires and verifies a client certificate and checks CRLs from a hashed
// CRL directory. Thread-safe.
#ifndef TVERR_COMMON_TLS_CREDENTIALS_H_
#define TVERR_COMMON_TLS_CREDENTIALS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tverr/v1/common.pb.h"

namespace tverr::tls {

struct TlsFiles {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  // Server only: hashed CRL directory (required there).
  std::string crl_dir;
  // How often files are re-read. Default: 60.
  unsigned int reload_interval_seconds = 60;
};

// Checks the files exist and parse, and that the key belongs to the
// certificate, so that a mistake is reported at start with the file named
// rather than as an opaque handshake failure later. With `require_crl_dir`
// also checks that the CRL directory holds a current CRL of every CA in
// ca_file (pki::CheckCrlDirectory), because gRPC accepts certificates
// unchecked when a CRL is missing.
absl::Status CheckTlsFiles(const TlsFiles& files, bool require_crl_dir);

// CheckTlsFiles, plus: our own certificate names `role` in `consortium`.
// A node must not start with a researcher's certificate, a coordinator not
// with one of another consortium.
absl::Status CheckOwnTlsFiles(const TlsFiles& files, bool require_crl_dir, v1::Role role,
                              const std::string& consortium);

// Credentials for fl-coordinator.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files);

// Credentials for clients (fl-node, flctl): present our certificate, verify
// the server's certificate against the CA and its DNS/IP SAN against the
// host we dial. With `coordinator_of` (a consortium name) the server must
// also present a coordinator certificate of that consortium. That is
// checked in every TLS handshake, including the reconnections gRPC makes by
// itself, so no call of the channel (an upload included) ever reaches
// another server; a refused handshake fails the call with UNAVAILABLE.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsFiles& files, const std::string& coordinator_of = "");

// Channel arguments every Tverr client uses (message size for chunking).
grpc::ChannelArguments DefaultChannelArguments();

}  // namespace tverr::tls

#endif  // TVERR_COMMON_TLS_CREDENTIALS_H_
