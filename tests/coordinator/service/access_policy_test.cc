#include "coordinator/service/access_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tverr/v1/auditor.grpc.pb.h"
#include "tverr/v1/node.grpc.pb.h"
#include "tverr/v1/researcher.grpc.pb.h"

namespace tverr::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

// Every RPC of every service must have an entry, or it would be refused to
// everyone; and the table must not name RPCs that do not exist.
TEST(AccessPolicy, CoversExactlyTheRpcsOfAllServices) {
  std::vector<std::string> methods;
  int services = 0;
  for (const google::protobuf::FileDescriptor* file :
       {v1::JoinRequest::descriptor()->file(), v1::ListNodesRequest::descriptor()->file(),
        v1::ReadEntriesRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s, ++services) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int i = 0; i < service->method_count(); ++i) {
        methods.push_back(service->full_name() + "/" + service->method(i)->name());
      }
    }
  }
  EXPECT_EQ(services, 4);
  std::sort(methods.begin(), methods.end());
  std::vector<std::string> table = PolicyMethods();
  std::sort(table.begin(), table.end());
  EXPECT_EQ(methods, table);
  for (const std::string& m : methods) EXPECT_FALSE(AllowedRoles(m).empty()) << m;
}

TEST(AccessPolicy, RolesAreSeparated) {
  EXPECT_THAT(AllowedRoles("tverr.v1.NodeService/Join"), ElementsAre(v1::ROLE_NODE));
  EXPECT_THAT(AllowedRoles("tverr.v1.ResearcherService/CreateRun"),
              ElementsAre(v1::ROLE_RESEARCHER));
  EXPECT_THAT(AllowedRoles("tverr.v1.AuditorService/GetTreeHead"), ElementsAre(v1::ROLE_AUDITOR));
  EXPECT_THAT(AllowedRoles("tverr.v1.OperatorService/ListNodes"),
              UnorderedElementsAre(v1::ROLE_OPERATOR, v1::ROLE_RESEARCHER, v1::ROLE_AUDITOR));
  EXPECT_TRUE(AllowedRoles("tverr.v1.NodeService/Unknown").empty());
}

}  // namespace
}  // namespace tverr::coordinator
