// The audit log's Ed25519 key, separate from every TLS key: it signs tree
// heads (docs/audit.md), and auditors and nodes verify them with the public
// key alone.
//
// Files: the private key as PKCS#8 PEM ("BEGIN PRIVATE KEY", unencrypted,
// mode 0600), the public key as SubjectPublicKeyInfo PEM ("BEGIN PUBLIC
// KEY"). key_id = lower-case hex SHA-256 of the raw 32-byte public key.
// Nothing here logs, and no status message holds key material.
//
// Thread-safe: a loaded key may sign and verify from several threads.
#ifndef TVERR_COMMON_AUDIT_AUDIT_KEY_H_
#define TVERR_COMMON_AUDIT_AUDIT_KEY_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tverr/v1/audit.pb.h"

namespace tverr::audit {

// The exact bytes signed for a tree head (all integers big-endian):
//
//   "tverr-audit-tree-head-v1\0"          25 bytes, the NUL included
//   tree_size                             8 bytes
//   root                                  32 bytes (root_sha256 decoded)
//   len(time)      ‖ time                 4-byte length, then UTF-8 bytes
//   len(run_id)    ‖ run_id               4-byte length, then UTF-8 bytes
//   round                                 8 bytes
//
// key_id and signature are not signed. INVALID_ARGUMENT if root_sha256 is
// not 64 lower-case hex digits.
absl::StatusOr<std::string> TreeHeadSigningBytes(const v1::AuditTreeHead& head);

class AuditKey {
 public:
  // Creates a new key pair: the private key at `private_key_path` (mode
  // 0600) and the public key at `public_key_path` (mode 0644), each written
  // and fsync'd, then their directories fsync'd. Never overwrites:
  // ALREADY_EXISTS if either file exists; INTERNAL on I/O or OpenSSL errors.
  static absl::StatusOr<std::unique_ptr<AuditKey>> Generate(const std::string& private_key_path,
                                                            const std::string& public_key_path);

  // Loads a private key written by Generate. NOT_FOUND if the file is
  // missing; INVALID_ARGUMENT if it is not an unencrypted Ed25519 PEM key.
  static absl::StatusOr<std::unique_ptr<AuditKey>> Load(const std::string& private_key_path);

  ~AuditKey();
  AuditKey(const AuditKey&) = delete;
  AuditKey& operator=(const AuditKey&) = delete;

  // Hex SHA-256 of the raw public key.
  const std::string& key_id() const { return key_id_; }
  // SubjectPublicKeyInfo PEM of the public key.
  const std::string& public_key_pem() const { return public_key_pem_; }

  // The 64-byte Ed25519 signature of `message`.
  absl::StatusOr<std::string> Sign(absl::string_view message) const;

  // Sets head->key_id to this key's id and head->signature to the hex
  // signature of TreeHeadSigningBytes(*head).
  absl::Status SignTreeHead(v1::AuditTreeHead* head) const;

 private:
  AuditKey(void* pkey, std::string key_id, std::string public_key_pem);

  void* pkey_;  // EVP_PKEY*, opaque so that OpenSSL stays out of this header
  std::string key_id_;
  std::string public_key_pem_;
};

// An audit public key, for verifying tree heads. Copyable.
class AuditPublicKey {
 public:
  // From SubjectPublicKeyInfo PEM. INVALID_ARGUMENT if it is not an Ed25519
  // public key.
  static absl::StatusOr<AuditPublicKey> FromPem(absl::string_view pem);

  const std::string& key_id() const { return key_id_; }

  // OK if `head` carries this key's id and a valid signature over
  // TreeHeadSigningBytes(head). UNAUTHENTICATED if the key id differs
  // ("signed by another key") or the signature does not verify;
  // INVALID_ARGUMENT if the root or the signature is not well-formed hex.
  absl::Status VerifyTreeHead(const v1::AuditTreeHead& head) const;

 private:
  std::shared_ptr<void> pkey_;  // EVP_PKEY*, shared by copies (OpenSSL stays out of here)
  std::string key_id_;
};

// AuditPublicKey::FromPem(public_key_pem), then VerifyTreeHead(head).
absl::Status VerifyTreeHead(const v1::AuditTreeHead& head, absl::string_view public_key_pem);

}  // namespace tverr::audit

#endif  // TVERR_COMMON_AUDIT_AUDIT_KEY_H_
