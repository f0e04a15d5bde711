#include "common/pki/certificate_authority.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/pki/certificate.h"
#include "common/pki/key_request.h"
#include "common/status/status_macros.h"

namespace tverr::pki {
namespace {

namespace fs = std::filesystem;

// RAII for the OpenSSL objects this file touches (see certificate.cc for why
// each pki .cc keeps its own).
template <auto kFree>
struct OpenSslFree {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpenSslFree<ASN1_INTEGER_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, OpenSslFree<ASN1_STRING_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, OpenSslFree<ASN1_TIME_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslFree<BN_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslFree<BIO_free_all>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, OpenSslFree<GENERAL_NAME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslFree<GENERAL_NAMES_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OpenSslFree<X509_CRL_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslFree<X509_EXTENSION_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslFree<X509_REQ_free>>;
using X509RevokedPtr = std::unique_ptr<X509_REVOKED, OpenSslFree<X509_REVOKED_free>>;

constexpr char kCertFile[] = "ca.crt";
constexpr char kKeyFile[] = "ca.key";
constexpr char kIndexFile[] = "index.tsv";
constexpr char kCrlDir[] = "crl";
constexpr absl::Duration kBackdate = absl::Minutes(5);  // Tolerates clock skew.
constexpr absl::Duration kLeafValidity = absl::Hours(24 * 365);
constexpr absl::Duration kCrlValidity = absl::Hours(24 * 30);

// `what` plus OpenSSL's reason for the most recent failure; clears the error
// queue so a later call does not report a stale error.
absl::Status OpenSslError(absl::StatusCode code, absl::string_view what) {
  unsigned long err = ERR_peek_last_error();
  ERR_clear_error();
  if (err == 0) return absl::Status(code, what);
  char buf[256];
  ERR_error_string_n(err, buf, sizeof(buf));
  return absl::Status(code, absl::StrCat(what, ": ", buf));
}
absl::Status Internal(absl::string_view what) {
  return OpenSslError(absl::StatusCode::kInternal, what);
}

std::string JoinPath(const std::string& dir, absl::string_view name) {
  return (fs::path(dir) / std::string(name)).string();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  std::string contents;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) contents.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return contents;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

// Lower-case hex without leading zeros, as CertificateInfo::serial_hex.
// Also accepts what `openssl x509 -serial` or `-text` print.
std::string NormalizeSerial(absl::string_view serial) {
  std::string s = absl::AsciiStrToLower(serial);
  if (absl::StartsWith(s, "0x")) s.erase(0, 2);
  s.erase(std::remove(s.begin(), s.end(), ':'), s.end());
  size_t first = s.find_first_not_of('0');
  return first == std::string::npos ? "0" : s.substr(first);
}

std::string SerialHexOf(const ASN1_INTEGER* serial) {
  BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  char* hex = bn ? BN_bn2hex(bn.get()) : nullptr;
  if (hex == nullptr) return "";
  std::string out = NormalizeSerial(hex);
  OPENSSL_free(hex);
  return out;
}

absl::StatusOr<Asn1IntegerPtr> SerialToAsn1(const std::string& serial_hex) {
  BIGNUM* raw = nullptr;
  if (BN_hex2bn(&raw, serial_hex.c_str()) != static_cast<int>(serial_hex.size())) {
    BN_free(raw);
    return absl::InvalidArgumentError(absl::StrCat("serial \"", serial_hex, "\" is not hex"));
  }
  BignumPtr bn(raw);
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (serial == nullptr) return Internal("BN_to_ASN1_INTEGER");
  return serial;
}

// 128 random bits, positive and non-zero (RFC 5280 serials are positive).
absl::StatusOr<Asn1IntegerPtr> RandomSerial() {
  unsigned char bytes[16];
  BignumPtr bn;
  do {
    if (RAND_bytes(bytes, sizeof(bytes)) != 1) return Internal("RAND_bytes");
    bn.reset(BN_bin2bn(bytes, sizeof(bytes), nullptr));
    if (bn == nullptr) return Internal("BN_bin2bn");
  } while (BN_is_zero(bn.get()));
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (serial == nullptr) return Internal("BN_to_ASN1_INTEGER");
  return serial;
}

absl::StatusOr<Asn1TimePtr> ToAsn1Time(absl::Time t) {
  Asn1TimePtr out(ASN1_TIME_set(nullptr, absl::ToTimeT(t)));
  if (out == nullptr) return Internal(absl::StrCat("cannot encode time ", Rfc3339(t)));
  return out;
}

template <typename T>
absl::StatusOr<std::string> ToPem(int (*write)(BIO*, const T*), const T* object) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || write(bio.get(), object) != 1) return Internal("PEM encoding");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

// PKCS#8 PEM through a secure-memory BIO that is wiped when freed.
absl::StatusOr<std::string> PrivateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Internal("cannot encode private key");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

absl::Status AddName(GENERAL_NAMES* names, int type, Asn1StringPtr value) {
  GeneralNamePtr name(GENERAL_NAME_new());
  if (name == nullptr) return Internal("GENERAL_NAME_new");
  GENERAL_NAME_set0_value(name.get(), type, value.release());
  if (sk_GENERAL_NAME_push(names, name.get()) == 0) return Internal("sk_GENERAL_NAME_push");
  name.release();  // Owned by `names` now.
  return absl::OkStatus();
}

absl::Status AddIa5Name(GENERAL_NAMES* names, int type, absl::string_view text) {
  Asn1StringPtr s(ASN1_IA5STRING_new());
  if (s == nullptr || ASN1_STRING_set(s.get(), text.data(), static_cast<int>(text.size())) != 1) {
    return Internal("ASN1_STRING_set");
  }
  return AddName(names, type, std::move(s));
}

// subjectAltName from GENERAL_NAMEs (not a config string, so no value can
// smuggle in another entry). DNS names were validated by the caller.
absl::StatusOr<X509ExtensionPtr> MakeSanExtension(const IssueOptions& options) {
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (names == nullptr) return Internal("GENERAL_NAMES_new");
  RETURN_IF_ERROR(AddIa5Name(names.get(), GEN_URI, options.identity.Uri()));
  for (const std::string& dns : options.dns_names) {
    RETURN_IF_ERROR(AddIa5Name(names.get(), GEN_DNS, dns));
  }
  for (const std::string& ip : options.ip_addresses) {
    Asn1StringPtr octets(a2i_IPADDRESS(ip.c_str()));
    if (octets == nullptr) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat("invalid IP address \"", ip, "\""));
    }
    RETURN_IF_ERROR(AddName(names.get(), GEN_IPADD, std::move(octets)));
  }
  X509ExtensionPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, /*crit=*/0, names.get()));
  if (ext == nullptr) return Internal("encode subjectAltName");
  return ext;
}

