// RFC 6962 Merkle tree hashing for the audit log (docs/audit.md).
//
//   leaf hash  SHA-256(0x00 ‖ data)
//   node hash  SHA-256(0x01 ‖ left ‖ right)
//   MTH({})    SHA-256("")
//   MTH(D[n])  node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n
//
// Inclusion proofs are RFC 6962 §2.1.1 PATH, consistency proofs §2.1.2
// PROOF; both are verified with the algorithms of RFC 9162 §2.1.3.2 and
// §2.1.4.2. All sizes and indices count leaves.
//
// Thread-safety: the free functions are thread-safe; CompactRange and
// MerkleTree are thread-compatible (const methods may run concurrently).
#ifndef TVERR_COMMON_AUDIT_MERKLE_H_
#define TVERR_COMMON_AUDIT_MERKLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/crypto/sha256.h"

namespace tverr::audit {

// A SHA-256 value: a leaf, node or root hash.
using Hash = crypto::Sha256Digest;

// SHA-256(0x00 ‖ data).
Hash LeafHash(absl::string_view data);
// SHA-256(0x01 ‖ left ‖ right).
Hash NodeHash(const Hash& left, const Hash& right);
// MTH of the empty tree: SHA-256 of no bytes.
Hash EmptyTreeHash();

// Lower-case hex (64 characters).
std::string HashToHex(const Hash& hash);
// Exactly 64 lower-case hex digits (the only form the log writes);
// INVALID_ARGUMENT otherwise.
absl::StatusOr<Hash> HashFromHex(absl::string_view hex);

// MTH over `leaf_hashes` (already leaf-hashed), O(n).
Hash MerkleRoot(absl::Span<const Hash> leaf_hashes);

// The right edge ("frontier") of a growing tree: the roots of the perfect
// subtrees that the binary decomposition of size() splits the leaves into,
// largest first. Append and Root are O(log n); memory is O(log n). Used to
// follow a log's root as it grows without keeping the leaves.
class CompactRange {
 public:
  void Append(const Hash& leaf_hash);
  uint64_t size() const { return size_; }
  // MTH of the leaves appended so far (EmptyTreeHash() when none).
  Hash Root() const;

 private:
  std::vector<Hash> peaks_;  // one per set bit of size_, highest bit first
  uint64_t size_ = 0;
};

// A tree whose every perfect, aligned subtree hash is stored (2n hashes for
// n leaves: 64 bytes per leaf). Append is amortised O(1); the root of any
// prefix is O(log n); proofs are O(log² n).
class MerkleTree {
 public:
  MerkleTree() = default;
  explicit MerkleTree(absl::Span<const Hash> leaf_hashes);

  void Append(const Hash& leaf_hash);
  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  // Leaf hash `index` (< size()).
  const Hash& leaf(uint64_t index) const { return levels_[0][index]; }

  // MTH of all leaves.
  Hash Root() const;
  // MTH of the first `tree_size` leaves; OUT_OF_RANGE if tree_size > size().
  absl::StatusOr<Hash> RootAt(uint64_t tree_size) const;

  // RFC 6962 PATH(index, D[tree_size]), from the leaf's sibling upwards.
  // INVALID_ARGUMENT unless index < tree_size; OUT_OF_RANGE if
  // tree_size > size().
  absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t tree_size) const;

  // RFC 6962 PROOF(first, D[second]). Empty when first == second or
  // first == 0 (the empty tree is a prefix of every tree). INVALID_ARGUMENT
  // if first > second; OUT_OF_RANGE if second > size().
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t first, uint64_t second) const;

 private:
  // MTH of leaves [begin, end); `begin` must be a multiple of the smallest
  // power of two >= end - begin (true of every subtree RFC 6962 splits into).
  Hash SubtreeHash(uint64_t begin, uint64_t end) const;

  // levels_[h][i]: hash of the perfect subtree of leaves [i·2^h, (i+1)·2^h).
  std::vector<std::vector<Hash>> levels_;
};

// RFC 9162 §2.1.3.2: whether `proof` shows that the leaf with hash
// `leaf_hash` is at `index` in the tree of `tree_size` leaves with `root`.
// OK if so; INVALID_ARGUMENT if index >= tree_size or the proof's length is
// wrong for them; DATA_LOSS if the proof does not lead to `root`.
absl::Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t tree_size,
                             absl::Span<const Hash> proof, const Hash& root);

// RFC 9162 §2.1.4.2: whether `proof` shows that the tree of `first` leaves
// with `first_root` is a prefix of the tree of `second` leaves with
// `second_root`. first == second needs an empty proof and equal roots;
// first == 0 needs an empty proof and first_root == EmptyTreeHash().
// INVALID_ARGUMENT for impossible sizes or a proof of the wrong length;
// DATA_LOSS if the proof does not lead to both roots.
absl::Status VerifyConsistency(uint64_t first, uint64_t second, const Hash& first_root,
                               const Hash& second_root, absl::Span<const Hash> proof);

}  // namespace tverr::audit

#endif  // TVERR_COMMON_AUDIT_MERKLE_H_
