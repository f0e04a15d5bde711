// Internal to common/pki: not part of the module's API, include it only from
// common/pki/*.cc (and the pki tests).
//
// The OpenSSL plumbing the pki files share: RAII owners for OpenSSL objects,
// turning OpenSSL and errno failures into absl::Status, building and reading
// subjectAltName entries, serial numbers, times and PEM text.
//
// Every function is thread-safe: none keeps state of its own, and OpenSSL's
// error queue, which OpenSslError reads and clears, is per thread.
#ifndef TVERR_COMMON_PKI_OPENSSL_UTIL_H_
#define TVERR_COMMON_PKI_OPENSSL_UTIL_H_

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/crypto/openssl_error.h"
#include "common/pki/identity.h"

namespace tverr::pki::internal {

// ---- RAII ----

// Deleter calling the OpenSSL free function `kFree`.
template <auto kFree>
struct OpenSslFree {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
// A stack of extensions frees its elements too.
struct ExtensionStackFree {
  void operator()(STACK_OF(X509_EXTENSION) * s) const {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
  }
};
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpenSslFree<ASN1_INTEGER_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, OpenSslFree<ASN1_STRING_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, OpenSslFree<ASN1_TIME_free>>;
using BasicConstraintsPtr = std::unique_ptr<BASIC_CONSTRAINTS, OpenSslFree<BASIC_CONSTRAINTS_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslFree<BN_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslFree<BIO_free_all>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using ExtensionStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionStackFree>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, OpenSslFree<GENERAL_NAME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslFree<GENERAL_NAMES_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OpenSslFree<X509_CRL_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslFree<X509_EXTENSION_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslFree<X509_REQ_free>>;
using X509RevokedPtr = std::unique_ptr<X509_REVOKED, OpenSslFree<X509_REVOKED_free>>;

// ---- Errors ----

// `what` plus OpenSSL's reason for the most recent failure, with `code`;
// clears the error queue so a later call does not report a stale error
// (common/crypto/openssl_error.h).
using crypto::internal::OpenSslError;

// OpenSslError with INTERNAL: for failures that are not the input's fault.
inline absl::Status Internal(absl::string_view what) {
  return crypto::internal::OpenSslInternal(what);
}

// absl::ErrnoToStatus, but never OK: `err` 0 still yields INTERNAL.
absl::Status PosixError(int err, absl::string_view what);

// ---- Files ----

// The whole file. NOT_FOUND if `path` is missing; other errno values map
// likewise (absl::ErrnoToStatus), with the path in the message.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

// `dir`/`name`.
std::string JoinPath(const std::string& dir, absl::string_view name);

// ---- BIOs and PEM ----

// A read-only memory BIO over `data` (which must outlive it); nullptr if
// OpenSSL cannot allocate one.
BioPtr MemBio(absl::string_view data);

// Everything written so far to the memory BIO `bio`.
std::string MemBioContents(BIO* bio);

// `object` in PEM, written by `write` (PEM_write_bio_X509 and the like).
// INTERNAL "<what>: <reason>" on failure.
template <typename T>
absl::StatusOr<std::string> ToPem(int (*write)(BIO*, const T*), const T* object,
                                  absl::string_view what = "PEM encoding") {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || write(bio.get(), object) != 1) return Internal(what);
  return MemBioContents(bio.get());
}

// PKCS#8 PEM, through a secure-memory BIO that is wiped when freed. The
// result is secret: callers wipe it (OPENSSL_cleanse) when done.
absl::StatusOr<std::string> PrivateKeyPem(EVP_PKEY* key);

// A fresh ECDSA P-256 key, the only kind Tverr makes or accepts.
absl::StatusOr<EvpPkeyPtr> GenerateP256Key();

// ---- Names ----

// X.509 name entries (NID, UTF-8 value), most general first.
using NameEntries = std::vector<std::pair<int, std::string>>;

// O=<consortium>, OU=<role>, CN=<name>: the subject of every leaf and request,
// which reads CN=..,OU=..,O=.. in RFC 2253 form.
NameEntries IdentitySubject(const Identity& identity);

// Appends `entries` to `name`. INTERNAL on failure.
absl::Status AddNameEntries(X509_NAME* name, const NameEntries& entries);

// ---- subjectAltName ----

// A DNS SAN: letters, digits, '-' and '.', no wildcards (a node never needs
// one, and a wildcard coordinator certificate would cover unrelated hosts).
// INVALID_ARGUMENT otherwise.
absl::Status ValidateDnsName(absl::string_view dns);

// Appends a GENERAL_NAME of `type` holding `value` to `names`.
absl::Status AddName(GENERAL_NAMES* names, int type, Asn1StringPtr value);

// Appends a GENERAL_NAME of `type` (GEN_URI, GEN_DNS) holding IA5 `text`.
absl::Status AddIa5Name(GENERAL_NAMES* names, int type, absl::string_view text);

// The subjectAltName extension: the fl:// URI, then DNS and IP names. Built
// from GENERAL_NAMEs rather than a config string so no value can smuggle in
// another entry. INVALID_ARGUMENT for a bad DNS name or IP address.
absl::StatusOr<X509ExtensionPtr> MakeSanExtension(const Identity& identity,
                                                  const std::vector<std::string>& dns_names,
                                                  const std::vector<std::string>& ip_addresses);

// The SAN entries Tverr reads, in extension order. Other URIs and other
// entry types are left out.
struct SanNames {
  std::vector<std::string> fl_uris;  // URIs starting with fl://.
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;  // Textual, as IpText prints them.
};
SanNames ReadSanNames(const GENERAL_NAMES* names);  // `names` may be nullptr.

// The bytes of `s`, as they are (no character set conversion).
std::string Asn1String(const ASN1_STRING* s);

// An iPAddress SAN as text ("10.0.0.1", "::1"), or "<n-byte address>" for a
// length that is neither IPv4 nor IPv6.
std::string IpText(const ASN1_OCTET_STRING* ip);

// ---- Serial numbers ----

// Lower-case hex without leading zeros, as CertificateInfo::serial_hex.
// Also accepts what `openssl x509 -serial` or `-text` print ("0x", ':').
std::string NormalizeSerial(absl::string_view serial);

// `serial` as NormalizeSerial text. INVALID_ARGUMENT if it cannot be read,
// INTERNAL if it cannot be printed.
absl::StatusOr<std::string> SerialHex(const ASN1_INTEGER* serial);

// The inverse: INVALID_ARGUMENT if `serial_hex` is not hex.
absl::StatusOr<Asn1IntegerPtr> SerialToAsn1(const std::string& serial_hex);

// ---- Times ----

// `t` as RFC 3339 in UTC, whole seconds: how index.tsv and messages print it.
std::string Rfc3339(absl::Time t);

// `t` as an ASN1_TIME (whole seconds). INTERNAL on failure.
absl::StatusOr<Asn1TimePtr> ToAsn1Time(absl::Time t);

// The inverse. INVALID_ARGUMENT "bad <what> time" for a null or bad `t`.
absl::StatusOr<absl::Time> AsnTime(const ASN1_TIME* t, absl::string_view what);

}  // namespace tverr::pki::internal

#endif  // TVERR_COMMON_PKI_OPENSSL_UTIL_H_