// Letters, digits, '-' and '.'; no wildcards (one would cover unrelated hosts).
absl::Status ValidateDnsName(absl::string_view dns) {
  bool ok = !dns.empty() && dns.size() <= 253 && dns.front() != '.' && dns.front() != '-';
  for (char c : dns) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.');
  }
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("invalid DNS name \"", dns, "\""));
  return absl::OkStatus();
}

// Everything that differs between the CA certificate and a leaf.
struct CertSpec {
  X509* issuer = nullptr;  // nullptr: self-signed.
  EVP_PKEY* signing_key = nullptr;
  EVP_PKEY* subject_key = nullptr;                   // Only its public half is used.
  std::vector<std::pair<int, std::string>> subject;  // Most general first.
  absl::Time not_before;
  absl::Time not_after;
  std::vector<std::pair<int, const char*>> extensions;  // NID, OpenSSL config value.
  X509_EXTENSION* san = nullptr;                        // Optional; copied.
};

absl::Status SetValidity(X509* cert, absl::Time not_before, absl::Time not_after) {
  ASSIGN_OR_RETURN(Asn1TimePtr from, ToAsn1Time(not_before));
  ASSIGN_OR_RETURN(Asn1TimePtr until, ToAsn1Time(not_after));
  if (X509_set1_notBefore(cert, from.get()) != 1 || X509_set1_notAfter(cert, until.get()) != 1) {
    return Internal("cannot set validity");
  }
  return absl::OkStatus();
}

