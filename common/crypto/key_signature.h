// Signatures with a principal's certificate key (the node's TLS key), and
// their verification against the signer's certificate and the consortium
// CA. Secure aggregation signs each node's advertised public keys this way,
// so that peers know the keys come from the node its certificate names and
// the coordinator cannot substitute its own. Thread-safe.
//
// What is signed is never the bare message: it is
//   "tverr-signature-v1" ‖ 0x00 ‖ BE32(context.size()) ‖ context ‖ message,
// so a signature made for one purpose (context) cannot be replayed as one for
// another, nor be confused with the TLS handshake signatures the same key
// makes. ECDSA and RSA keys sign with SHA-256; Ed25519/Ed448 keys sign the
// bytes directly. ECDSA signatures are DER, and randomised.
#ifndef TVERR_COMMON_CRYPTO_KEY_SIGNATURE_H_
#define TVERR_COMMON_CRYPTO_KEY_SIGNATURE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/pki/identity.h"

namespace tverr::crypto {

// Signs `message` under `context` (for example "tverr.secagg.v1.keys") with
// the first private key in `private_key_pem` (unencrypted PEM, as `flctl pki
// issue` writes key.pem). INVALID_ARGUMENT if `context` is empty or the PEM
// holds no usable unencrypted private key; INTERNAL if signing fails.
absl::StatusOr<std::string> SignWithPrivateKeyPem(absl::string_view private_key_pem,
                                                  absl::string_view context,
                                                  absl::string_view message);

// The same with the key read from the file at `path`. NOT_FOUND (or the
// file's other errno status) if it cannot be read.
absl::StatusOr<std::string> SignWithPrivateKeyFile(const std::string& path,
                                                   absl::string_view context,
                                                   absl::string_view message);

struct SignatureTrust {
  // PEM certificates of the CAs to trust (a bundle is fine). Required.
  std::string ca_pem;
  // PEM CRLs. When non-empty, the signer's certificate is checked against
  // them, and a CRL from its issuer must be among them.
  // Default: none, and no revocation check.
  std::vector<std::string> crl_pems;
  // When the signer's certificate must be valid. Default: now.
  std::optional<absl::Time> at;
};

// Checks that the first certificate in `certificate_pem` chains to a CA of
// `trust` (valid at trust.at, not revoked by trust.crl_pems) and that
// `signature` is its key's signature over `message` under `context`. Returns
// the certificate's identity (its fl:// URI SAN, see common/pki/identity.h).
//  - INVALID_ARGUMENT: `context` is empty; a PEM cannot be read; the
//    certificate carries no valid fl:// identity.
//  - UNAUTHENTICATED: the certificate is not trusted (unknown CA, expired,
//    revoked; the message says which), or the signature does not verify.
absl::StatusOr<pki::Identity> VerifySignature(absl::string_view certificate_pem,
                                              absl::string_view context, absl::string_view message,
                                              absl::string_view signature,
                                              const SignatureTrust& trust);

}  // namespace tverr::crypto

#endif  // TVERR_COMMON_CRYPTO_KEY_SIGNATURE_H_
