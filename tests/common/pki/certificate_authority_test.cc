#include "common/pki/certificate_authority.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"
#include "common/pki/certificate.h"
#include "common/pki/key_request.h"
#include "common/pki/openssl_util.h"
#include "gtest/gtest.h"

namespace tverr::pki {
namespace {

namespace fs = std::filesystem;

using internal::Asn1IntegerPtr;
using internal::BioPtr;
using internal::EvpPkeyPtr;
using internal::X509CrlPtr;
using internal::X509Ptr;
using internal::X509ReqPtr;
using StorePtr = std::unique_ptr<X509_STORE, internal::OpenSslFree<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, internal::OpenSslFree<X509_STORE_CTX_free>>;

X509Ptr LoadCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

X509CrlPtr LoadCrl(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) return nullptr;
  return X509CrlPtr(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The CA's newest CRL: <crl_dir>/<subject hash>.r<n> with the highest n
// (every new CRL takes the next suffix, starting at .r0).
std::string CrlPath(const CertificateAuthority& ca) {
  X509Ptr cert = LoadCert(ca.certificate_pem());
  std::string newest;
  for (int n = 0;; ++n) {
    char name[32];
    std::snprintf(name, sizeof(name), "%08lx.r%d",
                  X509_NAME_hash(X509_get_subject_name(cert.get())), n);
    std::string path = (fs::path(ca.crl_dir()) / name).string();
    if (!fs::exists(path)) return newest.empty() ? path : newest;
    newest = path;
  }
}

// Verifies `leaf_pem` against the CA certificate with CRL checks for the
// whole chain, the way gRPC's crl_directory option does. Returns the
// X509_V_* result.
int VerifyWithCrl(const CertificateAuthority& ca, const std::string& leaf_pem, int purpose,
                  bool load_crl = true) {
  StorePtr store(X509_STORE_new());
  X509Ptr ca_cert = LoadCert(ca.certificate_pem());
  X509Ptr leaf = LoadCert(leaf_pem);
  if (!ca_cert || !leaf) return -1;
  X509_STORE_add_cert(store.get(), ca_cert.get());
  if (load_crl) {
    X509CrlPtr crl = LoadCrl(CrlPath(ca));
    if (!crl) return -1;
    X509_STORE_add_crl(store.get(), crl.get());
  }
  X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  if (X509_verify_cert(ctx.get()) == 1) return X509_V_OK;
  return X509_STORE_CTX_get_error(ctx.get());
}

int64_t CrlNumber(const std::string& path) {
  X509CrlPtr crl = LoadCrl(path);
  if (crl == nullptr) return -1;
  Asn1IntegerPtr number(static_cast<ASN1_INTEGER*>(
      X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr)));
  int64_t value = -1;
  if (number != nullptr) ASN1_INTEGER_get_int64(&value, number.get());
  return value;
}

// A self-signed P-256 certificate with the given subjectAltName (OpenSSL
// config syntax; empty for none) and basicConstraints.
std::string SelfSigned(const std::string& san, bool ca) {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> exts = {
      {NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE"}};
  if (!san.empty()) exts.push_back({NID_subject_alt_name, san});
  for (const auto& [nid, value] : exts) {
    X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert.get(), key.get(), EVP_sha256());
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert.get());
  return internal::MemBioContents(bio.get());
}

Identity Node(const std::string& name) { return Identity{"nordic", v1::ROLE_NODE, name}; }

IssueOptions Options(const Identity& identity, std::vector<std::string> dns = {},
                     std::vector<std::string> ips = {}) {
  IssueOptions options;
  options.identity = identity;
  options.dns_names = std::move(dns);
  options.ip_addresses = std::move(ips);
  return options;
}

class CertificateAuthorityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::path(::testing::TempDir()) /
            absl::StrCat("tverr_pki_", info->test_suite_name(), "_", info->name(), "_", getpid());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string CaDir() const { return (root_ / "ca").string(); }

  std::unique_ptr<CertificateAuthority> NewCa() {
    absl::StatusOr<std::unique_ptr<CertificateAuthority>> ca =
        CertificateAuthority::Create(CaDir(), "nordic");
    EXPECT_TRUE(ca.ok()) << ca.status();
    return ca.ok() ? *std::move(ca) : nullptr;
  }

  std::string IssueCert(CertificateAuthority& ca, const IssueOptions& options) {
    auto issued = ca.Issue(options);
    EXPECT_TRUE(issued.ok()) << issued.status();
    return issued.ok() ? issued->second : "";
  }

  fs::path root_;
};

TEST_F(CertificateAuthorityTest, CreateWritesCaFilesAndEmptyCrl) {
  auto ca = NewCa();
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(ca->consortium(), "nordic");
  struct stat st;
  ASSERT_EQ(stat((fs::path(CaDir()) / "ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(ReadFile((fs::path(CaDir()) / "ca.crt").string()), ca->certificate_pem());
  EXPECT_TRUE(fs::exists(fs::path(CaDir()) / "index.tsv"));
  EXPECT_EQ(ca->crl_dir(), (fs::path(CaDir()) / "crl").string());

  X509CrlPtr crl = LoadCrl(CrlPath(*ca));
  ASSERT_NE(crl, nullptr) << "missing " << CrlPath(*ca);
  EXPECT_EQ(X509_CRL_get_REVOKED(crl.get()), nullptr);  // No entries yet.

  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(ca->certificate_pem());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->is_ca);
  EXPECT_EQ(info->identity, Identity{});
  EXPECT_EQ(info->subject, "CN=nordic consortium CA,O=nordic");
  EXPECT_EQ(info->issuer, info->subject);
}

TEST_F(CertificateAuthorityTest, CreateRefusesExistingCaAndBadConsortium) {
  ASSERT_NE(NewCa(), nullptr);
  EXPECT_EQ(CertificateAuthority::Create(CaDir(), "nordic").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(CertificateAuthority::Create((root_ / "other").string(), "Bad Name").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CertificateAuthorityTest, IssuedCoordinatorCertificateParsesBack) {
  auto ca = NewCa();
  ASSERT_NE(ca, nullptr);
  IssueOptions options;
  options.identity = {"nordic", v1::ROLE_COORDINATOR, "main"};
  options.dns_names = {"coordinator.example.org", "localhost"};
  options.ip_addresses = {"127.0.0.1", "::1"};
  auto issued = ca->Issue(options);
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_NE(issued->first.find("BEGIN PRIVATE KEY"), std::string::npos);

  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(issued->second);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->identity, options.identity);
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->dns_names, options.dns_names);
  EXPECT_EQ(info->ip_addresses, options.ip_addresses);
  EXPECT_EQ(info->subject, "CN=main,OU=coordinator,O=nordic");
  EXPECT_EQ(info->issuer, "CN=nordic consortium CA,O=nordic");
  EXPECT_NEAR(absl::ToDoubleHours(info->not_after - absl::Now()), 365 * 24, 1);
  EXPECT_LT(info->not_before, absl::Now());

  // Fingerprint is SHA-256 over DER; serial is 128 random bits in lower hex.
  X509Ptr cert = LoadCert(issued->second);
  unsigned char* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  ASSERT_GT(len, 0);
  EXPECT_EQ(info->sha256_hex,
            crypto::ToHex(crypto::Sha256(absl::string_view(reinterpret_cast<char*>(der), len))));
  OPENSSL_free(der);
  EXPECT_LE(info->serial_hex.size(), 32u);
  EXPECT_GE(info->serial_hex.size(), 20u);  // Fails with odds ~2^-48.
  EXPECT_EQ(info->serial_hex, absl::AsciiStrToLower(info->serial_hex));
  EXPECT_NE(info->serial_hex[0], '0');

  // The key belongs to the certificate; the coordinator may serve and dial.
  BioPtr key_bio(BIO_new_mem_buf(issued->first.data(), static_cast<int>(issued->first.size())));
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()) & (XKU_SSL_SERVER | XKU_SSL_CLIENT),
            XKU_SSL_SERVER | XKU_SSL_CLIENT);
  EXPECT_EQ(X509_get_key_usage(cert.get()), KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT);

  std::vector<IssuedCertificate> list = ca->List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].serial_hex, info->serial_hex);
  EXPECT_EQ(list[0].sha256_hex, info->sha256_hex);
  EXPECT_EQ(list[0].role, "coordinator");
  EXPECT_EQ(list[0].name, "main");
  EXPECT_EQ(list[0].not_after, info->not_after);
  EXPECT_FALSE(list[0].revoked);
}