absl::Status SetSubject(X509* cert, const CertSpec& spec) {
  X509_NAME* name = X509_get_subject_name(cert);
  for (const auto& [nid, value] : spec.subject) {
    if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1) {
      return Internal("cannot build subject name");
    }
  }
  X509_NAME* issuer = spec.issuer ? X509_get_subject_name(spec.issuer) : name;
  if (X509_set_issuer_name(cert, issuer) != 1) return Internal("cannot set issuer name");
  return absl::OkStatus();
}

absl::Status AddExtensions(X509* cert, const CertSpec& spec) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, spec.issuer ? spec.issuer : cert, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : spec.extensions) {
    X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
    if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
      return Internal(absl::StrCat("cannot add extension ", OBJ_nid2sn(nid), "=", value));
    }
  }
  if (spec.san != nullptr && X509_add_ext(cert, spec.san, -1) != 1) {
    return Internal("cannot add subjectAltName");
  }
  return absl::OkStatus();
}

absl::StatusOr<X509Ptr> BuildCertificate(const CertSpec& spec, const ASN1_INTEGER* serial) {
  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(cert.get(), const_cast<ASN1_INTEGER*>(serial)) != 1 ||
      X509_set_pubkey(cert.get(), spec.subject_key) != 1) {
    return Internal("cannot start certificate");
  }
  RETURN_IF_ERROR(SetSubject(cert.get(), spec));
  RETURN_IF_ERROR(SetValidity(cert.get(), spec.not_before, spec.not_after));
  RETURN_IF_ERROR(AddExtensions(cert.get(), spec));
  if (X509_sign(cert.get(), spec.signing_key, EVP_sha256()) <= 0) {
    return Internal("cannot sign certificate");
  }
  return cert;
}

absl::StatusOr<EvpPkeyPtr> RequestPublicKey(const std::string& csr_pem) {
  BioPtr bio(BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())));
  X509ReqPtr req(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  EvpPkeyPtr key(req ? X509_REQ_get_pubkey(req.get()) : nullptr);
  if (key == nullptr) return OpenSslError(absl::StatusCode::kInvalidArgument, "request key");
  // Policy: P-256 only, like the keys GenerateKeyAndRequest makes.
  char group[64] = {0};
  if (!EVP_PKEY_is_a(key.get(), "EC") ||
      EVP_PKEY_get_group_name(key.get(), group, sizeof(group), nullptr) != 1 ||
      OBJ_txt2nid(group) != NID_X9_62_prime256v1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("request key must be ECDSA P-256");
  }
  return key;
}

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
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  return X509CrlPtr(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

// The number in an existing CRL, or 0 if there is none we can read.
int64_t CrlNumber(X509_CRL* crl) {
  Asn1IntegerPtr number(crl ? static_cast<ASN1_INTEGER*>(
                                  X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr))
                            : nullptr);
  int64_t value = 0;
  if (number == nullptr || ASN1_INTEGER_get_int64(&value, number.get()) != 1) value = 0;
  ERR_clear_error();
  return value;
}

// lastUpdate of an existing CRL as Unix seconds, or 0.
int64_t CrlLastUpdate(X509_CRL* crl) {
  if (crl == nullptr) return 0;
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_CRL_get0_lastUpdate(crl), &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
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

std::string FormatIndex(const std::vector<IssuedCertificate>& issued) {
  std::string out;
  for (const IssuedCertificate& c : issued) {
    absl::StrAppend(&out, c.serial_hex, "\t", c.role, "\t", c.name, "\t", Rfc3339(c.not_after),
                    "\t", c.revoked ? "R" : "V", "\t", c.revoked ? Rfc3339(c.revoked_at) : "-",
                    "\t", c.sha256_hex, "\n");
  }
  return out;
}

absl::StatusOr<absl::Time> ParseIndexTime(absl::string_view text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("bad time \"", text, "\": ", error));
  }
  return t;
}

