#include "common/secagg/protocol.h"

#include <string>
#include <vector>

#include "common/crypto/aes_gcm.h"
#include "common/secagg/wire.h"
#include "gtest/gtest.h"

namespace tverr::secagg {
namespace {

v1::AdvertisedKeys Keys(uint32_t index, const std::string& node, char c, char s) {
  v1::AdvertisedKeys k;
  k.set_index(index);
  k.set_node(node);
  k.set_cipher_public_key(std::string(32, c));
  k.set_mask_public_key(std::string(32, s));
  k.set_signature("sig");
  k.set_certificate_pem("cert");
  return k;
}

crypto::X25519KeyPair KeyPair() {
  auto pair = crypto::GenerateX25519KeyPair();
  EXPECT_TRUE(pair.ok()) << pair.status();
  return *pair;
}

TEST(ProtocolTest, AdvertiseMessageBindsEveryField) {
  const v1::AdvertisedKeys base = Keys(2, "fl://c/node/a", 'c', 's');
  const std::string m = AdvertiseMessage("run", 4, base);
  EXPECT_NE(m, AdvertiseMessage("run2", 4, base));
  EXPECT_NE(m, AdvertiseMessage("run", 5, base));
  v1::AdvertisedKeys k = base;
  k.set_index(3);
  EXPECT_NE(m, AdvertiseMessage("run", 4, k));
  k = base;
  k.set_node("fl://c/node/b");
  EXPECT_NE(m, AdvertiseMessage("run", 4, k));
  k = base;
  k.set_cipher_public_key(std::string(32, 'x'));
  EXPECT_NE(m, AdvertiseMessage("run", 4, k));
  k = base;
  k.set_mask_public_key(std::string(32, 'x'));
  EXPECT_NE(m, AdvertiseMessage("run", 4, k));
  // The signature and certificate are not part of what is signed.
  k = base;
  k.set_signature("other");
  EXPECT_EQ(m, AdvertiseMessage("run", 4, k));
  // Length prefixes: moving a byte from one field to the next changes it.
  v1::AdvertisedKeys a = Keys(1, "ab", 'c', 's');
  a.set_cipher_public_key("c");
  v1::AdvertisedKeys b = Keys(1, "a", 'c', 's');
  b.set_cipher_public_key("bc");
  EXPECT_NE(AdvertiseMessage("r", 1, a), AdvertiseMessage("r", 1, b));
}

TEST(ProtocolTest, SessionIdNeedsIndexOrderAndBindsEverything) {
  const crypto::Sha256Digest global = crypto::Sha256("model");
  std::vector<v1::AdvertisedKeys> keys = {Keys(1, "a", '1', '2'), Keys(3, "b", '3', '4'),
                                          Keys(4, "c", '5', '6')};
  auto id = SessionId("run", 2, global, keys);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, *SessionId("run", 2, global, keys));
  EXPECT_NE(*id, *SessionId("run", 3, global, keys));
  EXPECT_NE(*id, *SessionId("run", 2, crypto::Sha256("other model"), keys));
  std::vector<v1::AdvertisedKeys> changed = keys;
  changed[1].set_mask_public_key(std::string(32, '9'));
  EXPECT_NE(*id, *SessionId("run", 2, global, changed));
  changed = keys;
  changed.pop_back();
  EXPECT_NE(*id, *SessionId("run", 2, global, changed));

