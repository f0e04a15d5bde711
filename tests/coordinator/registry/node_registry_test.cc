#include "coordinator/registry/node_registry.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace tverr::coordinator {
namespace {

TEST(NodeRegistry, RecordsJoinsAndHeartbeatsDurably) {
  testing::TempDir tmp;
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  {
    auto db = store::SqliteDb::Open(tmp.Sub("c.db"));
    ASSERT_TRUE(db.ok());
    auto registry = NodeRegistry::Open(std::move(*db));
    ASSERT_TRUE(registry.ok());
    ASSERT_TRUE((*registry)->RecordJoin("fl://n/node/b", "fp1", "0.1.0", "caps", t0).ok());
    ASSERT_TRUE((*registry)->RecordJoin("fl://n/node/a", "fp2", "0.1.0", "", t0).ok());
    ASSERT_TRUE(
        (*registry)->RecordJoin("fl://n/node/b", "fp3", "0.2.0", "caps2", t0 + absl::Seconds(5))
            .ok());
    ASSERT_TRUE((*registry)->RecordSeen("fl://n/node/a", t0 + absl::Seconds(9)).ok());
    EXPECT_EQ((*registry)->RecordSeen("fl://n/node/zz", t0).code(), absl::StatusCode::kNotFound);
  }
  auto db = store::SqliteDb::Open(tmp.Sub("c.db"));
  ASSERT_TRUE(db.ok());
  auto registry = NodeRegistry::Open(std::move(*db));
  ASSERT_TRUE(registry.ok());
  auto nodes = (*registry)->List();
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].identity, "fl://n/node/a");
  EXPECT_EQ((*nodes)[0].last_seen, t0 + absl::Seconds(9));
  EXPECT_EQ((*nodes)[0].join_count, 1u);
  EXPECT_EQ((*nodes)[1].identity, "fl://n/node/b");
  EXPECT_EQ((*nodes)[1].certificate_sha256, "fp3");
  EXPECT_EQ((*nodes)[1].software_version, "0.2.0");
  EXPECT_EQ((*nodes)[1].first_seen, t0);
  EXPECT_EQ((*nodes)[1].last_seen, t0 + absl::Seconds(5));
  EXPECT_EQ((*nodes)[1].join_count, 2u);
}

}  // namespace
}  // namespace tverr::coordinator