absl::StatusOr<IssuedCertificate> ParseIndexLine(absl::string_view line) {
  std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
  if (f.size() != 7) {
    return absl::InvalidArgumentError(absl::StrCat("want 7 fields, got ", f.size()));
  }
  if (f[4] != "V" && f[4] != "R") return absl::InvalidArgumentError("status must be V or R");
  IssuedCertificate c;
  c.serial_hex = std::string(f[0]);
  c.role = std::string(f[1]);
  c.name = std::string(f[2]);
  c.sha256_hex = std::string(f[6]);
  c.revoked = f[4] == "R";
  ASSIGN_OR_RETURN(c.not_after, ParseIndexTime(f[3]));
  if (c.revoked) {
    ASSIGN_OR_RETURN(c.revoked_at, ParseIndexTime(f[5]));
  }
  if (c.serial_hex.empty() || NormalizeSerial(c.serial_hex) != c.serial_hex) {
    return absl::InvalidArgumentError("bad serial");
  }
  RETURN_IF_ERROR(ParseRole(c.role).status());
  RETURN_IF_ERROR(ValidateName("name", c.name));
  return c;
}

absl::StatusOr<std::vector<IssuedCertificate>> ParseIndex(const std::string& path,
                                                          absl::string_view text) {
  std::vector<IssuedCertificate> out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty()) continue;
    absl::StatusOr<IssuedCertificate> c = ParseIndexLine(line);
    if (!c.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " line ", line_number, ": ", c.status().message()));
    }
    out.push_back(*std::move(c));
  }
  return out;
}

// The O= entry of the CA subject: the consortium name.
absl::StatusOr<std::string> ConsortiumOf(X509* ca_cert, const std::string& path) {
  const X509_NAME* subject = X509_get_subject_name(ca_cert);
  int index = X509_NAME_get_index_by_NID(subject, NID_organizationName, -1);
  unsigned char* utf8 = nullptr;
  int len = index < 0 ? -1
                      : ASN1_STRING_to_UTF8(
                            &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
  if (len < 0) return absl::InvalidArgumentError(absl::StrCat(path, ": subject has no O="));
  std::string consortium(reinterpret_cast<char*>(utf8), len);
  OPENSSL_free(utf8);
  absl::Status valid = ValidateName("consortium", consortium);
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", valid.message()));
  return consortium;
}

}  // namespace

struct CertificateAuthority::State {
  std::string dir;
  std::string consortium;
  std::string certificate_pem;
  X509Ptr certificate;
  EvpPkeyPtr key;
  std::vector<IssuedCertificate> issued;

  absl::Status SaveIndex() const {
    return WritePublicFile(JoinPath(dir, kIndexFile), FormatIndex(issued));
  }
  std::vector<IssuedCertificate>::iterator Find(absl::string_view serial) {
    return std::find_if(issued.begin(), issued.end(),
                        [&](const IssuedCertificate& c) { return c.serial_hex == serial; });
  }
  absl::Status ValidateOptions(const IssueOptions& options) const;
  // Resolves the defaults; a leaf may not outlive the CA.
  absl::Status SetLeafValidity(const IssueOptions& options, CertSpec& spec) const;
  // A fresh serial not yet in the index.
  absl::StatusOr<Asn1IntegerPtr> NewSerial();
  // Appends to index.tsv; on failure the certificate counts as not issued.
  absl::Status Record(const CertificateInfo& info, const IssueOptions& options);
};

absl::Status CertificateAuthority::State::ValidateOptions(const IssueOptions& options) const {
  RETURN_IF_ERROR(ParseIdentityUri(options.identity.Uri()).status());
  if (options.identity.consortium != consortium) {
    return absl::InvalidArgumentError(absl::StrCat("identity consortium \"",
                                                   options.identity.consortium,
                                                   "\" is not this CA's (\"", consortium, "\")"));
  }
  const bool has_sans = !options.dns_names.empty() || !options.ip_addresses.empty();
  if (has_sans && options.identity.role != v1::ROLE_COORDINATOR) {
    return absl::InvalidArgumentError("DNS and IP names are only for coordinator certificates");
  }
  for (const std::string& dns : options.dns_names) {
    RETURN_IF_ERROR(ValidateDnsName(dns));
  }
  return absl::OkStatus();
}

