#include "tests/support/test_pki.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/pki/key_request.h"

namespace tverr::testing {

TestPki::TestPki(const std::string& root, const std::string& consortium)
    : root_(root), consortium_(consortium) {
  auto ca = pki::CertificateAuthority::Create(root + "/ca", consortium);
  if (!ca.ok()) {
    ADD_FAILURE() << ca.status();
    std::abort();
  }
  ca_ = std::move(*ca);
}

TlsDir TestPki::Issue(v1::Role role, const std::string& name, absl::Time valid_from,
                      absl::Time valid_until) {
  pki::IssueOptions options;
  options.identity = {consortium_, role, name};
  if (role == v1::ROLE_COORDINATOR) {
    options.dns_names = {"localhost"};
    options.ip_addresses = {"127.0.0.1"};
  }
  options.not_before = valid_from;
  options.not_after = valid_until;
  auto issued = ca_->Issue(options);
  if (!issued.ok()) {
    ADD_FAILURE() << issued.status();
    std::abort();
  }
  TlsDir out{root_ + "/" + pki::RoleName(role) + "-" + name};
  mkdir(out.dir.c_str(), 0750);
  if (!pki::WriteSecretFile(out.key(), issued->first).ok() ||
      !pki::WritePublicFile(out.cert(), issued->second).ok() ||
      !pki::WritePublicFile(out.ca(), ca_->certificate_pem()).ok()) {
    ADD_FAILURE() << "cannot write TLS files to " << out.dir;
    std::abort();
  }
  return out;
}

}  // namespace tverr::testing