  std::swap(keys[0], keys[1]);
  EXPECT_EQ(SessionId("run", 2, global, keys).status().code(),
            absl::StatusCode::kInvalidArgument);
  keys[0] = keys[1];  // a repeated index
  EXPECT_EQ(SessionId("run", 2, global, keys).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ProtocolTest, PairwiseMaskSeedIsSymmetricAndPerSession) {
  const crypto::X25519KeyPair u = KeyPair(), v = KeyPair(), w = KeyPair();
  const crypto::Sha256Digest session = crypto::Sha256("session");
  auto uv = PairwiseMaskSeed(u.private_key, v.public_key, session);
  auto vu = PairwiseMaskSeed(v.private_key, u.public_key, session);
  ASSERT_TRUE(uv.ok() && vu.ok());
  EXPECT_EQ(uv->bytes, vu->bytes);
  EXPECT_NE(uv->bytes, PairwiseMaskSeed(u.private_key, w.public_key, session)->bytes);
  EXPECT_NE(uv->bytes,
            PairwiseMaskSeed(u.private_key, v.public_key, crypto::Sha256("other"))->bytes);
  // A low-order point is refused, not turned into a seed.
  crypto::X25519PublicKey zero;
  EXPECT_EQ(PairwiseMaskSeed(u.private_key, zero, session).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ProtocolTest, ShareEncryptionKeyIsOnePerDirection) {
  const crypto::X25519KeyPair u = KeyPair(), v = KeyPair();
  const crypto::Sha256Digest session = crypto::Sha256("session");
  auto at_u = ShareEncryptionKey(u.private_key, v.public_key, session, 1, 2);
  auto at_v = ShareEncryptionKey(v.private_key, u.public_key, session, 1, 2);
  auto back = ShareEncryptionKey(v.private_key, u.public_key, session, 2, 1);
  ASSERT_TRUE(at_u.ok() && at_v.ok() && back.ok());
  EXPECT_EQ(at_u->size(), crypto::kAesGcmKeySize);
  EXPECT_EQ(*at_u, *at_v);
  EXPECT_NE(*at_u, *back);
  // And it differs from the mask seed of the same pair.
  auto seed = PairwiseMaskSeed(u.private_key, v.public_key, session);
  EXPECT_NE(*at_u, std::string(seed->view()));
}

TEST(ProtocolTest, MaskNonceIsPerSession) {
  EXPECT_EQ(MaskNonceOf(crypto::Sha256("a")), MaskNonceOf(crypto::Sha256("a")));
  EXPECT_NE(MaskNonceOf(crypto::Sha256("a")), MaskNonceOf(crypto::Sha256("b")));
}

TEST(ProtocolTest, Threshold) {
  struct Case {
    uint32_t n;
    double fraction;
    uint32_t t;
  };
  const Case cases[] = {
      {3, 2.0 / 3, 2}, {5, 2.0 / 3, 4}, {10, 2.0 / 3, 7}, {10, 0.7, 7},  {10, 0.5, 6},
      {4, 0.5, 3},     {1, 0.9, 1},     {100, 0, 51},     {9, 1.0, 9},   {9, 5.0, 9},
      {50, 2.0 / 3, 34}, {7, 0.1, 4},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Threshold(c.n, c.fraction), c.t) << c.n << " " << c.fraction;
  }
}

TEST(ProtocolTest, SharePlaintextRoundTrips) {
  auto mask_key = crypto::ShamirSplit(std::string(32, 'k'), 2, std::vector<uint32_t>{3, 5});
  auto seed = crypto::ShamirSplit(std::string(32, 'b'), 2, std::vector<uint32_t>{3, 5});
  ASSERT_TRUE(mask_key.ok() && seed.ok());
  wire::SharePlaintext p{7, 3, (*mask_key)[0], (*seed)[0]};
  const std::string bytes = wire::EncodeSharePlaintext(p);
  EXPECT_EQ(bytes.size(), wire::kSharePlaintextSize);
  auto back = wire::DecodeSharePlaintext(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->from_index, 7u);
  EXPECT_EQ(back->to_index, 3u);
  EXPECT_EQ(back->mask_key.Serialize(), (*mask_key)[0].Serialize());
  EXPECT_EQ(back->self_mask_seed.Serialize(), (*seed)[0].Serialize());
  EXPECT_FALSE(wire::DecodeSharePlaintext(bytes.substr(1)).ok());
}

}  // namespace
}  // namespace tverr::secagg