absl::Status CertificateAuthority::State::SetLeafValidity(const IssueOptions& options,
                                                          CertSpec& spec) const {
  const absl::Time now = absl::Now();
  spec.not_before =
      options.not_before == absl::InfinitePast() ? now - kBackdate : options.not_before;
  spec.not_after =
      options.not_after == absl::InfinitePast() ? now + kLeafValidity : options.not_after;
  if (spec.not_after <= spec.not_before) {
    return absl::InvalidArgumentError("not_after must be later than not_before");
  }
  time_t not_after = absl::ToTimeT(spec.not_after);
  if (X509_cmp_time(X509_get0_notAfter(certificate.get()), &not_after) < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate would outlive the CA (until ", Rfc3339(spec.not_after), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Asn1IntegerPtr> CertificateAuthority::State::NewSerial() {
  for (;;) {  // A collision is astronomically unlikely, but a reused serial is fatal.
    ASSIGN_OR_RETURN(Asn1IntegerPtr serial, RandomSerial());
    if (Find(SerialHexOf(serial.get())) == issued.end()) return serial;
  }
}

absl::Status CertificateAuthority::State::Record(const CertificateInfo& info,
                                                 const IssueOptions& options) {
  IssuedCertificate record;
  record.serial_hex = info.serial_hex;
  record.role = RoleName(options.identity.role);
  record.name = options.identity.name;
  record.not_after = info.not_after;
  record.sha256_hex = info.sha256_hex;
  issued.push_back(record);
  absl::Status saved = SaveIndex();
  if (!saved.ok()) issued.pop_back();
  return saved;
}

CertificateAuthority::CertificateAuthority(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
CertificateAuthority::~CertificateAuthority() = default;

const std::string& CertificateAuthority::consortium() const { return state_->consortium; }
const std::string& CertificateAuthority::certificate_pem() const { return state_->certificate_pem; }
std::string CertificateAuthority::crl_dir() const { return JoinPath(state_->dir, kCrlDir); }
std::vector<IssuedCertificate> CertificateAuthority::List() const { return state_->issued; }

absl::StatusOr<std::unique_ptr<CertificateAuthority>> CertificateAuthority::Create(
    const std::string& dir, const std::string& consortium, absl::Duration validity) {
  RETURN_IF_ERROR(ValidateName("consortium", consortium));
  if (validity <= kBackdate) return absl::InvalidArgumentError("CA validity too short");
  std::error_code ec;
  if (fs::exists(JoinPath(dir, kCertFile), ec) || fs::exists(JoinPath(dir, kKeyFile), ec)) {
    return absl::AlreadyExistsError(absl::StrCat(dir, " already holds a CA"));
  }
  fs::create_directories(fs::path(dir) / kCrlDir, ec);
  if (ec) return absl::UnknownError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  auto state = std::make_unique<State>();
  state->dir = dir;
  state->consortium = consortium;
  state->key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (state->key == nullptr) return Internal("P-256 key generation");

  CertSpec spec;
  spec.signing_key = state->key.get();
  spec.subject_key = state->key.get();
  spec.subject = {{NID_organizationName, consortium},
                  {NID_commonName, absl::StrCat(consortium, " consortium CA")}};
  const absl::Time now = absl::Now();
  spec.not_before = now - kBackdate;
  spec.not_after = now + validity;
  // pathlen:0: this CA signs leaves only, never another CA.
  spec.extensions = {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign"},
                     {NID_subject_key_identifier, "hash"}};
  ASSIGN_OR_RETURN(Asn1IntegerPtr serial, RandomSerial());
  ASSIGN_OR_RETURN(state->certificate, BuildCertificate(spec, serial.get()));
  ASSIGN_OR_RETURN(state->certificate_pem, ToPem(PEM_write_bio_X509, state->certificate.get()));
  ASSIGN_OR_RETURN(std::string key_pem, PrivateKeyPem(state->key.get()));
  absl::Status written = WriteSecretFile(JoinPath(dir, kKeyFile), key_pem);
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  RETURN_IF_ERROR(written);
  RETURN_IF_ERROR(WritePublicFile(JoinPath(dir, kCertFile), state->certificate_pem));
  RETURN_IF_ERROR(state->SaveIndex());
  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority(std::move(state)));
  // gRPC checks CRLs for the whole chain: without this file every handshake
  // would fail.
  RETURN_IF_ERROR(ca->WriteCrl());
  return ca;
}

absl::StatusOr<std::unique_ptr<CertificateAuthority>> CertificateAuthority::Open(
    const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return absl::NotFoundError(absl::StrCat("no CA directory ", dir));
  auto state = std::make_unique<State>();
  state->dir = dir;
  const std::string cert_path = JoinPath(dir, kCertFile);
  ASSIGN_OR_RETURN(state->certificate_pem, ReadWholeFile(cert_path));
  BioPtr bio(BIO_new_mem_buf(state->certificate_pem.data(),
                             static_cast<int>(state->certificate_pem.size())));
  state->certificate.reset(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (state->certificate == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        absl::StrCat(cert_path, ": not a PEM certificate"));
  }
  ASSIGN_OR_RETURN(state->consortium, ConsortiumOf(state->certificate.get(), cert_path));

  // Read the key straight into OpenSSL so no copy of it sits in our buffers.
  const std::string key_path = JoinPath(dir, kKeyFile);
  if (!fs::exists(key_path, ec)) return absl::NotFoundError(absl::StrCat("missing ", key_path));
  BioPtr key_bio(BIO_new_file(key_path.c_str(), "rb"));
  state->key.reset(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr)
                           : nullptr);
  if (state->key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        absl::StrCat(key_path, ": not a PEM private key"));
  }
  if (X509_check_private_key(state->certificate.get(), state->key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(key_path, " does not match ", cert_path));
  }
  const std::string index_path = JoinPath(dir, kIndexFile);
  ASSIGN_OR_RETURN(std::string index, ReadWholeFile(index_path));
  ASSIGN_OR_RETURN(state->issued, ParseIndex(index_path, index));
  return std::unique_ptr<CertificateAuthority>(new CertificateAuthority(std::move(state)));
}

