#include "common/pki/certificate_authority.h"

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
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/pki/ca_index.h"
#include "common/pki/certificate.h"
#include "common/pki/crl.h"
#include "common/pki/key_request.h"
#include "common/pki/openssl_util.h"
#include "common/status/status_macros.h"

namespace tverr::pki {
namespace {

namespace fs = std::filesystem;

using internal::Asn1IntegerPtr;
using internal::Asn1TimePtr;
using internal::BignumPtr;
using internal::BioPtr;
using internal::EvpPkeyPtr;
using internal::Internal;
using internal::JoinPath;
using internal::OpenSslError;
using internal::Rfc3339;
using internal::X509ExtensionPtr;
using internal::X509Ptr;
using internal::X509ReqPtr;

constexpr char kCertFile[] = "ca.crt";
constexpr char kKeyFile[] = "ca.key";
constexpr char kIndexFile[] = "index.tsv";
constexpr char kCrlDir[] = "crl";
constexpr absl::Duration kBackdate = absl::Minutes(5);  // Tolerates clock skew.
constexpr absl::Duration kLeafValidity = absl::Hours(24 * 365);
constexpr absl::Duration kCrlValidity = absl::Hours(24 * 30);

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

// Everything that differs between the CA certificate and a leaf.
struct CertSpec {
  X509* issuer = nullptr;  // nullptr: self-signed.
  EVP_PKEY* signing_key = nullptr;
  EVP_PKEY* subject_key = nullptr;  // Only its public half is used.
  internal::NameEntries subject;    // Most general first.
  absl::Time not_before;
  absl::Time not_after;
  std::vector<std::pair<int, const char*>> extensions;  // NID, OpenSSL config value.
  X509_EXTENSION* san = nullptr;                        // Optional; copied.
};

absl::Status SetValidity(X509* cert, absl::Time not_before, absl::Time not_after) {
  ASSIGN_OR_RETURN(Asn1TimePtr from, internal::ToAsn1Time(not_before));
  ASSIGN_OR_RETURN(Asn1TimePtr until, internal::ToAsn1Time(not_after));
  if (X509_set1_notBefore(cert, from.get()) != 1 || X509_set1_notAfter(cert, until.get()) != 1) {
    return Internal("cannot set validity");
  }
  return absl::OkStatus();
}

absl::Status SetSubject(X509* cert, const CertSpec& spec) {
  X509_NAME* name = X509_get_subject_name(cert);
  RETURN_IF_ERROR(internal::AddNameEntries(name, spec.subject));
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
  BioPtr bio = internal::MemBio(csr_pem);
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
    return WritePublicFile(JoinPath(dir, kIndexFile), internal::FormatIndex(issued));
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
    RETURN_IF_ERROR(internal::ValidateDnsName(dns));
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
    ASSIGN_OR_RETURN(std::string serial_hex, internal::SerialHex(serial.get()));
    if (Find(serial_hex) == issued.end()) return serial;
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
  ASSIGN_OR_RETURN(state->key, internal::GenerateP256Key());

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
  ASSIGN_OR_RETURN(state->certificate_pem,
                   internal::ToPem(PEM_write_bio_X509, state->certificate.get()));
  ASSIGN_OR_RETURN(std::string key_pem, internal::PrivateKeyPem(state->key.get()));
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
  ASSIGN_OR_RETURN(state->certificate_pem, internal::ReadWholeFile(cert_path));
  BioPtr bio = internal::MemBio(state->certificate_pem);
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
  ASSIGN_OR_RETURN(std::string index, internal::ReadWholeFile(index_path));
  ASSIGN_OR_RETURN(state->issued, internal::ParseIndex(index_path, index));
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
  ASSIGN_OR_RETURN(
      X509ExtensionPtr san,
      internal::MakeSanExtension(options.identity, options.dns_names, options.ip_addresses));

  CertSpec spec;
  spec.issuer = state_->certificate.get();
  spec.signing_key = state_->key.get();
  spec.subject_key = subject_key.get();
  spec.subject = internal::IdentitySubject(options.identity);
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
  ASSIGN_OR_RETURN(std::string pem, internal::ToPem(PEM_write_bio_X509, cert.get()));
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
  const std::string serial = internal::NormalizeSerial(serial_hex);
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
  // Each CRL takes the next <hash>.r<n> and a lastUpdate later than the
  // previous one's, so a running coordinator picks it up: see crl.cc.
  return internal::WriteNextCrl(crl_dir(), state_->certificate.get(), state_->key.get(),
                                state_->issued, kCrlValidity);
}

}  // namespace tverr::pki