TEST_F(CertificateAuthorityTest, NodeCertificateIsClientOnly) {
  auto ca = NewCa();
  ASSERT_NE(ca, nullptr);
  std::string pem = IssueCert(*ca, Options(Node("oslo-uh")));
  X509Ptr cert = LoadCert(pem);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()) & (XKU_SSL_SERVER | XKU_SSL_CLIENT),
            XKU_SSL_CLIENT);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_EQ(VerifyWithCrl(*ca, pem, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_NE(VerifyWithCrl(*ca, pem, X509_PURPOSE_SSL_SERVER), X509_V_OK);
}

TEST_F(CertificateAuthorityTest, RefusesBadIssueOptions) {
  auto ca = NewCa();
  ASSERT_NE(ca, nullptr);
  IssueOptions sans = Options(Node("oslo-uh"), {"oslo.example.org"}, {});
  EXPECT_EQ(ca->Issue(sans).status().code(), absl::StatusCode::kInvalidArgument);
  IssueOptions ip = Options(Node("oslo-uh"), {}, {"10.0.0.1"});
  EXPECT_EQ(ca->Issue(ip).status().code(), absl::StatusCode::kInvalidArgument);
  IssueOptions other = Options({"baltic", v1::ROLE_NODE, "riga"});
  EXPECT_EQ(ca->Issue(other).status().code(), absl::StatusCode::kInvalidArgument);
  IssueOptions no_role = Options({"nordic", v1::ROLE_UNSPECIFIED, "x"});
  EXPECT_EQ(ca->Issue(no_role).status().code(), absl::StatusCode::kInvalidArgument);
  IssueOptions bad_ip = Options({"nordic", v1::ROLE_COORDINATOR, "main"}, {}, {"300.1.1.1"});
  EXPECT_EQ(ca->Issue(bad_ip).status().code(), absl::StatusCode::kInvalidArgument);
  IssueOptions injected =
      Options({"nordic", v1::ROLE_COORDINATOR, "main"}, {"a,URI:fl://x/node/y"}, {});
  EXPECT_EQ(ca->Issue(injected).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ca->List().empty());
}

TEST_F(CertificateAuthorityTest, SignsRequestForMatchingIdentityOnly) {
  auto ca = NewCa();
  ASSERT_NE(ca, nullptr);
  absl::StatusOr<KeyAndRequest> request = GenerateKeyAndRequest(Node("oslo-uh"));
  ASSERT_TRUE(request.ok()) << request.status();
  absl::StatusOr<RequestInfo> parsed = ParseRequestPem(request->csr_pem);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->identity, Node("oslo-uh"));

  absl::StatusOr<std::string> wrong = ca->SignRequest(request->csr_pem, Options(Node("bergen")));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);

  absl::StatusOr<std::string> cert = ca->SignRequest(request->csr_pem, Options(Node("oslo-uh")));
  ASSERT_TRUE(cert.ok()) << cert.status();
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(*cert);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->identity, Node("oslo-uh"));
  // The certificate carries the requester's key, which never left it.
  BioPtr key_bio(BIO_new_mem_buf(request->private_key_pem.data(),
                                 static_cast<int>(request->private_key_pem.size())));
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  EXPECT_EQ(X509_check_private_key(LoadCert(*cert).get(), key.get()), 1);
  EXPECT_EQ(ca->List().size(), 1u);
}