absl::StatusOr<std::string> CertificateAuthority::SignRequest(const std::string& csr_pem,
                                                              const IssueOptions& options) {
  RETURN_IF_ERROR(state_->ValidateOptions(options));
  ASSIGN_OR_RETURN(RequestInfo requested, ParseRequestPem(csr_pem));
  if (!(requested.identity == options.identity)) {
    return absl::FailedPreconditionError(absl::StrCat("request is for ", requested.identity.Uri(),
                                                      ", not ", options.identity.Uri()));
  }
  ASSIGN_OR_RETURN(EvpPkeyPtr subject_key, RequestPublicKey(csr_pem));
  ASSIGN_OR_RETURN(X509ExtensionPtr san, MakeSanExtension(options));

  CertSpec spec;
  spec.issuer = state_->certificate.get();
  spec.signing_key = state_->key.get();
  spec.subject_key = subject_key.get();
  spec.subject = {{NID_organizationName, options.identity.consortium},
                  {NID_organizationalUnitName, RoleName(options.identity.role)},
                  {NID_commonName, options.identity.name}};
  RETURN_IF_ERROR(state_->SetLeafValidity(options, spec));
  const char* eku =
      options.identity.role == v1::ROLE_COORDINATOR ? "serverAuth,clientAuth" : "clientAuth";
  spec.extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                     {NID_key_usage, "critical,digitalSignature,keyAgreement"},
                     {NID_ext_key_usage, eku},
                     {NID_subject_key_identifier, "hash"},
                     {NID_authority_key_identifier, "keyid:always"}};
  spec.san = san.get();

  ASSIGN_OR_RETURN(Asn1IntegerPtr serial, state_->NewSerial());
  ASSIGN_OR_RETURN(X509Ptr cert, BuildCertificate(spec, serial.get()));
  ASSIGN_OR_RETURN(std::string pem, ToPem(PEM_write_bio_X509, cert.get()));
  // Parsing our own output back checks it and yields what index.tsv records.
  ASSIGN_OR_RETURN(CertificateInfo info, ParseCertificatePem(pem));
  RETURN_IF_ERROR(state_->Record(info, options));
  return pem;
}

