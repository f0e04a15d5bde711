// Mutual TLS and authorisation against a real in-process coordinator: who
// gets through the handshake, and who may call what.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "common/pki/certificate.h"
#include "common/pki/key_request.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/support/subprocess.h"
#include "tverr/v1/auditor.grpc.pb.h"
#include "tverr/v1/node.grpc.pb.h"
#include "tverr/v1/researcher.grpc.pb.h"

namespace tverr::testing {
namespace {

class TransportTest : public CoordinatorFixture {
 protected:
  grpc::Status Join(std::shared_ptr<grpc::Channel> channel, v1::JoinResponse* response) {
    auto stub = v1::NodeService::NewStub(channel);
    v1::JoinRequest request;
    request.set_software_version("test");
    auto ctx = ContextWithDeadline();
    return stub->Join(ctx.get(), request, response);
  }

  absl::StatusOr<v1::ListNodesResponse> ListNodes() {
    auto stub = v1::OperatorService::NewStub(ChannelFor(pki_->Issue(v1::ROLE_OPERATOR, "ops")));
    auto ctx = ContextWithDeadline();
    v1::ListNodesResponse response;
    grpc::Status s = stub->ListNodes(ctx.get(), v1::ListNodesRequest(), &response);
    if (!s.ok()) return absl::UnknownError(s.error_message());
    return response;
  }

  // Expects the handshake to fail: UNAVAILABLE and nothing recorded.
  void ExpectRefusedAtHandshake(std::shared_ptr<grpc::Channel> channel) {
    v1::JoinResponse response;
    grpc::Status s = Join(channel, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
    EXPECT_EQ(channel->GetState(false), GRPC_CHANNEL_TRANSIENT_FAILURE);
    auto nodes = ListNodes();
    ASSERT_TRUE(nodes.ok()) << nodes.status();
    EXPECT_EQ(nodes->nodes_size(), 0) << "a refused client must not reach the registry";
  }
};

TEST_F(TransportTest, NodeWithValidCertificateJoinsAndIsRegistered) {
  TlsDir node = pki_->Issue(v1::ROLE_NODE, "oslo-uh");
  v1::JoinResponse response;
  grpc::Status s = Join(ChannelFor(node), &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.identity(), "fl://nordic/node/oslo-uh");
  EXPECT_FALSE(response.session_id().empty());

  auto nodes = ListNodes();
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  ASSERT_EQ(nodes->nodes_size(), 1);
  EXPECT_EQ(nodes->nodes(0).identity(), "fl://nordic/node/oslo-uh");
  EXPECT_EQ(nodes->nodes(0).software_version(), "test");
  auto info = pki::ReadCertificateFile(node.cert());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(nodes->nodes(0).certificate_sha256(), info->sha256_hex);
}

TEST_F(TransportTest, ClientWithoutCertificateIsRefusedAtHandshake) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFileOrEmpty(coordinator_tls_.ca());
  auto channel = grpc::CreateCustomChannel(target(), grpc::SslCredentials(ssl), UnsharedArgs());
  ExpectRefusedAtHandshake(channel);