TEST_F(CertificateAuthorityTest, RefusesTamperedRequest) {
  auto ca = NewCa();
  ASSERT_NE(ca, nullptr);
  absl::StatusOr<KeyAndRequest> request = GenerateKeyAndRequest(Node("oslo-uh"));
  ASSERT_TRUE(request.ok()) << request.status();

  // Re-point the signed request at another node, keeping the DER well formed.
  BioPtr in(BIO_new_mem_buf(request->csr_pem.data(), static_cast<int>(request->csr_pem.size())));
  X509ReqPtr req(PEM_read_bio_X509_REQ(in.get(), nullptr, nullptr, nullptr));
  unsigned char* der = nullptr;
  int len = i2d_X509_REQ(req.get(), &der);
  ASSERT_GT(len, 0);
  std::string bytes(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  size_t at = bytes.find("oslo-uh");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'x';
  BioPtr out(BIO_new(BIO_s_mem()));
  ASSERT_GT(PEM_write_bio(out.get(), "CERTIFICATE REQUEST", "",
                          reinterpret_cast<const unsigned char*>(bytes.data()), len),
            0);
  char* data = nullptr;
  long pem_len = BIO_get_mem_data(out.get(), &data);
  const std::string tampered(data, pem_len);

  EXPECT_EQ(ParseRequestPem(tampered).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ca->SignRequest(tampered, Options(Node("xslo-uh"))).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ca->SignRequest(tampered, Options(Node("oslo-uh"))).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ca->SignRequest("not a request", Options(Node("oslo-uh"))).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ca->List().empty());
}

TEST_F(CertificateAuthorityTest, RevokePublishesSerialInCrl) {
  auto ca = NewCa();
  ASSERT_NE(ca, nullptr);
  std::string keep = IssueCert(*ca, Options(Node("bergen")));
  std::string pem = IssueCert(*ca, Options(Node("oslo-uh")));
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(pem);
  ASSERT_TRUE(info.ok()) << info.status();

  const int64_t number_before = CrlNumber(CrlPath(*ca));
  // Serials are matched however an operator copies them.
  ASSERT_TRUE(ca->Revoke(absl::AsciiStrToUpper(info->serial_hex)).ok());

  X509CrlPtr crl = LoadCrl(CrlPath(*ca));
  ASSERT_NE(crl, nullptr);
  X509Ptr ca_cert = LoadCert(ca->certificate_pem());
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca_cert.get())), 1);
  EXPECT_EQ(X509_CRL_get_version(crl.get()), 1);  // v2
  EXPECT_GT(CrlNumber(CrlPath(*ca)), number_before);
  time_t in_29_days = absl::ToTimeT(absl::Now() + absl::Hours(24 * 29));
  time_t in_31_days = absl::ToTimeT(absl::Now() + absl::Hours(24 * 31));
  EXPECT_GT(X509_cmp_time(X509_CRL_get0_nextUpdate(crl.get()), &in_29_days), 0);
  EXPECT_LT(X509_cmp_time(X509_CRL_get0_nextUpdate(crl.get()), &in_31_days), 0);
  X509_REVOKED* entry = nullptr;
  EXPECT_EQ(X509_CRL_get0_by_serial(crl.get(), &entry, X509_get0_serialNumber(LoadCert(pem).get())),
            1);
  EXPECT_EQ(
      X509_CRL_get0_by_serial(crl.get(), &entry, X509_get0_serialNumber(LoadCert(keep).get())), 0);

  std::vector<IssuedCertificate> list = ca->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_FALSE(list[0].revoked);
  EXPECT_TRUE(list[1].revoked);
  EXPECT_LE(absl::Now() - list[1].revoked_at, absl::Minutes(1));
}