absl::StatusOr<std::pair<std::string, std::string>> CertificateAuthority::Issue(
    const IssueOptions& options) {
  // Validate first so a bad request does not cost a key generation.
  RETURN_IF_ERROR(state_->ValidateOptions(options));
  ASSIGN_OR_RETURN(
      KeyAndRequest generated,
      GenerateKeyAndRequest(options.identity, options.dns_names, options.ip_addresses));
  absl::StatusOr<std::string> cert = SignRequest(generated.csr_pem, options);
  if (!cert.ok()) {
    OPENSSL_cleanse(generated.private_key_pem.data(), generated.private_key_pem.size());
    return cert.status();
  }
  return std::make_pair(std::move(generated.private_key_pem), *std::move(cert));
}

absl::Status CertificateAuthority::Revoke(const std::string& serial_hex) {
  const std::string serial = NormalizeSerial(serial_hex);
  auto it = state_->Find(serial);
  if (it == state_->issued.end()) {
    return absl::NotFoundError(absl::StrCat("this CA never issued serial ", serial));
  }
  if (it->revoked) {
    return absl::AlreadyExistsError(
        absl::StrCat("serial ", serial, " was already revoked at ", Rfc3339(it->revoked_at)));
  }
  it->revoked = true;
  // Whole seconds: what index.tsv and the CRL can hold.
  it->revoked_at = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  if (absl::Status saved = state_->SaveIndex(); !saved.ok()) {
    it->revoked = false;
    it->revoked_at = absl::Time();
    return saved;
  }
  // index.tsv is the record; a CRL write failure is fixed by WriteCrl().
  absl::Status crl = WriteCrl();
  if (!crl.ok()) {
    return absl::Status(crl.code(),
                        absl::StrCat("revocation recorded but CRL not rewritten: ", crl.message()));
  }
  return absl::OkStatus();
}

absl::Status CertificateAuthority::WriteCrl() {
  X509* ca_cert = state_->certificate.get();
  const std::string prefix = CrlHashPrefix(ca_cert);
  const int count = ExistingCrlCount(crl_dir(), prefix);
  X509CrlPtr previous =
      count > 0 ? ReadCrlFile(JoinPath(crl_dir(), absl::StrCat(prefix, count - 1))) : nullptr;
  // OpenSSL picks the newest CRL by lastUpdate, which has whole seconds: a
  // new CRL must be at least one second younger than the previous one, or
  // a revocation right after the last CRL would be ignored.
  const int64_t previous_update = CrlLastUpdate(previous.get());
  while (absl::ToUnixSeconds(absl::Now()) <= previous_update) {
    absl::SleepFor(absl::Milliseconds(50));
  }

  X509CrlPtr crl(X509_CRL_new());
  if (crl == nullptr || X509_CRL_set_version(crl.get(), 1) != 1 ||  // 1 = v2
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert)) != 1) {
    return Internal("cannot start CRL");
  }
  const absl::Time now = absl::Now();
  ASSIGN_OR_RETURN(Asn1TimePtr last_update, ToAsn1Time(now));
  ASSIGN_OR_RETURN(Asn1TimePtr next_update, ToAsn1Time(now + kCrlValidity));
  if (X509_CRL_set1_lastUpdate(crl.get(), last_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1) {
    return Internal("cannot set CRL times");
  }
  RETURN_IF_ERROR(AddRevokedEntries(crl.get(), state_->issued));
  // CRL numbers must only grow; the clock keeps them growing even if the old
  // file was lost.
  RETURN_IF_ERROR(AddCrlExtensions(
      crl.get(), ca_cert, std::max(CrlNumber(previous.get()) + 1, absl::ToUnixSeconds(now))));
  if (X509_CRL_sort(crl.get()) != 1 ||
      X509_CRL_sign(crl.get(), state_->key.get(), EVP_sha256()) <= 0) {
    return Internal("cannot sign CRL");
  }
  ASSIGN_OR_RETURN(std::string pem, ToPem(PEM_write_bio_X509_CRL, crl.get()));
  return WritePublicFile(JoinPath(crl_dir(), absl::StrCat(prefix, count)), pem);
}

}  // namespace tverr::pki
