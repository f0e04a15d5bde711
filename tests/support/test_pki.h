// A consortium CA and certificates for tests, written the way `flctl pki
// issue` writes them: <dir>/<name>/{cert.pem,key.pem,ca.pem}.
#ifndef TVERR_TESTS_SUPPORT_TEST_PKI_H_
#define TVERR_TESTS_SUPPORT_TEST_PKI_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/pki/certificate_authority.h"

namespace tverr::testing {

struct TlsDir {
  std::string dir;
  std::string cert() const { return dir + "/cert.pem"; }
  std::string key() const { return dir + "/key.pem"; }
  std::string ca() const { return dir + "/ca.pem"; }
};

class TestPki {
 public:
  // Creates a CA for `consortium` in `root`/ca. Aborts the test on failure.
  TestPki(const std::string& root, const std::string& consortium);

  // Issues a certificate; for ROLE_COORDINATOR the SANs are localhost and
  // 127.0.0.1. `valid_from`/`valid_until` default to a normal validity.
  TlsDir Issue(v1::Role role, const std::string& name,
               absl::Time valid_from = absl::InfinitePast(),
               absl::Time valid_until = absl::InfinitePast());

  pki::CertificateAuthority& ca() { return *ca_; }
  std::string crl_dir() const { return ca_->crl_dir(); }
  std::string ca_file() const { return root_ + "/ca/ca.crt"; }
  const std::string& consortium() const { return consortium_; }

 private:
  std::string root_;
  std::string consortium_;
  std::unique_ptr<pki::CertificateAuthority> ca_;
};

}  // namespace tverr::testing

#endif  // TVERR_TESTS_SUPPORT_TEST_PKI_H_