TEST_F(CertificateAuthorityTest, RevokeRefusesTwiceAndUnknown) {
  auto ca = NewCa();
  ASSERT_NE(ca, nullptr);
  absl::StatusOr<CertificateInfo> info =
      ParseCertificatePem(IssueCert(*ca, Options(Node("oslo-uh"))));
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_TRUE(ca->Revoke(info->serial_hex).ok());
  EXPECT_EQ(ca->Revoke(info->serial_hex).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ca->Revoke("abcdef0123").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ca->Revoke("not hex").code(), absl::StatusCode::kNotFound);
}

TEST_F(CertificateAuthorityTest, LeafVerifiesWithCrlCheckUntilRevoked) {
  auto ca = NewCa();
  ASSERT_NE(ca, nullptr);
  IssueOptions coordinator =
      Options({"nordic", v1::ROLE_COORDINATOR, "main"}, {"localhost"}, {"127.0.0.1"});
  std::string server = IssueCert(*ca, coordinator);
  std::string client = IssueCert(*ca, Options(Node("oslo-uh")));
  EXPECT_EQ(VerifyWithCrl(*ca, server, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_EQ(VerifyWithCrl(*ca, client, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  // The store really checks CRLs: without the CA's CRL nothing verifies.
  EXPECT_EQ(VerifyWithCrl(*ca, client, X509_PURPOSE_SSL_CLIENT, /*load_crl=*/false),
            X509_V_ERR_UNABLE_TO_GET_CRL);

  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(client);
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_TRUE(ca->Revoke(info->serial_hex).ok());
  EXPECT_EQ(VerifyWithCrl(*ca, client, X509_PURPOSE_SSL_CLIENT), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(VerifyWithCrl(*ca, server, X509_PURPOSE_SSL_SERVER), X509_V_OK);

  // A refreshed CRL still carries the revocation.
  ASSERT_TRUE(ca->WriteCrl().ok());
  EXPECT_EQ(VerifyWithCrl(*ca, client, X509_PURPOSE_SSL_CLIENT), X509_V_ERR_CERT_REVOKED);
}

TEST_F(CertificateAuthorityTest, IssuesExpiredCertificateOnRequest) {
  auto ca = NewCa();
  ASSERT_NE(ca, nullptr);
  IssueOptions options = Options(Node("oslo-uh"));
  options.not_before = absl::Now() - absl::Hours(48);
  options.not_after = absl::Now() - absl::Hours(24);
  std::string pem = IssueCert(*ca, options);
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_LT(info->not_after, absl::Now());
  EXPECT_EQ(info->not_after, absl::FromUnixSeconds(absl::ToUnixSeconds(options.not_after)));
  EXPECT_EQ(VerifyWithCrl(*ca, pem, X509_PURPOSE_SSL_CLIENT), X509_V_ERR_CERT_HAS_EXPIRED);

  IssueOptions backwards = Options(Node("oslo-uh"));
  backwards.not_before = absl::Now();
  backwards.not_after = absl::Now() - absl::Hours(1);
  EXPECT_EQ(ca->Issue(backwards).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CertificateAuthorityTest, OpenRoundTripsState) {
  auto created = NewCa();
  ASSERT_NE(created, nullptr);
  IssueCert(*created, Options(Node("bergen")));
  absl::StatusOr<CertificateInfo> oslo =
      ParseCertificatePem(IssueCert(*created, Options(Node("oslo-uh"))));
  ASSERT_TRUE(oslo.ok()) << oslo.status();
  ASSERT_TRUE(created->Revoke(oslo->serial_hex).ok());

  absl::StatusOr<std::unique_ptr<CertificateAuthority>> opened =
      CertificateAuthority::Open(CaDir());
  ASSERT_TRUE(opened.ok()) << opened.status();
  CertificateAuthority& ca = **opened;
  EXPECT_EQ(ca.consortium(), "nordic");
  EXPECT_EQ(ca.certificate_pem(), created->certificate_pem());
  std::vector<IssuedCertificate> want = created->List();
  std::vector<IssuedCertificate> got = ca.List();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].serial_hex, want[i].serial_hex);
    EXPECT_EQ(got[i].role, want[i].role);
    EXPECT_EQ(got[i].name, want[i].name);
    EXPECT_EQ(got[i].not_after, want[i].not_after);
    EXPECT_EQ(got[i].revoked, want[i].revoked);
    EXPECT_EQ(got[i].revoked_at, want[i].revoked_at);
    EXPECT_EQ(got[i].sha256_hex, want[i].sha256_hex);
  }
  // The reopened CA still holds its key: it can issue and revoke.
  std::string pem = IssueCert(ca, Options(Node("tromso")));
  EXPECT_EQ(VerifyWithCrl(ca, pem, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_EQ(ca.Revoke(oslo->serial_hex).code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(CertificateAuthorityTest, OpenReportsMissingAndBrokenFiles) {
  EXPECT_EQ(CertificateAuthority::Open((root_ / "nope").string()).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_NE(NewCa(), nullptr);
  const fs::path index = fs::path(CaDir()) / "index.tsv";
  std::ofstream(index) << "garbage\n";
  absl::Status broken = CertificateAuthority::Open(CaDir()).status();
  EXPECT_EQ(broken.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(broken.message().find("index.tsv line 1"), absl::string_view::npos) << broken;
  fs::remove(fs::path(CaDir()) / "ca.key");
  EXPECT_EQ(CertificateAuthority::Open(CaDir()).status().code(), absl::StatusCode::kNotFound);
}

TEST(GenerateKeyAndRequest, RequestCarriesIdentityAndNames) {
  const Identity coordinator{"nordic", v1::ROLE_COORDINATOR, "main"};
  absl::StatusOr<KeyAndRequest> made =
      GenerateKeyAndRequest(coordinator, {"coord.example.org"}, {"10.1.2.3", "fe80::1"});
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_NE(made->private_key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  absl::StatusOr<RequestInfo> info = ParseRequestPem(made->csr_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->identity, coordinator);
  EXPECT_EQ(info->dns_names, std::vector<std::string>{"coord.example.org"});
  EXPECT_EQ(info->ip_addresses, (std::vector<std::string>{"10.1.2.3", "fe80::1"}));

  EXPECT_EQ(GenerateKeyAndRequest(coordinator, {}, {"10.1.2"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GenerateKeyAndRequest({"nordic", v1::ROLE_UNSPECIFIED, "x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GenerateKeyAndRequest({"nordic", v1::ROLE_NODE, "Bad"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseCertificatePem, WantsExactlyOneFlUriUnlessCa) {
  absl::StatusOr<CertificateInfo> one =
      ParseCertificatePem(SelfSigned("URI:https://x.org/,URI:fl://c/node/n,DNS:n.c.org", false));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->identity, (Identity{"c", v1::ROLE_NODE, "n"}));
  EXPECT_EQ(one->dns_names, std::vector<std::string>{"n.c.org"});
  EXPECT_EQ(one->serial_hex, "7");

  EXPECT_EQ(
      ParseCertificatePem(SelfSigned("URI:fl://c/node/n,URI:fl://c/node/m", false)).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseCertificatePem(SelfSigned("DNS:n.c.org", false)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseCertificatePem(SelfSigned("", false)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseCertificatePem(SelfSigned("URI:fl://c/king/n", false)).status().code(),
            absl::StatusCode::kInvalidArgument);

  absl::StatusOr<CertificateInfo> ca = ParseCertificatePem(SelfSigned("", true));
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_TRUE(ca->is_ca);
  EXPECT_EQ(ca->identity.role, v1::ROLE_UNSPECIFIED);

  EXPECT_EQ(ParseCertificatePem("not pem").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadCertificateFile("/nonexistent/cert.pem").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(CertificateAuthorityTest, WriteSecretFileIsOwnerOnlyEvenOverAPublicFile) {
  const std::string path = (root_ / "key.pem").string();
  ASSERT_TRUE(WritePublicFile(path, "old").ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644);

  const mode_t old_umask = umask(0);  // A permissive umask must not widen it.
  absl::Status written = WriteSecretFile(path, "secret");
  umask(old_umask);
  ASSERT_TRUE(written.ok()) << written;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(ReadFile(path), "secret");
  // No temp files are left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(root_), fs::directory_iterator()), 1);
  EXPECT_EQ(WriteSecretFile((root_ / "missing" / "key.pem").string(), "x").code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tverr::pki
