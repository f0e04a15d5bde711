#include "common/pki/identity.h"

#include <string>

#include "gtest/gtest.h"

namespace tverr::pki {
namespace {

struct GoodUri {
  std::string uri;
  Identity want;
};

TEST(ParseIdentityUri, AcceptsWellFormedUris) {
  const GoodUri cases[] = {
      {"fl://nordic/node/oslo-uh", {"nordic", v1::ROLE_NODE, "oslo-uh"}},
      {"fl://nordic/researcher/a.b_c-d", {"nordic", v1::ROLE_RESEARCHER, "a.b_c-d"}},
      {"fl://c0/auditor/9", {"c0", v1::ROLE_AUDITOR, "9"}},
      {"fl://x/operator/ops", {"x", v1::ROLE_OPERATOR, "ops"}},
      {"fl://x/coordinator/main", {"x", v1::ROLE_COORDINATOR, "main"}},
      {"fl://x/node/" + std::string(63, 'a'), {"x", v1::ROLE_NODE, std::string(63, 'a')}},
  };
  for (const GoodUri& c : cases) {
    SCOPED_TRACE(c.uri);
    absl::StatusOr<Identity> got = ParseIdentityUri(c.uri);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
    EXPECT_EQ(got->Uri(), c.uri);
  }
}

TEST(ParseIdentityUri, RejectsMalformedUris) {
  const std::string bad[] = {
      "",
      "nordic/node/oslo",
      "https://nordic/node/oslo",
      "FL://nordic/node/oslo",
      "fl://nordic/node",
      "fl://nordic/node/oslo/extra",
      "fl://nordic/node/oslo/",
      "fl:///node/oslo",
      "fl://nordic//oslo",
      "fl://nordic/node/",
      "fl://nordic/unspecified/oslo",
      "fl://nordic/admin/oslo",
      "fl://nordic/Node/oslo",
      "fl://Nordic/node/oslo",
      "fl://nordic/node/Oslo",
      "fl://nordic/node/-oslo",
      "fl://nordic/node/.oslo",
      "fl://nordic/node/os lo",
      "fl://nordic/node/os,lo",
      "fl://nordic/node/" + std::string(64, 'a'),
  };
  for (const std::string& uri : bad) {
    SCOPED_TRACE(uri);
    absl::StatusOr<Identity> got = ParseIdentityUri(uri);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(RoleName, RoundTripsThroughParseRole) {
  for (v1::Role role : {v1::ROLE_NODE, v1::ROLE_RESEARCHER, v1::ROLE_AUDITOR, v1::ROLE_OPERATOR,
                        v1::ROLE_COORDINATOR}) {
    absl::StatusOr<v1::Role> parsed = ParseRole(RoleName(role));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, role);
  }
  EXPECT_EQ(RoleName(v1::ROLE_UNSPECIFIED), "unspecified");
  EXPECT_EQ(ParseRole("unspecified").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRole("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateName, NamesWhatIsWrong) {
  EXPECT_TRUE(ValidateName("name", "a").ok());
  EXPECT_TRUE(ValidateName("name", "0-a.b_c").ok());
  absl::Status empty = ValidateName("consortium", "");
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(empty.message().find("consortium"), absl::string_view::npos);
  EXPECT_FALSE(ValidateName("name", "_a").ok());
  EXPECT_FALSE(ValidateName("name", "a/b").ok());
  EXPECT_FALSE(ValidateName("name", "a\tb").ok());
}

}  // namespace
}  // namespace tverr::pki
