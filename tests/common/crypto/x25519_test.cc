#include "common/crypto/x25519.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace tverr::crypto {
namespace {

X25519PrivateKey Private(absl::string_view hex) {
  auto key = X25519PrivateKey::FromBytes(absl::HexStringToBytes(hex));
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

X25519PublicKey Public(absl::string_view hex) {
  auto key = X25519PublicKey::FromBytes(absl::HexStringToBytes(hex));
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

std::string Hex(const X25519SharedSecret& s) { return absl::BytesToHexString(s.view()); }
std::string Hex(const X25519PublicKey& k) { return absl::BytesToHexString(k.ToBytes()); }

// RFC 7748 §6.1: Alice's and Bob's key pairs and their shared secret.
TEST(X25519Test, Rfc7748Section61DiffieHellman) {
  const X25519PrivateKey alice =
      Private("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const X25519PrivateKey bob =
      Private("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  auto alice_public = X25519PublicKeyOf(alice);
  auto bob_public = X25519PublicKeyOf(bob);
  ASSERT_TRUE(alice_public.ok()) << alice_public.status();
  ASSERT_TRUE(bob_public.ok()) << bob_public.status();
  EXPECT_EQ(Hex(*alice_public), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(Hex(*bob_public), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");

  constexpr char kShared[] = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  auto alice_shared = X25519Agree(alice, *bob_public);
  auto bob_shared = X25519Agree(bob, *alice_public);
  ASSERT_TRUE(alice_shared.ok()) << alice_shared.status();
  ASSERT_TRUE(bob_shared.ok()) << bob_shared.status();
  EXPECT_EQ(Hex(*alice_shared), kShared);
  EXPECT_EQ(Hex(*bob_shared), kShared);
}

// RFC 7748 §5.2: scalar x u-coordinate vectors. The second u has its top
// bit set, which X25519 must ignore.
TEST(X25519Test, Rfc7748Section52Vectors) {
  struct Vector {
    const char* scalar;
    const char* u;
    const char* out;
  };
  const Vector kVectors[] = {
      {"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
       "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
       "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
      {"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
       "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
       "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
  };
  for (const Vector& v : kVectors) {
    auto out = X25519Agree(Private(v.scalar), Public(v.u));
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(Hex(*out), v.out) << v.scalar;
  }
}

// RFC 7748 §5.2 iterated: k = u = 9; repeat k, u = X25519(k, u), k.
TEST(X25519Test, Rfc7748Section52IteratedOnceAndThousandTimes) {
  X25519PrivateKey k;
  k.bytes[0] = 9;
  X25519PublicKey u;
  u.bytes[0] = 9;
  for (int i = 1; i <= 1000; ++i) {
    auto r = X25519Agree(k, u);
    ASSERT_TRUE(r.ok()) << r.status();
    u.bytes = k.bytes;
    k.bytes = r->bytes;
    if (i == 1) {
      EXPECT_EQ(absl::BytesToHexString(k.view()),
                "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
  }
  EXPECT_EQ(absl::BytesToHexString(k.view()),
            "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

TEST(X25519Test, GeneratedKeyPairsAgree) {
  auto a = GenerateX25519KeyPair();
  auto b = GenerateX25519KeyPair();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(a->public_key, b->public_key);
  EXPECT_NE(a->private_key.bytes, b->private_key.bytes);

  auto a_public = X25519PublicKeyOf(a->private_key);
  ASSERT_TRUE(a_public.ok());
  EXPECT_EQ(*a_public, a->public_key);

  auto ab = X25519Agree(a->private_key, b->public_key);
  auto ba = X25519Agree(b->private_key, a->public_key);
  ASSERT_TRUE(ab.ok()) << ab.status();
  ASSERT_TRUE(ba.ok()) << ba.status();
  EXPECT_EQ(ab->bytes, ba->bytes);
}

// Points whose X25519 output is all zeros for every scalar: 0, 1, the two
// points of order 8, and p - 1, p, p + 1 (p = 2^255 - 19), little-endian.
TEST(X25519Test, RejectsLowOrderPeerKeys) {
  const char* kLowOrder[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  auto mine = GenerateX25519KeyPair();
  ASSERT_TRUE(mine.ok());
  for (const char* u : kLowOrder) {
    auto shared = X25519Agree(mine->private_key, Public(u));
    EXPECT_EQ(shared.status().code(), absl::StatusCode::kInvalidArgument) << u;
    EXPECT_NE(shared.status().message().find("low-order"), absl::string_view::npos);
  }
}

TEST(X25519Test, KeysFromBytesRejectWrongLength) {
  EXPECT_EQ(X25519PublicKey::FromBytes(std::string(31, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(X25519PublicKey::FromBytes(std::string(33, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(X25519PrivateKey::FromBytes("").status().code(), absl::StatusCode::kInvalidArgument);
  auto key = X25519PublicKey::FromBytes(std::string(32, 'a'));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->ToBytes(), std::string(32, 'a'));
}

}  // namespace
}  // namespace tverr::crypto