  // Control: the same kind of client with a certificate gets through, so
  // the refusal above is about the missing certificate.
  TlsDir node = pki_->Issue(v1::ROLE_NODE, "control");
  ssl.pem_cert_chain = ReadFileOrEmpty(node.cert());
  ssl.pem_private_key = ReadFileOrEmpty(node.key());
  v1::JoinResponse response;
  grpc::Status s = Join(
      grpc::CreateCustomChannel(target(), grpc::SslCredentials(ssl), UnsharedArgs()), &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(TransportTest, CertificateFromAnotherCaIsRefusedAtHandshake) {
  TestPki other(tmp_.Sub("other-pki"), "nordic");  // same consortium name, other key
  TlsDir impostor = other.Issue(v1::ROLE_NODE, "oslo-uh");
  // Trust our CA for the server, present the other CA's certificate.
  WriteFileOrDie(impostor.ca(), ReadFileOrEmpty(coordinator_tls_.ca()));
  ExpectRefusedAtHandshake(ChannelFor(impostor));
  // Control: the same identity from our CA gets in.
  v1::JoinResponse response;
  EXPECT_TRUE(Join(ChannelFor(pki_->Issue(v1::ROLE_NODE, "oslo-uh")), &response).ok());
}

TEST_F(TransportTest, ExpiredCertificateIsRefusedAtHandshake) {
  absl::Time now = absl::Now();
  TlsDir expired = pki_->Issue(v1::ROLE_NODE, "expired", now - absl::Hours(48),
                               now - absl::Hours(24));
  ExpectRefusedAtHandshake(ChannelFor(expired));
  // Control: a current certificate for the same name gets in.
  v1::JoinResponse response;
  EXPECT_TRUE(Join(ChannelFor(pki_->Issue(v1::ROLE_NODE, "expired")), &response).ok());
}

TEST_F(TransportTest, RevokedCertificateIsRefusedAtHandshake) {
  TlsDir node = pki_->Issue(v1::ROLE_NODE, "bergen");
  v1::JoinResponse response;
  ASSERT_TRUE(Join(ChannelFor(node), &response).ok()) << "must work before revocation";

  auto info = pki::ReadCertificateFile(node.cert());
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(pki_->ca().Revoke(info->serial_hex).ok());

  // New connections of the revoked certificate fail; the running
  // coordinator picks the new CRL up without a restart.
  grpc::Status s = Join(ChannelFor(node), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  // Others still get in.
  EXPECT_TRUE(Join(ChannelFor(pki_->Issue(v1::ROLE_NODE, "tromso")), &response).ok());
}

TEST_F(TransportTest, NodeCallingResearcherRpcGetsPermissionDenied) {
  auto channel = ChannelFor(pki_->Issue(v1::ROLE_NODE, "oslo-uh"));
  auto stub = v1::ResearcherService::NewStub(channel);
  auto ctx = ContextWithDeadline();
  v1::CreateRunResponse response;
  grpc::Status s = stub->CreateRun(ctx.get(), v1::CreateRunRequest(), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("role 'node' may not call"), std::string::npos)
      << s.error_message();
}

TEST_F(TransportTest, EachRoleIsConfinedToItsServices) {
  struct Case {
    v1::Role role;
    grpc::StatusCode join, list_nodes, read_audit, start_run;
  };
  using C = grpc::StatusCode;
  const Case cases[] = {
      {v1::ROLE_NODE, C::OK, C::PERMISSION_DENIED, C::PERMISSION_DENIED, C::PERMISSION_DENIED},
      {v1::ROLE_RESEARCHER, C::PERMISSION_DENIED, C::OK, C::PERMISSION_DENIED, C::NOT_FOUND},
      {v1::ROLE_AUDITOR, C::PERMISSION_DENIED, C::OK, C::OK, C::PERMISSION_DENIED},
      {v1::ROLE_OPERATOR, C::PERMISSION_DENIED, C::OK, C::PERMISSION_DENIED,
       C::PERMISSION_DENIED},
      {v1::ROLE_COORDINATOR, C::PERMISSION_DENIED, C::PERMISSION_DENIED, C::PERMISSION_DENIED,
       C::PERMISSION_DENIED},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(pki::RoleName(c.role));
    auto channel = ChannelFor(pki_->Issue(c.role, "someone-" + pki::RoleName(c.role)));
    v1::JoinResponse join;
    EXPECT_EQ(Join(channel, &join).error_code(), c.join);

    v1::ListNodesResponse nodes;
    auto ctx1 = ContextWithDeadline();
    EXPECT_EQ(v1::OperatorService::NewStub(channel)
                  ->ListNodes(ctx1.get(), v1::ListNodesRequest(), &nodes)
                  .error_code(),
              c.list_nodes);

    v1::ReadEntriesResponse entries;
    auto ctx2 = ContextWithDeadline();
    EXPECT_EQ(v1::AuditorService::NewStub(channel)
                  ->ReadEntries(ctx2.get(), v1::ReadEntriesRequest(), &entries)
                  .error_code(),
              c.read_audit);

    v1::RunStatus status;
    auto ctx3 = ContextWithDeadline();
    EXPECT_EQ(v1::ResearcherService::NewStub(channel)
                  ->StartRun(ctx3.get(), v1::RunRef(), &status)
                  .error_code(),
              c.start_run);
  }
}

TEST_F(TransportTest, CertificateOfAnotherConsortiumGetsPermissionDenied) {
  // A CA only issues for its own consortium, so the outsider comes from a
  // "baltic" CA that the coordinator has been told to trust as well (a
  // misconfiguration the consortium check must still catch).
  TestPki baltic(tmp_.Sub("baltic-pki"), "baltic");
  TlsDir outsider = baltic.Issue(v1::ROLE_OPERATOR, "ops");
  // The coordinator must trust both CAs for the handshake to pass: restart
  // it with a CA bundle and both CRLs.
  server_->Shutdown();
  server_.reset();
  std::string bundle = ReadFileOrEmpty(coordinator_tls_.ca()) + ReadFileOrEmpty(baltic.ca_file());
  WriteFileOrDie(coordinator_tls_.ca(), bundle);
  for (const auto& entry : std::filesystem::directory_iterator(baltic.crl_dir())) {
    WriteFileOrDie(pki_->crl_dir() + "/" + entry.path().filename().string(),
                   ReadFileOrEmpty(entry.path().string()));
  }
  StartCoordinator(coordinator_tls_, 0);
  WriteFileOrDie(outsider.ca(), bundle);
  auto stub = v1::OperatorService::NewStub(ChannelFor(outsider));
  auto ctx = ContextWithDeadline();
  v1::ListNodesResponse nodes;
  grpc::Status s = stub->ListNodes(ctx.get(), v1::ListNodesRequest(), &nodes);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_NE(s.error_message().find("consortium 'baltic'"), std::string::npos);
}

// The fingerprint of the certificate the server presented on `channel`.
std::string ServerCertificateSha256(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = v1::NodeService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::JoinRequest request;
  request.set_software_version("test");
  v1::JoinResponse response;
  grpc::Status s = stub->Join(&ctx, request, &response);
  if (!s.ok()) return "error: " + s.error_message();
  auto pems = ctx.auth_context()->FindPropertyValues("x509_pem_cert");
  if (pems.empty()) return "no certificate";
  auto info = pki::ParseCertificatePem(absl::string_view(pems[0].data(), pems[0].size()));
  return info.ok() ? info->sha256_hex : "unparseable";
}

TEST_F(TransportTest, RotatedServerCertificateIsUsedByNewConnectionsWithoutRestart) {
  TlsDir node = pki_->Issue(v1::ROLE_NODE, "oslo-uh");
  auto old_info = pki::ReadCertificateFile(coordinator_tls_.cert());
  ASSERT_TRUE(old_info.ok());
  EXPECT_EQ(ServerCertificateSha256(ChannelFor(node)), old_info->sha256_hex);

  // Rotate: a new key and certificate replace the files atomically.
  auto issued = pki_->ca().Issue(pki::IssueOptions{
      {"nordic", v1::ROLE_COORDINATOR, "coordinator"}, {"localhost"}, {"127.0.0.1"}});
  ASSERT_TRUE(issued.ok());
  ASSERT_TRUE(pki::WriteSecretFile(coordinator_tls_.key(), issued->first).ok());
  ASSERT_TRUE(pki::WritePublicFile(coordinator_tls_.cert(), issued->second).ok());
  auto new_info = pki::ParseCertificatePem(issued->second);
  ASSERT_TRUE(new_info.ok());
  ASSERT_NE(new_info->sha256_hex, old_info->sha256_hex);

  // The coordinator re-reads its files every second (reload interval).
  std::string seen;
  EXPECT_TRUE(WaitFor(
      [&] {
        seen = ServerCertificateSha256(ChannelFor(node));
        return seen == new_info->sha256_hex;
      },
      absl::Seconds(15)))
      << "last seen: " << seen;
}

// A server at the coordinator's address that is not our coordinator: a real
// TLS server with the coordinator certificate of another consortium whose
// CA the node also trusts (a hospital in two consortia keeps both CAs in its
// bundle). Chain and host name are fine; only role and consortium tell it
// apart. It counts the calls that reach it.
class ImpostorNodeService final : public v1::NodeService::Service {
 public:
  grpc::Status Join(grpc::ServerContext*, const v1::JoinRequest*, v1::JoinResponse*) override {
    ++joins;
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "impostor");
  }
  std::atomic<int> joins{0};
};

TEST_F(TransportTest, ClientsRefuseAServerThatIsNotTheirConsortiumsCoordinator) {
  TestPki baltic(tmp_.Sub("baltic-pki"), "baltic");
  TlsDir impostor = baltic.Issue(v1::ROLE_COORDINATOR, "coordinator");
  const std::string bundle = tmp_.Sub("bundle.pem");
  WriteFileOrDie(bundle, ReadFileOrEmpty(pki_->ca_file()) + ReadFileOrEmpty(baltic.ca_file()));
  const std::string crls = tmp_.Sub("bundle-crl");
  std::filesystem::create_directories(crls);
  for (const std::string& dir : {pki_->crl_dir(), baltic.crl_dir()}) {
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
      std::filesystem::copy_file(f.path(), crls + "/" + f.path().filename().string());
    }
  }
  auto creds = tls::MakeServerCredentials({impostor.cert(), impostor.key(), bundle, crls});
  ASSERT_TRUE(creds.ok()) << creds.status();
  ImpostorNodeService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", *creds, &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  const std::string address = absl::StrCat("localhost:", port);

  TlsDir node = pki_->Issue(v1::ROLE_NODE, "oslo-uh");
  tls::TlsFiles files{node.cert(), node.key(), bundle, "", 1};
  auto channel_to = [&](const std::string& target, const std::string& coordinator_of) {
    auto c = tls::MakeChannelCredentials(files, coordinator_of);
    EXPECT_TRUE(c.ok()) << c.status();
    return grpc::CreateCustomChannel(target, *c, UnsharedArgs());
  };

  // A node's channel (a coordinator of "nordic" expected): refused in the
  // handshake, before any call reaches the impostor.
  v1::JoinResponse response;
  grpc::Status s = Join(channel_to(address, "nordic"), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_NE(s.error_message().find("server presents fl://baltic/coordinator/coordinator, not a "
                                   "coordinator of consortium 'nordic'"),
            std::string::npos)
      << s.error_message();
  EXPECT_EQ(service.joins, 0);

  // Control: without the expectation the call gets through, so the refusal
  // above is the role and consortium check.
  s = Join(channel_to(address, ""), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
  EXPECT_EQ(service.joins, 1);

  // Our coordinator passes; it is refused where another consortium's is
  // expected.
  s = Join(channel_to(target(), "nordic"), &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = Join(channel_to(target(), "baltic"), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  server->Shutdown();
}

}  // namespace
}  // namespace tverr::testing
