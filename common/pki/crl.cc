#include "common/pki/crl.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/pki/crl_status.h"
#include "common/pki/key_request.h"
#include "common/pki/openssl_util.h"
#include "common/status/status_macros.h"

namespace tverr::pki::internal {
namespace {

// CRLs are named <hash>.r<n> as `openssl rehash` names them, so that
// X509_LOOKUP_hash_dir (and gRPC's crl_directory) finds them. Every new CRL
// gets the next <n> instead of overwriting the last one: a running
// X509_STORE remembers the highest suffix it loaded and only looks for
// higher ones, so an overwritten file would never be re-read and a
// revocation would not reach a running coordinator. OpenSSL then prefers
// the CRL with the latest lastUpdate. Lower suffixes must stay: the lookup
// stops at the first missing one.
std::string CrlHashPrefix(X509* ca_cert) {
  char name[32];
  std::snprintf(name, sizeof(name), "%08lx.r",
                X509_NAME_hash_ex(X509_get_subject_name(ca_cert), nullptr, nullptr, nullptr));
  return name;
}

// Number of consecutive CRL files <hash>.r0, .r1, ... present in `dir`.
int ExistingCrlCount(const std::string& dir, const std::string& prefix) {
  int n = 0;
  std::error_code ec;
  while (std::filesystem::exists(JoinPath(dir, absl::StrCat(prefix, n)), ec)) ++n;
  return n;
}

X509CrlPtr ReadCrlFile(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadWholeFile(path);
  if (!pem.ok()) return nullptr;
  BioPtr bio = MemBio(*pem);
  return X509CrlPtr(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

// The number in an existing CRL, or 0 if there is none we can read.
int64_t CrlNumber(X509_CRL* crl) {
  Asn1IntegerPtr number(
      crl ? static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr))
          : nullptr);
  int64_t value = 0;
  if (number == nullptr || ASN1_INTEGER_get_int64(&value, number.get()) != 1) value = 0;
  ERR_clear_error();
  return value;
}

// lastUpdate of an existing CRL as Unix seconds, or 0.
int64_t CrlLastUpdate(X509_CRL* crl) {
  if (crl == nullptr) return 0;
  absl::StatusOr<absl::Time> last_update = AsnTime(X509_CRL_get0_lastUpdate(crl), "lastUpdate");
  return last_update.ok() ? absl::ToUnixSeconds(*last_update) : 0;
}

absl::Status AddRevokedEntries(X509_CRL* crl, const std::vector<IssuedCertificate>& issued) {
  for (const IssuedCertificate& c : issued) {
    if (!c.revoked) continue;
    ASSIGN_OR_RETURN(Asn1IntegerPtr serial, SerialToAsn1(c.serial_hex));
    ASSIGN_OR_RETURN(Asn1TimePtr when, ToAsn1Time(c.revoked_at));
    X509RevokedPtr entry(X509_REVOKED_new());
    if (entry == nullptr || X509_REVOKED_set_serialNumber(entry.get(), serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(entry.get(), when.get()) != 1 ||
        X509_CRL_add0_revoked(crl, entry.get()) != 1) {
      return Internal("cannot add revoked entry");
    }
    entry.release();  // Owned by `crl` now.
  }
  return absl::OkStatus();
}

// cRLNumber and authorityKeyIdentifier (so verifiers match the CRL to the
// CA by key, not only by name).
absl::Status AddCrlExtensions(X509_CRL* crl, X509* ca_cert, int64_t crl_number) {
  Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (number == nullptr || ASN1_INTEGER_set_int64(number.get(), crl_number) != 1 ||
      X509_CRL_add1_ext_i2d(crl, NID_crl_number, number.get(), 0, 0) != 1) {
    return Internal("cannot add CRL number");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca_cert, nullptr, nullptr, crl, 0);
  X509ExtensionPtr aki(
      X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (aki == nullptr || X509_CRL_add_ext(crl, aki.get(), -1) != 1) {
    return Internal("cannot add CRL authorityKeyIdentifier");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteNextCrl(const std::string& crl_dir, X509* ca_cert, EVP_PKEY* ca_key,
                          const std::vector<IssuedCertificate>& issued, absl::Duration validity) {
  const std::string prefix = CrlHashPrefix(ca_cert);
  const int count = ExistingCrlCount(crl_dir, prefix);
  X509CrlPtr previous =
      count > 0 ? ReadCrlFile(JoinPath(crl_dir, absl::StrCat(prefix, count - 1))) : nullptr;
  // OpenSSL picks the newest CRL by lastUpdate, which has whole seconds: a
  // new CRL must be at least one second younger than the previous one, or
  // a revocation right after the last CRL would be ignored.
  // The times come from time(), the clock OpenSSL checks them against:
  // absl::Now() can run a few milliseconds ahead of it, which would make a
  // fresh CRL "not yet valid" just after a second boundary.
  const int64_t previous_update = CrlLastUpdate(previous.get());
  while (static_cast<int64_t>(std::time(nullptr)) <= previous_update) {
    absl::SleepFor(absl::Milliseconds(50));
  }

  X509CrlPtr crl(X509_CRL_new());
  if (crl == nullptr || X509_CRL_set_version(crl.get(), 1) != 1 ||  // 1 = v2
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert)) != 1) {
    return Internal("cannot start CRL");
  }
  const absl::Time now = absl::FromTimeT(std::time(nullptr));
  ASSIGN_OR_RETURN(Asn1TimePtr last_update, ToAsn1Time(now));
  ASSIGN_OR_RETURN(Asn1TimePtr next_update, ToAsn1Time(now + validity));
  if (X509_CRL_set1_lastUpdate(crl.get(), last_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1) {
    return Internal("cannot set CRL times");
  }
  RETURN_IF_ERROR(AddRevokedEntries(crl.get(), issued));
  // CRL numbers must only grow; the clock keeps them growing even if the old
  // file was lost.
  RETURN_IF_ERROR(AddCrlExtensions(
      crl.get(), ca_cert, std::max(CrlNumber(previous.get()) + 1, absl::ToUnixSeconds(now))));
  if (X509_CRL_sort(crl.get()) != 1 || X509_CRL_sign(crl.get(), ca_key, EVP_sha256()) <= 0) {
    return Internal("cannot sign CRL");
  }
  ASSIGN_OR_RETURN(std::string pem, ToPem(PEM_write_bio_X509_CRL, crl.get()));
  return WritePublicFile(JoinPath(crl_dir, absl::StrCat(prefix, count)), pem);
}

}  // namespace tverr::pki::internal

namespace tverr::pki {

absl::StatusOr<absl::Time> CheckCrlDirectory(const std::string& crl_dir,
                                             absl::string_view ca_bundle_pem) {
  using namespace internal;  // NOLINT: the helpers of this file.
  BioPtr bio(BIO_new_mem_buf(ca_bundle_pem.data(), static_cast<int>(ca_bundle_pem.size())));
  if (bio == nullptr) return Internal("BIO_new_mem_buf");
  absl::Time earliest_next = absl::InfiniteFuture();
  int cas = 0;
  const absl::Time now = absl::FromTimeT(std::time(nullptr));
  while (X509Ptr ca{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    ++cas;
    const std::string prefix = CrlHashPrefix(ca.get());
    const int count = ExistingCrlCount(crl_dir, prefix);
    char subject[256];
    X509_NAME_oneline(X509_get_subject_name(ca.get()), subject, sizeof(subject));
    if (count == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "no CRL of CA '", subject, "' in ", crl_dir, " (expected ", prefix,
          "0); without it revoked certificates would be accepted"));
    }
    const std::string newest = JoinPath(crl_dir, absl::StrCat(prefix, count - 1));
    X509CrlPtr crl = ReadCrlFile(newest);
    if (crl == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(newest, " is not a PEM CRL"));
    }
    EVP_PKEY* ca_key = X509_get0_pubkey(ca.get());
    if (ca_key == nullptr || X509_CRL_verify(crl.get(), ca_key) != 1) {
      ERR_clear_error();
      return absl::FailedPreconditionError(
          absl::StrCat(newest, " is not signed by CA '", subject, "'"));
    }
    const ASN1_TIME* next_asn1 = X509_CRL_get0_nextUpdate(crl.get());
    if (next_asn1 == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(newest, " has no nextUpdate"));
    }
    ASSIGN_OR_RETURN(absl::Time next, AsnTime(next_asn1, "nextUpdate"));
    if (next <= now) {
      return absl::FailedPreconditionError(absl::StrCat(
          newest, " expired at ", Rfc3339(next),
          "; every handshake fails until the CA writes a new one (flctl pki crl)"));
    }
    earliest_next = std::min(earliest_next, next);
  }
  ERR_clear_error();  // PEM_read_bio_X509 at end of input.
  if (cas == 0) return absl::InvalidArgumentError("CA bundle holds no certificate");
  return earliest_next;
}

}  // namespace tverr::pki
